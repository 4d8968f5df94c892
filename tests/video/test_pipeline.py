"""Capture on its own thread, read by a painter: drop policies, timestamps, errors, stopping."""
from __future__ import annotations

import os
import time

import av
import pytest

from nstvideo.core.errors import CaptureError
from nstvideo.core.stylize import StyleOptions
from nstvideo.video.capture import CAMERA_STALL_S, STREAM_MISSES, Capture
from nstvideo.video.frame import Frame


def paint_to_end(capture: Capture, stylizer, on_frame, delay: float = 0.0, timeout: float = 60.0) -> None:
    """What the live session's paint thread does with a capture, in the test's thread: read the newest
    frame, paint it (taking at least ``delay``), hand it on, until the stream ends."""
    deadline = time.monotonic() + timeout
    while (frame := capture.read(timeout=5)) is not None:
        time.sleep(delay)
        on_frame(frame.with_image(stylizer.stylize_images(frame.image[None], StyleOptions())[0]))
        assert time.monotonic() < deadline, "the stream did not end"


def test_file_source_with_a_slow_painter_drops_nothing(make_clip, stylizer):
    src = make_clip(frames=40, rate=20)
    with av.open(str(src)) as container:
        expected = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    frames: list[Frame] = []
    with Capture(src, queue_size=4) as capture:
        assert not capture.live
        paint_to_end(capture, stylizer, frames.append, delay=0.01)
    assert [f.index for f in frames] == list(range(40)) and capture.dropped == 0
    assert [f.timestamp for f in frames] == pytest.approx(expected, abs=1e-3)


def test_live_source_with_a_slow_painter_drops_stale_frames_and_keeps_latency_bounded(make_clip, stylizer):
    src = make_clip(frames=40, rate=40)  # played live: a 1 s "camera" at 40 fps
    latencies: list[float] = []
    frames: list[Frame] = []

    def on_frame(frame: Frame) -> None:
        latencies.append(capture.clock() - frame.timestamp)
        frames.append(frame)

    capture = Capture(src, live=True).start()
    try:
        paint_to_end(capture, stylizer, on_frame, delay=0.1)
    finally:
        capture.stop()
    # A queue that kept every frame would end about 40 * 0.1 - 1 = 3 s behind; the newest-frame slot keeps
    # the age of what is shown to about two processing times (0.2 s). 1.5 s leaves room for a loaded
    # machine and still fails for a queue.
    assert max(latencies) < 1.5, latencies
    indices = [f.index for f in frames]
    assert indices == sorted(indices) and len(indices) < 30 and capture.dropped > 0


def test_stop_mid_stream_is_prompt_and_safe_twice(make_clip):
    capture = Capture(make_clip(frames=100), queue_size=2).start()  # 100 frames, read slowly: seconds to the end
    assert capture.read(timeout=5).index == 0
    time.sleep(0.1)
    started = time.monotonic()
    capture.stop()
    assert time.monotonic() - started < 2
    capture.stop()
    assert not capture.running
    assert capture.read() is None


def test_capture_errors_are_clear(tmp_path):
    with pytest.raises(CaptureError, match="does not exist"):
        Capture(tmp_path / "nope.mp4").start()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(CaptureError, match="notes.mp4"):
        Capture(text).start()
    with pytest.raises(CaptureError, match="camera 97"):
        Capture(97).start()


def test_read_times_out_instead_of_hanging(make_clip):
    capture = Capture(make_clip(timestamps=[0.0, 5.0]), live=True).start()  # the second frame is due after 5 s
    try:
        assert capture.read(timeout=4).index == 0
        with pytest.raises(TimeoutError):
            capture.read(timeout=0.05)
    finally:
        capture.stop()


def test_real_clip_file_capture_matches_pyav_timestamps(video_dir):
    src = video_dir / "person_walking_room.mp4"
    with Capture(src, max_side=64) as capture:
        frames = list(capture)
    with av.open(str(src)) as container:
        expected = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    assert len(frames) == len(expected) == 100
    assert [f.timestamp for f in frames] == pytest.approx(expected, abs=1e-3)
    assert frames[0].image.shape == (36, 64, 3)


@pytest.mark.parametrize("name", ["late.mp4", "late.mkv"])
def test_file_that_starts_late_keeps_its_timestamps_like_convert(make_clip, name):
    """MP4 keeps the 10 s start as the stream's start time, which OpenCV's POS_MSEC subtracts; MKV does not."""
    src = make_clip(name, timestamps=[10.0 + i / 15 for i in range(6)])
    with Capture(src) as capture:
        frames = list(capture)
    with av.open(str(src)) as container:
        expected = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    assert expected[0] == pytest.approx(10.0, abs=1e-3)
    assert [f.timestamp for f in frames] == pytest.approx(expected, abs=1e-3)
    with Capture(src, live=True) as capture:  # played live, the first frame is due at once, not after 10 s
        started = time.monotonic()
        frame = capture.read(timeout=8)
        shown = time.monotonic()
        assert frame.timestamp == pytest.approx(10.0, abs=1e-3)
        # Shown when it was "captured", not 10 s before: what the live view's latency is measured from.
        assert shown - started < 8 and 0 <= shown - (capture.started_at + frame.timestamp) < 8


def test_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(CaptureError, match="not a regular file"):
        Capture(fifo).start()


def test_stream_that_dies_mid_way_is_an_error_not_an_end(video_dir, tmp_path, http_server):
    data = (video_dir / "pancake_kitchen.mp4").read_bytes()  # 300 frames, its index at the front
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # the connection ends half way
    frames: list[Frame] = []
    with Capture(f"{http_server}/cut.mp4") as capture:
        assert capture.is_stream and capture.live
        with pytest.raises(CaptureError, match="stopped after .* of 300 frames"):
            for frame in capture:
                frames.append(frame)
    assert 0 < len(frames) < 300


def test_finite_stream_that_gives_every_frame_ends_normally(video_dir, tmp_path, http_server):
    (tmp_path / "full.mp4").write_bytes((video_dir / "pancake_kitchen.mp4").read_bytes())
    with Capture(f"{http_server}/full.mp4", live=False) as capture:
        frames = list(capture)
    assert len(frames) == 300 and [f.index for f in frames] == list(range(300))


def test_a_camera_is_dead_after_a_time_without_frames_not_after_a_count_of_misses():
    camera = Capture(5)  # never started: no camera is needed to check the policy
    camera._check_alive(misses=10_000, since_frame_s=CAMERA_STALL_S - 0.5, frames=7, declared=0)
    with pytest.raises(CaptureError, match=r"camera 5 stopped giving frames \(unplugged\?\)"):
        camera._check_alive(misses=1, since_frame_s=CAMERA_STALL_S, frames=7, declared=0)
    stream = Capture("rtsp://127.0.0.1/live")
    stream._check_alive(misses=STREAM_MISSES - 1, since_frame_s=1000, frames=7, declared=0)
    with pytest.raises(CaptureError, match="rtsp://127.0.0.1/live stopped after 7 frames"):
        stream._check_alive(misses=STREAM_MISSES, since_frame_s=0, frames=7, declared=0)
