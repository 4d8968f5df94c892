"""``nstvideo live``: the window (dispatched early by ``cli.main``; registered here for the help text)."""
from __future__ import annotations

import argparse

from ..app.launch import DESCRIPTION, add_arguments, run_app


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("live", help="the window: paint a camera, a video file or a stream live",
                       description=DESCRIPTION)
    add_arguments(p)
    p.set_defaults(func=lambda args: run_app(["--device", args.device, "--runtime", args.runtime]
                                             + (["--source", args.source] if args.source else [])
                                             + (["--style", args.style] if args.style else [])))
