"""Where processed frames go: the ``Sink`` protocol and the simple sinks.

A sink has ``write(frame)`` and ``close()``; ``close()`` is safe to call twice and every sink is a context
manager. The inference worker calls ``write`` on its own thread, so a sink that touches a GUI must hand
the frame over to the GUI thread itself (a Qt signal does that).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .frame import Frame


@runtime_checkable
class Sink(Protocol):
    def write(self, frame: Frame) -> None: ...

    def close(self) -> None: ...


class SinkBase:
    """Context-manager plumbing for sinks: ``with sink: ...`` closes it."""

    def write(self, frame: Frame) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class CallbackSink(SinkBase):
    """Calls ``on_frame(frame)`` for every frame (the GUI preview); ``on_close()`` once when closed."""

    def __init__(self, on_frame: Callable[[Frame], None], on_close: Callable[[], None] | None = None):
        self._on_frame = on_frame
        self._on_close = on_close
        self._closed = False

    def write(self, frame: Frame) -> None:
        if not self._closed:
            self._on_frame(frame)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._on_close:
            self._on_close()
