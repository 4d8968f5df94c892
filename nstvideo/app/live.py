"""The Qt face of ``LiveSession``: its callbacks become signals, delivered on the GUI thread.

This is the one module where the window meets the engine. The session calls back on its own threads;
a signal emitted there reaches slots of objects living on the GUI thread through Qt's queued
connections, so no widget is ever touched from another thread. Frames are not sent through signals
(a queue of them would grow when painting the screen is slower than painting frames): ``frameReady``
only says "a new frame is in the slot", at most one such signal is pending at a time, and the slot's
receiver pulls the newest frame with ``take_frame()``.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal

from ..core.stylize import StyleOptions
from ..video.frame import Frame
from ..video.session import LiveSession, SessionConfig


class LiveController(QObject):
    """Owns one ``LiveSession`` (``.session``): the window calls the session's methods, which never block,
    and listens to these signals."""

    stateChanged = pyqtSignal(object)  # SessionState
    styleChanged = pyqtSignal(object)  # StyleState
    recordingChanged = pyqtSignal(object)  # RecordingState
    virtualCameraChanged = pyqtSignal(object)  # VirtualCameraState
    statsChanged = pyqtSignal(object)  # LiveStats
    errorOccurred = pyqtSignal(str)
    frameReady = pyqtSignal()
    snapshotSaved = pyqtSignal(object)  # Path
    camerasFound = pyqtSignal(object)  # list[CameraInfo]
    thumbnailReady = pyqtSignal(str, object)  # style name, uint8 BGR image

    def __init__(self, config: SessionConfig = SessionConfig(), parent: QObject | None = None):
        super().__init__(parent)
        self._frame_pending = threading.Event()
        self.session = LiveSession(
            config,
            on_state=self.stateChanged.emit, on_style=self.styleChanged.emit,
            on_recording=self.recordingChanged.emit, on_virtual_camera=self.virtualCameraChanged.emit,
            on_stats=self.statsChanged.emit, on_error=self.errorOccurred.emit, on_frame=self._on_frame,
            on_snapshot=self.snapshotSaved.emit, on_cameras=self.camerasFound.emit,
            on_thumbnail=self.thumbnailReady.emit)

    def _on_frame(self) -> None:
        if not self._frame_pending.is_set():
            self._frame_pending.set()
            self.frameReady.emit()

    def take_frame(self) -> Frame | None:
        """The newest frame (call from the ``frameReady`` slot); ``None`` if it was already taken."""
        self._frame_pending.clear()
        return self.session.take_frame()

    def set_options(self, strength: float, brush: float, preserve_color: bool) -> None:
        self.session.set_options(StyleOptions(strength=strength, brush=brush, preserve_color=preserve_color))

    @property
    def device(self) -> str:
        return self.session.style.runtime or self.session.config.device

    def shutdown(self) -> None:
        self.session.shutdown()
