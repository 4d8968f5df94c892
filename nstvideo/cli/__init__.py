"""The ``nstvideo`` command: a thin layer that builds config objects and calls library functions.

Each subcommand module has ``register(subparsers)``. Every ``NstVideoError`` becomes one line on stderr
and exit status 1; bad arguments exit 2 (argparse); Ctrl-C exits 130, and SIGTERM (``kill``) ends a command the
same way, so its temporary files are removed, and exits 143. Output piped into a reader that stops early
(``nstvideo styles | head``) ends the command quietly, as a shell tool would. ``nstvideo live`` goes straight to
the app, before the other commands import PyTorch, so its window shows at once.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys


def build_parser() -> argparse.ArgumentParser:
    from . import bench, gallery, images, live, temporal, train, video

    parser = argparse.ArgumentParser(prog="nstvideo", description="Neural style transfer for images and video.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (live, images, train, video, temporal, gallery, bench):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["live"]:
        from ..app.launch import run_app

        return run_app(argv[1:])
    from ..core.errors import NstVideoError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s")
    terminated: list[int] = []

    def on_sigterm(signum, frame) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, so that a closed pipe is met inside this try and not at exit
        return code
    except NstVideoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("terminated" if terminated else "interrupted", file=sys.stderr)
        return 128 + signal.SIGTERM if terminated else 130
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit: point stdout at nothing first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + getattr(signal, "SIGPIPE", 13)  # what a shell reports for SIGPIPE; Windows has none
    finally:
        signal.signal(signal.SIGTERM, previous)
