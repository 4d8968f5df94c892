"""The inference worker: its own thread takes frames from a source, stylizes them, hands them to sinks.

The style and its options can be swapped while the stream runs: ``set_stylizer`` and ``set_options`` only
store the new value, and the worker picks it up before the next frame, so one frame is never half one
style and half another. Loading a style (seconds) happens on the caller's side, never on this thread.
Cancellation is cooperative: an abort flag checked before every frame.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np

from ..core.stylize import StyleOptions
from .frame import Frame
from .sinks import Sink

log = logging.getLogger(__name__)

POLL_S = 0.1


class FrameSource(Protocol):
    """``Capture`` is one: ``read`` returns a frame, ``None`` at the end, or raises ``TimeoutError``."""

    def read(self, timeout: float | None = None) -> Frame | None: ...


class FrameStylizer(Protocol):
    """``nstvideo.core.stylize.Stylizer`` is one: uint8 BGR NxHxWx3 in, the same shape out."""

    def stylize_images(self, images: np.ndarray, options: StyleOptions) -> np.ndarray: ...


class InferenceWorker:
    """Stylizes frames from ``source`` on a thread and writes them to every sink, in order.

    ``stylizer=None`` passes frames through untouched (a plain preview). The worker owns the sinks once
    started: it closes them when it ends, whether the stream ended, ``stop()`` was called or an error
    happened, so a ``VideoWriter`` sink is always finalised. Errors are not raised on the caller's thread:
    they go to ``on_error(exc)`` and stay in ``error``. ``on_finished()`` is called last, on the worker's
    thread. Frames keep their timestamp and index.
    """

    def __init__(self, source: FrameSource, stylizer: FrameStylizer | None, sinks: Iterable[Sink],
                 options: StyleOptions = StyleOptions(), *,
                 on_error: Callable[[BaseException], None] | None = None,
                 on_finished: Callable[[], None] | None = None, name: str = "nstvideo-inference"):
        self.source = source
        self.sinks = tuple(sinks)
        self.on_error = on_error
        self.on_finished = on_finished
        self.frames_done = 0
        self.error: BaseException | None = None
        self._stylizer = stylizer
        self._options = options
        self._lock = threading.Lock()
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def set_stylizer(self, stylizer: FrameStylizer | None) -> None:
        """Use another style from the next frame on (``None``: pass frames through)."""
        with self._lock:
            self._stylizer = stylizer

    def set_options(self, options: StyleOptions) -> None:
        """Change strength, colour preservation, ... from the next frame on."""
        with self._lock:
            self._options = options

    @property
    def options(self) -> StyleOptions:
        with self._lock:
            return self._options

    def start(self) -> "InferenceWorker":
        if self._started:
            raise RuntimeError("an InferenceWorker can be started once; make a new one")
        self._started = True
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Abort after the current frame and wait for the thread (sinks closed). Safe to call twice."""
        self._abort.set()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end (the stream ended or it was stopped); True if it has."""
        if self._started and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s did not end within %s s", self._thread.name, timeout)
        return not self.running

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> "InferenceWorker":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            while not self._abort.is_set():
                try:
                    frame = self.source.read(timeout=POLL_S)
                except TimeoutError:
                    continue
                if frame is None:
                    break
                with self._lock:
                    stylizer, options = self._stylizer, self._options
                if stylizer is not None:
                    frame = frame.with_image(stylizer.stylize_images(frame.image[None], options)[0])
                for sink in self.sinks:
                    sink.write(frame)
                self.frames_done += 1
        except Exception as exc:
            self._report(exc)
        finally:
            for sink in self.sinks:
                try:
                    sink.close()
                except Exception as exc:
                    self._report(exc)
            if self.on_finished:
                self.on_finished()

    def _report(self, exc: BaseException) -> None:
        log.debug("inference worker error: %r", exc)
        if self.error is None:
            self.error = exc
        if self.on_error:
            self.on_error(exc)
