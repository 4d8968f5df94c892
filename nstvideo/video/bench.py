"""End-to-end conversion speed and memory, for BENCHMARKS.md (``nstvideo bench --what convert``)."""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2

from ..core.stylize import Stylizer
from .convert import ConvertConfig, convert_file
from .frame import Frame
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
