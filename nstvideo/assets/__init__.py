"""Files shipped inside the package, found through ``importlib.resources`` so an installed wheel has them.

The demo clip is what the live view plays, stylized, when no camera is found. Imports nothing heavy
(no torch, cv2 or Qt): the window asks for it before torch is loaded.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEMO_CLIP_NAME = "demo_person_walking_room.mp4"
# CC BY 4.0 asks for the title, the author, the licence, the source and what was changed.
DEMO_CLIP_CREDIT = (
    'Demo clip: "one-by-one-person-detection.mp4" by Intel IoT DevKit, from '
    "https://github.com/intel-iot-devkit/sample-videos, licensed CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/); cut to 10 s (78-88 s), scaled to 640x360 at 10 fps "
    "and re-encoded."
)


def demo_clip() -> Path:
    """The demo clip's path: 10 s of a person walking in a room, 640x360, 10 fps, H.264, no audio."""
    return Path(str(files(__name__) / DEMO_CLIP_NAME))
