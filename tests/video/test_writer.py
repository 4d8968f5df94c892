"""The PyAV writer as a sink: timestamps, odd sizes, atomic files, finalised on stop."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nstvideo.core.errors import EncodeError, OutputExistsError
from nstvideo.video.frame import Frame
from nstvideo.video.writer import VideoWriter


def frames(n: int, size=(64, 48), times=None, start: float = 0.0):
    width, height = size
    rng = np.random.default_rng(0)
    times = times or [start + i / 25 for i in range(n)]
    return [Frame(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), t, i) for i, t in enumerate(times)]


def test_timestamps_become_pts_in_the_given_time_base(tmp_path, read_back):
    times = [0.0, 0.01, 0.3, 0.31, 1.0]
    out = tmp_path / "vfr.mp4"
    with VideoWriter(out, time_base=Fraction(1, 1000), preset="ultrafast") as writer:
        for frame in frames(5, times=times):
            writer.write(frame)
    assert writer.written and writer.frames_written == 5
    assert read_back(out)["times"] == pytest.approx(times, abs=1e-3)


def test_rebase_starts_a_mid_stream_recording_at_zero(tmp_path, read_back):
    out = tmp_path / "rebased.mp4"
    with VideoWriter(out, rebase=True, preset="ultrafast") as writer:
        for frame in frames(4, start=37.5):
            writer.write(frame)
    assert read_back(out)["times"] == pytest.approx([0, 0.04, 0.08, 0.12], abs=1e-4)


def test_odd_size_is_padded_by_repeating_the_edge(tmp_path, read_back):
    out = tmp_path / "odd.mp4"
    ramp = np.repeat(np.linspace(0, 255, 321).astype(np.uint8)[None, :, None], 241, 0).repeat(3, 2)
    with VideoWriter(out, crf=0, preset="ultrafast") as writer:
        writer.write(Frame(ramp, 0.0, 0))
    after = read_back(out)
    assert after["size"] == (322, 242) and after["pix_fmt"] == "yuv420p"
    image = after["first_image"].astype(int)
    assert np.abs(image[:241, :321] - ramp).max() <= 6  # not resampled: only the BGR<->YUV round trip differs
    assert np.abs(image[:, 321] - image[:, 320]).max() <= 3  # the padding repeats the edge
    assert np.abs(image[241] - image[240]).max() <= 3


def test_nothing_is_left_on_failure_or_without_frames(tmp_path):
    out = tmp_path / "never.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out) as writer:
            writer.write(frames(1)[0])
            raise RuntimeError("stopped")
    with VideoWriter(out):
        pass  # no frame: nothing to play, no file
    assert list(tmp_path.iterdir()) == []


def test_existing_file_and_bad_suffix_are_refused(tmp_path):
    existing = tmp_path / "keep.mp4"
    existing.write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        VideoWriter(existing)
    assert existing.read_bytes() == b"keep"
    with pytest.raises(EncodeError, match=".avi"):
        VideoWriter(tmp_path / "x.avi")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]
