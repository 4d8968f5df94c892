"""Sending the stylized feed to a virtual camera, so video-call apps can pick it like a webcam.

Optional: ``pyvirtualcam`` (``pip install 'nstvideo[vcam]'``) with a backend: v4l2loopback on Linux, OBS's
virtual camera on Windows and macOS. When either is missing, ``VirtualCameraError`` says which and what
to install, instead of a traceback.
"""
from __future__ import annotations

import importlib.util
import sys

import cv2

from ..core.errors import NstVideoError
from .frame import Frame
from .sinks import SinkBase

INSTALL_HINT = "install it with: pip install 'nstvideo[vcam]'"
BACKEND_HINT = {
    "linux": "load v4l2loopback (sudo apt-get install v4l2loopback-dkms && sudo modprobe v4l2loopback)",
    "win32": "install OBS Studio and start its virtual camera once",
    "darwin": "install OBS Studio and start its virtual camera once",
}


class VirtualCameraError(NstVideoError):
    """The virtual camera cannot be used here; the message says why and what to install."""


def unavailable_reason() -> str | None:
    """Why the virtual camera cannot work, in one line, or ``None`` when the package is there."""
    if importlib.util.find_spec("pyvirtualcam") is None:
        return f"the virtual camera needs the pyvirtualcam package; {INSTALL_HINT}"
    return None


class VirtualCamera(SinkBase):
    """A sink that sends every frame to a virtual camera of the first frame's size (later frames are resized)."""

    def __init__(self, fps: float = 30.0):
        if (reason := unavailable_reason()) is not None:
            raise VirtualCameraError(reason)
        self.fps = fps
        self.device: str | None = None
        self._camera = None

    def _open(self, width: int, height: int) -> None:
        import pyvirtualcam

        try:
            self._camera = pyvirtualcam.Camera(width, height, self.fps, fmt=pyvirtualcam.PixelFormat.BGR)
        except Exception as exc:  # pyvirtualcam raises RuntimeError/ValueError naming the missing backend
            hint = BACKEND_HINT.get(sys.platform, "install a virtual camera backend")
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VirtualCameraError(f"no virtual camera device ({first}); {hint}") from exc
        self.device = self._camera.device

    def write(self, frame: Frame) -> None:
        image = frame.image
        if self._camera is None:
            self._open(image.shape[1], image.shape[0])
        size = (self._camera.width, self._camera.height)
        if (image.shape[1], image.shape[0]) != size:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        self._camera.send(image)

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None
