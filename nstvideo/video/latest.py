"""The newest-frame slot between a producer and a display that paints at its own pace.

A queue between a fast producer and a slower display grows, and with it the delay between what the camera
sees and what is shown. The slot holds one frame: a new frame replaces an unshown one, which is counted as
dropped, so what is shown is never more than one frame old.
"""
from __future__ import annotations

import threading

from .frame import Frame


class LatestFrame:
    """``put`` from any thread; ``take`` returns the newest frame not yet taken, or ``None``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: Frame | None = None
        self._fresh = False
        self.dropped = 0  # frames replaced before anyone took them

    def put(self, frame: Frame) -> bool:
        """Store ``frame``; True when the slot was empty (a consumer may need waking), False if it replaced one."""
        with self._lock:
            replaced = self._fresh
            self.dropped += replaced
            self._frame, self._fresh = frame, True
            return not replaced

    def take(self) -> Frame | None:
        with self._lock:
            if not self._fresh:
                return None
            self._fresh = False
            return self._frame

    def peek(self) -> Frame | None:
        """The newest frame whether or not it was taken (a snapshot of what is on screen)."""
        with self._lock:
            return self._frame

    def clear(self) -> None:
        with self._lock:
            self._frame, self._fresh = None, False
