"""End-to-end speed and memory of conversion and of the live session, for BENCHMARKS.md
(``nstvideo bench --what convert`` and ``--what live``)."""
from __future__ import annotations

import itertools
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from ..core.errors import InputError
from ..core.stylize import StyleOptions, Stylizer
from .convert import ConvertConfig, convert_file
from .frame import Frame
from .stats import LiveStats
from .writer import VideoWriter


def rescaled_clip(source: Path, target: Path, size: tuple[int, int], repeat: int = 1) -> Path:
    """``source``'s frames resized to ``size`` (w, h), played ``repeat`` times in a row, no audio."""
    offset, index = 0.0, 0
    with VideoWriter(target, size=size, crf=20, preset="veryfast") as writer:
        for _ in range(repeat):
            last = 0.0
            with av.open(str(source)) as container:
                for decoded in container.decode(video=0):
                    last = float(decoded.pts * decoded.time_base)
                    image = cv2.resize(decoded.to_ndarray(format="bgr24"), size, interpolation=cv2.INTER_CUBIC)
                    writer.write(Frame(image, offset + last, index))
                    index += 1
            offset += last + 0.04
    return target


def peak_rss_mib() -> float:
    """This process's peak resident memory (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def cpu_seconds() -> float:
    """CPU time of this process, all threads (FFmpeg's and OpenVINO's included)."""
    t = os.times()
    return t.user + t.system


def time_painting(stylizer: Stylizer, batches: Sequence[np.ndarray], options: StyleOptions,
                  frames: int) -> tuple[float, float]:
    """(frames/s, core-ms a frame) of painting ``frames`` frames alone, ``batches`` (uint8 BGR NxHxWx3)
    taken in turn as convert takes its batches, after one warm-up call."""
    cycled = itertools.cycle(batches)
    stylizer.stylize_images(next(cycled), options)
    t0, cpu0, done = time.perf_counter(), cpu_seconds(), 0
    while done < frames:
        done += len(stylizer.stylize_images(next(cycled), options))
    return done / (time.perf_counter() - t0), (cpu_seconds() - cpu0) * 1e3 / done


def time_conversion(clip: Path, stylizer: Stylizer, config: ConvertConfig) -> tuple[int, float]:
    """(frames, seconds) of a whole ``convert_file`` run: decode, stylize, encode."""
    frames = 0

    def count(n: int) -> None:
        nonlocal frames
        frames += n

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        convert_file(clip, Path(tmp) / "out.mp4", stylizer, config, on_frames=count)
        return frames, time.perf_counter() - t0


@dataclass(frozen=True)
class LiveMeasurement:
    stats: LiveStats  # the session's own figures over its last two seconds
    shown_fps: float  # frames the display took per second over the whole measurement
    size: str  # the painted frames' size, e.g. "640x360"
    dropped: int  # source frames never shown during the measurement (``stats.dropped`` counts from the start)


def measure_live(style: str, source: Path, seconds: float, *, device: str = "auto",
                 runtime: str = "auto") -> LiveMeasurement:
    """A live session as the window runs it (the automatic brush on), on ``source`` at its own rate, with
    a display that takes every frame at once: what the status bar would say after ``seconds``."""
    from .session import LiveSession, SessionConfig

    session = LiveSession(SessionConfig(device=device, runtime=runtime))
    try:
        session.set_style(style)
        session.open_source(source)
        deadline = time.monotonic() + 120
        while session.style.status != "ready" or session.stats().inference_ms is None:
            if time.monotonic() > deadline or session.style.status == "failed":
                raise InputError(f"the live session did not start painting {source} with {style}: "
                                 f"{session.style.message or session.state.message}")
            time.sleep(0.05)
        time.sleep(3.0)  # the automatic brush settles
        end, shown, dropped = time.monotonic() + seconds, 0, session.stats().dropped
        while time.monotonic() < end:
            if session.take_frame() is not None:
                shown += 1
            time.sleep(0.002)
        size = "x".join(map(str, session.state.size)) if session.state.size else "?"
        stats = session.stats()
        return LiveMeasurement(stats, shown / seconds, size, stats.dropped - dropped)
    finally:
        session.shutdown()
