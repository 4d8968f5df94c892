"""Video files: convert."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from ..core.errors import ConfigError, NstVideoError
from ..core.images import VIDEO_LOOKING_SUFFIXES
from ..core.stabilize import DEFAULT_STRENGTH, MAX_STRENGTH, check_strength
from ..video.convert import DEFAULT_PRESET, ConvertConfig, convert_files
from ..video.writer import VIDEO_SUFFIXES, X264_PRESETS
from .common import add_device, add_runtime, add_style_options, names_a_file, positive_int, style_options


def crf_value(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 51:
        raise argparse.ArgumentTypeError(f"must be between 0 (lossless) and 51, got {text}")
    return value


def stabilize_strength(text: str) -> float:
    try:
        return check_strength(float(text))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def cmd_convert(args: argparse.Namespace) -> int:
    if args.out_dir is not None and names_a_file(args.out_dir, VIDEO_LOOKING_SUFFIXES):
        args.output, args.out_dir = args.out_dir, None  # `-o clip.mp4` means the file, as users expect
    if args.output is not None and len(args.videos) > 1:
        args.parser.error(f"{args.output} names one file but {len(args.videos)} videos were given; give a folder")
    config = ConvertConfig(
        inputs=tuple(args.videos), style=args.style, output=args.output, out_dir=args.out_dir,
        max_side=args.max_side, crf=args.crf, preset=args.preset,
        options=style_options(args),
        device=args.device, runtime=args.runtime, batch_size=args.batch_size, overwrite=args.overwrite,
        keep_partial=args.keep_partial, stabilize=args.stabilize,
    )
    many = len(config.inputs) > 1
    overall = tqdm(total=len(config.inputs), desc="videos", unit="video", position=0, disable=None if many else True)
    current: list[tqdm] = []

    def on_start(source: Path, frames: int | None) -> None:
        current.append(tqdm(total=frames, desc=source.name, unit="frame", position=1 if many else 0, leave=False,
                            disable=None))

    def on_frames(n: int) -> None:
        current[-1].update(n)

    def on_done(source: Path, result: Path | NstVideoError) -> None:
        current.pop().close()
        overall.update(1)
        if isinstance(result, NstVideoError):
            tqdm.write(f"error: {result}", file=sys.stderr)
        else:
            tqdm.write(str(result))

    try:
        summary = convert_files(config, on_start=on_start, on_frames=on_frames, on_done=on_done)
    finally:
        for bar in current:
            bar.close()
        overall.close()
    if summary.failed and many:  # each error was printed as it happened; repeat them under one heading
        print(f"error: {len(summary.failed)} of {len(config.inputs)} videos failed:", file=sys.stderr)
        for source, error in summary.failed.items():
            print(f"  {source}: {error}", file=sys.stderr)
    return 1 if summary.failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="stylize video files (H.264 MP4, audio kept)")
    p.add_argument("videos", type=Path, nargs="+", metavar="IN")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--output", type=Path, metavar="FILE",
                        help=f"the output file, for a single input ({', '.join(VIDEO_SUFFIXES)})")
    target.add_argument("-o", "--out-dir", type=Path, metavar="OUTDIR",
                        help="output folder; each result is named <input>_<style>.mp4 (a name ending in .mp4, "
                             ".mov, .mkv... means that file, for a single input)")
    p.add_argument("--style", required=True, help="a style name (see 'nstvideo styles') or a .safetensors path")
    p.add_argument("--max-side", type=positive_int, default=None, help="shrink frames so the longer side is at most N")
    p.add_argument("--crf", type=crf_value, default=18, help="H.264 quality, 0 (lossless) .. 51 (worst); default 18")
    p.add_argument("--preset", choices=X264_PRESETS, default=DEFAULT_PRESET,
                   help=f"x264 speed/size trade-off (default {DEFAULT_PRESET})")
    p.add_argument("--batch-size", type=positive_int, default=4, help="frames per network call (default 4)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--stabilize", type=stabilize_strength, nargs="?", const=DEFAULT_STRENGTH, default=None,
                   metavar="STRENGTH",
                   help="less flicker: blend in the previous output, moved along the optical flow, where the flow "
                        f"can be trusted; STRENGTH 0..{MAX_STRENGTH} (default {DEFAULT_STRENGTH})")
    p.add_argument("--keep-partial", action="store_true",
                   help="for a truncated or damaged input, keep the frames that can be read (it still fails)")
    add_style_options(p)
    add_device(p)
    add_runtime(p)
    p.set_defaults(func=cmd_convert, parser=p)

