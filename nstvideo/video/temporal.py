"""``eval-temporal``: decode an original and its stylized video in step and measure flicker (``core/temporal.py``)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from ..core.errors import InputError
from ..core.temporal import TemporalReport, evaluate
from ..core.vgg import VGG16Features
from .convert import decode_error, open_video, video_stream


def read_frames(path: str | Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decoded frames of the first video stream, in order, uint8 BGR HxWx3 (as stored, rotation not applied)."""
    path = Path(path)
    with open_video(path) as container:
        stream = video_stream(container, path)
        stream.thread_type = "AUTO"
        count = 0
        try:
            for frame in container.decode(stream):
                if max_frames is not None and count >= max_frames:
                    return
                yield frame.to_ndarray(format="bgr24")
                count += 1
        except av.FFmpegError as exc:
            raise decode_error(path, exc) from exc


@dataclass
class TemporalJob:
    """What ``evaluate_videos`` measured, and what it had to do to pair the frames."""

    report: TemporalReport
    size: tuple[int, int]  # (width, height) measured at
    notes: list[str] = field(default_factory=list)


def _same_aspect(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether (w, h) ``b`` is ``a`` scaled, to within the one-pixel rounding of ``convert --max-side``."""
    scale = b[0] / a[0]
    return abs(a[1] * scale - b[1]) <= 1.0 and b[0] <= a[0]


def evaluate_videos(original: str | Path, stylized: str | Path, *, max_frames: int | None = None,
                    reference: Callable[[np.ndarray], np.ndarray] | None = None,
                    vgg: VGG16Features | None = None, painting: np.ndarray | None = None) -> TemporalJob:
    """Pair the frames of ``original`` and ``stylized`` in order and run ``core.temporal.evaluate`` on them.

    The two must have the same number of frames (or at least ``max_frames`` each). A stylized video that
    ``convert --max-side`` shrank is measured at its own size: the original frames are shrunk to it (area
    filter) rather than the stylized ones enlarged, which would smooth them and flatter their score. Any
    other size difference is an ``InputError``.
    """
    original, stylized = Path(original), Path(stylized)
    notes: list[str] = []
    counts = [0, 0]
    sizes: list[tuple[int, int]] = []

    def pairs() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        a_frames = read_frames(original, max_frames)
        b_frames = read_frames(stylized, max_frames)
        while True:
            a, b = next(a_frames, None), next(b_frames, None)
            counts[0] += a is not None
            counts[1] += b is not None
            if a is None or b is None:
                if a is not None or b is not None:
                    rest = sum(1 for _ in (a_frames if a is not None else b_frames))
                    counts[0 if a is not None else 1] += rest
                    raise InputError(f"{original} has {counts[0]} frames but {stylized} has {counts[1]}; "
                                     "give the stylized version of the same clip (or --max-frames N)", stylized)
                return
            a_size, b_size = (a.shape[1], a.shape[0]), (b.shape[1], b.shape[0])
            if a_size != b_size:
                if not _same_aspect(a_size, b_size):
                    raise InputError(f"{original} is {a_size[0]}x{a_size[1]} but {stylized} is "
                                     f"{b_size[0]}x{b_size[1]}; give the stylized version of the same clip",
                                     stylized)
                if not notes:
                    notes.append(f"original frames shrunk from {a_size[0]}x{a_size[1]} to the stylized "
                                 f"{b_size[0]}x{b_size[1]}")
                a = cv2.resize(a, b_size, interpolation=cv2.INTER_AREA)
            if not sizes:
                sizes.append(b_size)
            yield a, b

    report = evaluate(pairs(), reference=reference, vgg=vgg, painting=painting)
    return TemporalJob(report, sizes[0], notes)


def frame_at(path: str | Path, seconds: float) -> np.ndarray:
    """The first decoded frame at or after ``seconds`` (the last one if the video is shorter), uint8 BGR."""
    path = Path(path)
    last = None
    with open_video(path) as container:
        stream = video_stream(container, path)
        try:
            for frame in container.decode(stream):
                last = frame
                if frame.time is not None and frame.time >= seconds:
                    break
        except av.FFmpegError as exc:
            raise decode_error(path, exc) from exc
    if last is None:
        raise decode_error(path, ValueError("no frame could be decoded"))
    return last.to_ndarray(format="bgr24")
