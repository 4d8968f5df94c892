"""Running a library call off the GUI thread and getting its result back on it (superqt's worker, small)."""
from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal


class _Signals(QObject):
    done = pyqtSignal(object)
    failed = pyqtSignal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable, args: tuple):
        super().__init__()
        self.fn, self.args = fn, args
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = self.fn(*self.args)
        except Exception as exc:  # reported to the GUI, which shows the message
            self.signals.failed.emit(exc)
        else:
            self.signals.done.emit(result)


_running: set[_Job] = set()  # keeps each job (and its signals) alive until it has reported


def run_job(fn: Callable, *args, done: Callable[[object], None] | None = None,
            failed: Callable[[BaseException], None] | None = None) -> None:
    """Call ``fn(*args)`` on Qt's thread pool; ``done(result)`` or ``failed(exc)`` then run on the GUI thread."""
    job = _Job(fn, args)
    _running.add(job)
    job.signals.done.connect(lambda result: (_running.discard(job), done and done(result)))
    job.signals.failed.connect(lambda exc: (_running.discard(job), failed and failed(exc)))
    job.setAutoDelete(False)
    QThreadPool.globalInstance().start(job)
