"""Starting the app: the window first, then the engine.

Importing PyTorch takes seconds on a small machine, and a window that appears only after it feels broken.
So ``run_app`` parses the arguments, checks that Qt can open a window (saying which package is missing
when it cannot), shows the window with "Loading…", and imports the engine on a background thread; the
window attaches to it when it is ready. Ctrl+C in the terminal closes the window like Ctrl+Q does.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

# Spelled out here, not imported from core.device: that would import torch before the window shows.
DEVICES = ("auto", "cpu", "cuda", "mps")
RUNTIMES = ("auto", "torch", "openvino", "openvino-fp32")


DESCRIPTION = "The nstvideo window: paint live video in the style of a painting."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="INDEX|FILE|URL",
                        help="a camera index, a video file or a stream URL (default: the first camera, or a demo "
                             "clip when there is none)")
    parser.add_argument("--style", metavar="NAME|PATH", help="a style name (see 'nstvideo styles') or a file")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where to run the network")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto",
                        help="what runs it on a CPU: auto (OpenVINO int8 when installed, else torch), torch, "
                             "openvino (int8) or openvino-fp32")


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser)
    return parser


def run_app(argv: list[str] | None = None, prog: str = "nstvideo live") -> int:
    args = build_parser(prog).parse_args(argv)
    from .qt_check import qt_platform_problem

    if (problem := qt_platform_problem()) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    from PyQt6.QtCore import QObject, QTimer, pyqtSignal
    from PyQt6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("nstvideo")
    app.setOrganizationName("nstvideo")
    window = MainWindow(source=args.source, style=args.style)
    window.show()

    class Loader(QObject):
        loaded = pyqtSignal(object)
        failed = pyqtSignal(str)

    loader = Loader()

    def load() -> None:
        try:
            from ..video.session import SessionConfig
            from .live import LiveController

            loader.loaded.emit((LiveController, SessionConfig(device=args.device, runtime=args.runtime)))
        except Exception as exc:  # shown in the window: a broken install must not look like a hang
            loader.failed.emit(f"{type(exc).__name__}: {exc}")

    def attach(payload) -> None:
        controller_cls, config = payload
        if window.isVisible():
            window.attach(controller_cls(config, parent=window))

    loader.loaded.connect(attach)
    loader.failed.connect(lambda message: window.view.clear(f"The engine could not be loaded: {message}"))
    threading.Thread(target=load, name="nstvideo-load", daemon=True).start()

    # Python sees Ctrl+C only when it runs: a timer lets it, and the handler closes the window cleanly.
    previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    keepalive = QTimer(interval=200, timeout=lambda: None)
    keepalive.start()
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGINT, previous)
        keepalive.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_app(argv, prog="python main.py")
