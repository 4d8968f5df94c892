"""Video fixtures: short clips generated with PyAV for the edge cases, real clips from ../shared."""
from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from nstvideo.video.frame import Frame
from nstvideo.video.sinks import SinkBase

AUDIO_RATE = 48_000


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One intra-op torch thread: the pipeline tests race threads against a clock, and torch spreading over
    every core (on a small machine shared with other work) makes those timings erratic."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class CollectSink(SinkBase):
    """Keeps every frame in memory, and whether it was closed."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.closed = threading.Event()

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        self.closed.set()


@pytest.fixture
def collector():
    """``collector()`` -> a new ``CollectSink``."""
    return CollectSink


@pytest.fixture
def wait_until():
    """``wait_until(condition, what, timeout=30)``: poll until ``condition()`` holds; fail the test at the deadline.

    For tests that need "some frames went through": a generous deadline instead of a fixed sleep that a
    loaded machine can overrun.
    """

    def wait(condition, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {timeout} s")
            time.sleep(0.01)

    return wait


def _picture(index: int, width: int, height: int) -> np.ndarray:
    """A moving colour gradient (uint8 BGR), different in every frame so nothing is encoded as a repeat."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = (x * 255 // max(1, width - 1) + 7 * index) % 256
    image[..., 1] = (y * 255 // max(1, height - 1)) % 256
    image[..., 2] = (40 * index) % 256
    return image


def write_clip(path: Path, *, size=(64, 48), timestamps=None, frames: int = 12, rate: int = 15,
               time_base=Fraction(1, 15_360), audio: str | None = None, audio_seconds: float | None = None,
               rotation: float = 0) -> Path:
    """An H.264 clip with the given frame timestamps (seconds; default ``frames`` at ``rate``), optionally
    with a 440 Hz mono sine track encoded with ``audio`` ("aac", "pcm_s16le", ...)."""
    width, height = size
    if timestamps is None:
        timestamps = [i / rate for i in range(frames)]
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=rate, options={"preset": "ultrafast", "crf": "20"})
        # yuv444p allows the odd sizes that yuv420p (what nstvideo writes) cannot code
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        video.codec_context.time_base = time_base
        video.time_base = time_base
        if rotation:
            video.set_display_rotation(rotation)
        sound = None
        if audio:
            sound = container.add_stream(audio, rate=AUDIO_RATE, layout="mono")
        for i, t in enumerate(timestamps):
            frame = av.VideoFrame.from_ndarray(_picture(i, width, height), format="bgr24")
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            seconds = audio_seconds if audio_seconds is not None else timestamps[-1] + 1 / rate
            total = round(seconds * AUDIO_RATE)
            chunk = 1024
            fmt = sound.codec_context.format.name  # fltp for AAC, s16 for PCM
            for start in range(0, total, chunk):
                n = min(chunk, total - start)
                wave = 0.3 * np.sin(2 * np.pi * 440 * (start + np.arange(n)) / AUDIO_RATE)
                samples = wave.astype(np.float32) if fmt == "fltp" else (wave * 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(samples[None], format=fmt, layout="mono")
                frame.sample_rate = AUDIO_RATE
                frame.pts = start
                frame.time_base = Fraction(1, AUDIO_RATE)
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return path


@pytest.fixture
def make_clip(tmp_path):
    """``make_clip(name, **write_clip options)`` -> the path of a new clip in the test's folder."""

    def make(name: str = "clip.mp4", **options) -> Path:
        return write_clip(tmp_path / name, **options)

    return make


@pytest.fixture
def stylizer(random_style):
    from nstvideo.core.stylize import Stylizer

    return Stylizer.from_style(random_style, "cpu")


def probe_file(path: Path) -> dict:
    """Frame pts (seconds), durations and codecs as PyAV reads them back: the ground truth of the tests."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        frames = list(container.decode(video))
        info = {
            "times": [float(f.pts * f.time_base) for f in frames],
            "size": (frames[0].width, frames[0].height),
            "rotation": frames[0].rotation,
            "pix_fmt": video.codec_context.pix_fmt,
            "video_duration": float(video.duration * video.time_base) if video.duration else None,
            "audio_codec": audio.codec_context.name if audio else None,
            "first_image": frames[0].to_ndarray(format="bgr24"),
        }
    info["audio_duration"] = _audio_duration(path) if info["audio_codec"] else None
    return info


def _audio_duration(path: Path) -> float:
    """Where the audio ends, from its packets (Matroska declares no stream duration)."""
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        if audio.duration:
            return float(audio.duration * audio.time_base)
        end = max(p.pts + p.duration for p in container.demux(audio) if p.pts is not None)
        return float(end * audio.time_base)


@pytest.fixture
def read_back():
    return probe_file
