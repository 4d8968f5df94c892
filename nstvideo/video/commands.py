"""A thread that runs posted calls one after another, and calls due later: how the live session keeps
slow work (opening a camera, building a style) off its callers' threads."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_STOP = object()


class CommandThread:
    """``post(fn, *args)`` returns at once; ``fn`` runs on the thread, in order. An exception in one call is
    handed to ``on_error`` and the thread goes on. ``after`` (from the thread itself) schedules a call."""

    def __init__(self, name: str, on_error: Callable[[BaseException], None], *, max_pending: int = 256):
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._later: list[tuple[float, Callable, tuple]] = []
        self._on_error = on_error
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        return self._thread.name

    def post(self, fn: Callable, *args) -> bool:
        """False when the thread is stopped or has too much to do (the call is dropped)."""
        if self._stopped:
            return False
        try:
            self._queue.put_nowait((fn, args))
            return True
        except queue.Full:
            return False

    def after(self, delay: float, fn: Callable, *args) -> None:
        self._later.append((time.monotonic() + delay, fn, args))

    def stop(self, timeout: float) -> bool:
        """Finish the calls already posted, then end; True when the thread ended within ``timeout``."""
        self._stopped = True
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._queue.put(_STOP, timeout=0.1)
                break
            except queue.Full:
                if time.monotonic() > deadline:
                    break
        if self._thread is not threading.current_thread():
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.warning("%s did not end within %.0f s", self.name, timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            now = time.monotonic()
            due = [task for task in self._later if task[0] <= now]
            self._later = [task for task in self._later if task[0] > now]
            for _, fn, args in due:
                self._run(fn, args)
            wait = min((t for t, _, _ in self._later), default=now + 0.5) - time.monotonic()
            try:
                item = self._queue.get(timeout=max(0.0, wait))
            except queue.Empty:
                continue
            if item is _STOP:
                return
            self._run(*item)

    def _run(self, fn: Callable, args: tuple) -> None:
        try:
            fn(*args)
        except Exception as exc:  # keep the thread alive whatever a call hits
            self._on_error(exc)
