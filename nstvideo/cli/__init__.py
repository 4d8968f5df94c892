"""The ``nstvideo`` command: a thin layer that builds config objects and calls library functions.

Each subcommand module has ``register(subparsers)``. Every ``NstVideoError`` becomes one line on stderr
and exit status 1; bad arguments exit 2 (argparse); Ctrl-C exits 130.
"""
from __future__ import annotations

import argparse
import logging
import sys

from ..core.errors import NstVideoError
from . import bench, images, train, video

COMMAND_MODULES = (images, train, video, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nstvideo", description="Neural style transfer for images and video.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return args.func(args)
    except NstVideoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
