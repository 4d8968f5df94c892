"""``nstvideo gallery``: every style (or the ones named) on the same pictures, as one contact sheet."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import InputError
from ..core.gallery import contact_sheet
from ..core.images import VIDEO_LOOKING_SUFFIXES, check_image_output, check_output, read_image, write_image
from ..core.styles import installed_styles
from ..core.stylize import Stylizer
from .common import add_device, add_runtime, positive_float, positive_int


def _picture(path: Path, seconds: float):
    """An image file as it is, or the frame of a video at ``seconds``."""
    if path.suffix.lower() not in VIDEO_LOOKING_SUFFIXES:
        return read_image(path)
    from ..video.temporal import frame_at

    return frame_at(path, seconds)


def cmd_gallery(args: argparse.Namespace) -> int:
    clip = args.output.suffix.lower() in VIDEO_LOOKING_SUFFIXES
    if clip and (len(args.pictures) != 1 or args.pictures[0].suffix.lower() not in VIDEO_LOOKING_SUFFIXES):
        raise InputError(f"a video gallery ({args.output.name}) paints one video: give one video file, or name "
                         "the output .jpg for a sheet of pictures", args.output)
    if not clip:
        check_image_output(args.output)
    check_output(args.output, args.overwrite)
    names = args.styles.split(",") if args.styles else sorted(installed_styles())
    if not names:
        raise InputError("no styles installed; train one with 'nstvideo train'")
    stylizers = [Stylizer.from_style(name, args.device, runtime=args.runtime) for name in names]
    if clip:
        from ..video.gallery_clip import write_style_grid

        frames = write_style_grid(args.pictures[0], stylizers, args.output, seconds=args.seconds,
                                  height=args.height, overwrite=args.overwrite)
        print(f"{args.output} ({frames} frames)")
        return 0
    pictures = [_picture(p, args.frame_at) for p in args.pictures]
    write_image(args.output, contact_sheet(stylizers, pictures, args.height), overwrite=args.overwrite)
    print(args.output)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gallery", help="paint the same pictures in every style, as one contact sheet (or a "
                       "video in several styles side by side)")
    p.add_argument("pictures", type=Path, nargs="+", help="images, or videos (their frame at --frame-at)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="the sheet, .jpg or .png; or .mp4: one video's first --seconds, the original and each style "
                        "side by side")
    p.add_argument("--styles", help="comma-separated names or files (default: every installed style)")
    p.add_argument("--height", type=positive_int, default=256, help="each picture's height, painted at that size")
    p.add_argument("--frame-at", type=float, default=2.0, help="seconds into a video for its frame (default 2)")
    p.add_argument("--seconds", type=positive_float, default=6.0, help="a video gallery's length (default 6)")
    p.add_argument("--overwrite", action="store_true")
    add_device(p)
    add_runtime(p)
    p.set_defaults(func=cmd_gallery)
