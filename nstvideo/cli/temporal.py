"""Flicker: eval-temporal."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.images import read_image
from .common import add_device, add_vgg, positive_int

FIDELITY_NOTE = "fidelity needs --style NAME: the style to stylize the original frames with, one by one"


def cmd_eval_temporal(args: argparse.Namespace) -> int:
    from ..core.device import select_device
    from ..core.stylize import Stylizer
    from ..core.vgg import load_vgg
    from ..video.temporal import evaluate_videos

    painting = read_image(args.painting) if args.painting is not None else None  # a bad path fails first
    reference = vgg = None
    if args.style is not None:
        reference = Stylizer.from_style(args.style, args.device, runtime="torch").stylize_image
    if painting is not None:
        vgg = load_vgg(args.vgg_weights, select_device(args.device))
    job = evaluate_videos(args.original, args.stylized, max_frames=args.max_frames, reference=reference,
                          vgg=vgg, painting=painting)
    r = job.report
    notes = list(job.notes) + ([] if reference is not None else [FIDELITY_NOTE])
    if args.json:
        print(json.dumps({"warping_error": r.warping_error, "fidelity": r.fidelity, "style_loss": r.style_loss,
                          "frames": r.frames, "flow": r.flow, "size": list(job.size),
                          "occluded_fraction": r.occluded_fraction, "notes": notes}))
        return 0
    print(f"frames:        {r.frames} at {job.size[0]}x{job.size[1]}")
    print(f"warping error: {r.warping_error:.6f}  (Lai et al. 2018; lower flickers less; "
          f"{r.occluded_fraction:.1%} of pixels occluded, left out)")
    print(f"fidelity:      {'n/a' if r.fidelity is None else f'{r.fidelity:.4f}'}  (mean |stylized - per-frame "
          "stylization|, 0..1; lower is closer)")
    if r.style_loss is not None:
        print(f"style loss:    {r.style_loss:.4g}  (mean over frames, against {args.painting.name})")
    print(f"flow:          {r.flow}")
    for note in notes:
        print(f"note:          {note}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-temporal", help="measure flicker: the warping error of a stylized video")
    p.add_argument("original", type=Path, metavar="ORIGINAL", help="the video before stylization")
    p.add_argument("stylized", type=Path, metavar="STYLIZED", help="its stylized version, frame for frame")
    p.add_argument("--painting", type=Path, default=None, metavar="IMAGE",
                   help="also report the mean style loss of the stylized frames against this painting")
    p.add_argument("--style", default=None, metavar="NAME",
                   help="the style STYLIZED was made with: its plain per-frame stylization gives the fidelity")
    p.add_argument("--max-frames", type=positive_int, default=None, metavar="N", help="only the first N frames")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_vgg(p)
    add_device(p)
    p.set_defaults(func=cmd_eval_temporal)
