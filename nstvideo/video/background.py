"""A sink on a thread of its own, so a slow or failing sink never holds up the frames of the others.

An encoder (x264) or a virtual camera driver can take longer per frame than a live preview has, and a
full disk raises. ``BackgroundSink`` gives the wrapped sink its own thread and a bounded queue: ``write``
never blocks (a frame that finds the queue full is dropped and counted), an exception inside the sink
ends only this sink (reported once through ``on_closed``), and ``close`` drains the queue, closes the sink
(a ``VideoWriter`` flushes and renames its file) and joins the thread.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from .frame import Frame
from .sinks import Sink, SinkBase

log = logging.getLogger(__name__)

_END = object()


class BackgroundSink(SinkBase):
    """``make_sink()`` runs on the sink's thread (opening a file or a device can be slow), at the first frame.

    ``on_closed(sink or None, error or None)`` is called once on the sink's thread when it has ended, with the
    sink that was made (to read what it wrote) and the error that ended it, if any.
    """

    def __init__(self, make_sink: Callable[[], Sink], *, queue_size: int = 64,
                 on_closed: Callable[[Sink | None, BaseException | None], None] | None = None,
                 name: str = "nstvideo-sink", daemon: bool = True):
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self._make_sink = make_sink
        self._on_closed = on_closed
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._closing = threading.Event()
        self._failed = threading.Event()
        self.frames = 0  # frames handed to the sink
        self.dropped = 0  # frames that found the queue full
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=daemon)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """False once the sink failed or was closed: writing to it does nothing."""
        return not (self._closing.is_set() or self._failed.is_set())

    def write(self, frame: Frame) -> None:
        if not self.alive:
            return
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 30.0) -> None:
        """Finish the frames already queued, close the sink, wait for the thread. Safe to call twice."""
        if not self._closing.is_set():
            self._closing.set()
            self._put_end()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s did not finish within %.0f s", self._thread.name, timeout)

    def _put_end(self) -> None:
        while True:
            try:
                self._queue.put(_END, timeout=0.1)
                return
            except queue.Full:
                if self._failed.is_set() or not self._thread.is_alive():
                    return

    def _run(self) -> None:
        sink: Sink | None = None
        error: BaseException | None = None
        try:
            while (item := self._queue.get()) is not _END:
                if sink is None:
                    sink = self._make_sink()
                sink.write(item)
                self.frames += 1
        except Exception as exc:  # a full disk, an unplugged device: this sink ends, the stream goes on
            error = exc
            self._failed.set()
        finally:
            if sink is not None:
                try:
                    sink.close()
                except Exception as exc:
                    error = error or exc
            self.error = error
            if error is not None:
                log.info("%s ended: %s", self._thread.name, error)
            while not self._queue.empty():  # let close() put its end marker and return
                self._queue.get_nowait()
            if self._on_closed:
                self._on_closed(sink, error)
