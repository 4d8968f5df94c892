"""Where painted frames go: the ``Sink`` protocol (the recorder, the virtual camera).

A sink has ``write(frame)`` and ``close()``; ``close()`` is safe to call twice and every sink is a context
manager. The live session calls ``write`` on its paint thread (through a ``BackgroundSink``, on a thread
of the sink's own), so a sink that touches a GUI must hand the frame over to the GUI thread itself.
"""
from __future__ import annotations

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
