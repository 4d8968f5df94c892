"""The one frame type that travels from capture through the worker to the sinks."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One video frame.

    ``image`` is uint8 BGR HxWx3 (OpenCV's convention, see ``nstvideo.core.pixels``). ``timestamp`` is the
    presentation time in seconds: the file's pts x time_base for files, seconds since the capture started for
    live sources. ``index`` counts the frames the source produced, so frames a live source dropped show up
    as gaps. Nothing downstream works out time from ``index``. ``original`` is the picture before it was
    stylized (``None`` until then), so a live view can show both and a snapshot can take either.
    """

    image: np.ndarray = field(repr=False)
    timestamp: float
    index: int
    original: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.image.dtype != np.uint8 or self.image.ndim != 3 or self.image.shape[2] != 3:
            raise ValueError(f"a Frame holds a uint8 BGR HxWx3 image, got {self.image.dtype} {self.image.shape}")

    def with_image(self, image: np.ndarray) -> "Frame":
        """The same frame (timestamp, index) with another picture, e.g. its stylized version; ``original``
        keeps the first picture the frame had."""
        return Frame(image, self.timestamp, self.index, self.image if self.original is None else self.original)

    def retimed(self, timestamp: float) -> "Frame":
        """The same frame on another clock (a live session's, which runs on across source changes)."""
        return Frame(self.image, timestamp, self.index, self.original)
