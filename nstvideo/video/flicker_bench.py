"""Flicker figures for BENCHMARKS.md (``nstvideo bench --what temporal``): plain per-frame stylization
against averaging with the previous frame and ``--stabilize``, on the same decoded frames."""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..core.images import resize_max_side
from ..core.stabilize import Stabilizer
from ..core.stylize import Stylizer
from ..core.temporal import evaluate
from ..core.vgg import VGG16Features
from .frame import Frame
from .temporal import read_frames
from .writer import VideoWriter

AVERAGE_WEIGHT = 0.5  # the baseline: output = 0.5 previous output + 0.5 new frame, no flow


@dataclass
class FlickerRow:
    variant: str
    warping_error: float
    fidelity: float
    style_loss: float | None
    trusted: float | None = None  # the stabilizer's mean share of blended pixels
    ms_per_frame: float | None = None  # the stabilizer's fastest frame, one OpenCV thread


def averaged(frames: list[np.ndarray], weight: float = AVERAGE_WEIGHT) -> Iterator[np.ndarray]:
    """The usual fix for flicker: each output blended with the previous output, where things moved or not."""
    previous = None
    for frame in frames:
        previous = frame if previous is None else cv2.addWeighted(previous, weight, frame, 1 - weight, 0)
        yield previous


def stabilized(originals: list[np.ndarray], frames: list[np.ndarray], strength: float) -> tuple[list, float, float]:
    """(outputs, mean share of pixels blended, fastest ms per ``apply`` on one OpenCV thread: the least
    disturbed by other processes)."""
    stabilizer, out, trusted, seconds = Stabilizer(strength), [], [], []
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for original, frame in zip(originals, frames):
            t0 = time.perf_counter()
            out.append(stabilizer.apply(original, frame))
            seconds.append(time.perf_counter() - t0)
            trusted.append(stabilizer.trusted)
    finally:
        cv2.setNumThreads(threads)
    return out, float(np.mean(trusted[1:] or [0.0])), 1000 * float(min(seconds[1:] or seconds))


def measure_clip(clip: Path, stylizer: Stylizer, strengths: list[float], *, max_frames: int,
                 vgg: VGG16Features | None = None, painting: np.ndarray | None = None,
                 style_side: int = 320) -> tuple[list[FlickerRow], dict[str, list[np.ndarray]]]:
    """Every variant's warping error and fidelity at the clip's size; the style loss at ``style_side``."""
    originals = list(read_frames(clip, max_frames))
    plain = [stylizer.stylize_image(f) for f in originals]
    variants: dict[str, tuple] = {
        "plain": (plain, None, None), f"average {AVERAGE_WEIGHT:g}": (list(averaged(plain)), None, None)}
    for strength in strengths:
        variants[f"stabilize {strength:g}"] = stabilized(originals, plain, strength)
    rows = []
    for name, (frames, trusted, ms) in variants.items():
        reference = iter(plain)
        report = evaluate(zip(originals, frames), reference=lambda _: next(reference))
        style = None
        if vgg is not None:
            small = [(resize_max_side(o, style_side), resize_max_side(f, style_side)) for o, f in zip(originals, frames)]
            style = evaluate(small, vgg=vgg, painting=painting).style_loss
        rows.append(FlickerRow(name, report.warping_error, report.fidelity, style, trusted, ms))
    return rows, {name: v[0] for name, v in variants.items()}


def write_side_by_side(path: Path, left: list[np.ndarray], right: list[np.ndarray], fps: float, *,
                       crf: int = 26, overwrite: bool = False) -> Path:
    """``left | right`` with a 4 px black gap, as an H.264 MP4 at ``fps``."""
    gap = np.zeros((left[0].shape[0], 4, 3), np.uint8)
    size = (left[0].shape[1] * 2 + 4, left[0].shape[0])
    with VideoWriter(path, size=size, crf=crf, preset="slow", frame_rate=Fraction(fps).limit_denominator(1001),
                     overwrite=overwrite) as writer:
        for i, (a, b) in enumerate(zip(left, right)):
            writer.write(Frame(np.hstack([a, gap, b]), i / fps, i))
    return path
