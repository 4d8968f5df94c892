"""Which cameras are present, without opening them where the system can say (opening one takes seconds)."""
from __future__ import annotations

import glob
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2

PROBE_INDICES = 4  # where the system cannot list cameras, indices 0..3 are tried


@dataclass(frozen=True)
class CameraInfo:
    index: int
    name: str

    def __str__(self) -> str:
        return f"Camera {self.index}: {self.name}" if self.name else f"Camera {self.index}"


def _linux_cameras() -> list[CameraInfo]:
    """V4L2 capture nodes from sysfs; metadata nodes (the odd /dev/videoN of UVC cameras) are skipped."""
    cameras = []
    for node in sorted(glob.glob("/sys/class/video4linux/video*"), key=lambda p: int(re.sub(r"\D", "", p) or 0)):
        index = int(re.sub(r"\D", "", Path(node).name))
        name = _read(Path(node) / "name")
        if _read(Path(node) / "index") not in ("", "0"):
            continue  # a second node of the same device: metadata, not frames
        cameras.append(CameraInfo(index, name))
    return cameras


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _probe() -> list[CameraInfo]:
    found = []
    for index in range(PROBE_INDICES):
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened():
                found.append(CameraInfo(index, ""))
        finally:
            cap.release()
    return found


def list_cameras() -> list[CameraInfo]:
    """The cameras present, in index order; an empty list on a machine without one (CI, a server)."""
    if sys.platform.startswith("linux"):
        return _linux_cameras()
    return _probe()
