"""Reading frames with OpenCV on a thread of their own: a webcam index, a video file or a stream URL.

Two policies, chosen by the source (or by ``live=``):

* **live** (a camera, a stream URL): only the newest frame is kept. A slow consumer skips the frames it
  missed (they show up as gaps in ``Frame.index``) instead of falling further and further behind. A video
  *file* read live is played at its own speed, like a camera, which is what a preview of a file wants.
* **file**: every frame, in order, through a bounded queue. The reader blocks when the queue is full, so
  a slow consumer loses nothing and memory stays bounded.

A file's frames carry their pts x time_base, as ``convert`` reads them: OpenCV's ``POS_MSEC`` counts from
the stream's start time, so a clip that starts at 2 s would otherwise start at 0 here and at 2 s there.
Only regular files are opened (a FIFO would block the open forever).

``read()`` returns the next ``Frame``, ``None`` at the end of the stream, and raises ``CaptureError`` when
the source failed: never a silent hang or a silent end. OpenCV's ``read()`` says only "no frame", so:

* a file that gives no frame has ended;
* a camera has failed when it gave no frame for ``CAMERA_STALL_S`` seconds (a clock, not a count of
  misses: one V4L read can block for seconds);
* a stream URL has failed after ``STREAM_MISSES`` failed reads in a row (each waits up to
  ``STREAM_READ_TIMEOUT_MS``), unless it declared its length and gave that many frames (a video file
  served over HTTP ends normally).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path

import av
import cv2
import numpy as np

from ..core.errors import CaptureError
from ..core.images import resize_max_side
from .frame import Frame

log = logging.getLogger(__name__)

STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
FILE_QUEUE_SIZE = 32
# A camera that gave no frame for this long is gone (unplugged, or taken by another program).
CAMERA_STALL_S = 5.0
RETRY_S = 0.05
# A stream URL whose reads fail this many times in a row has died (each read waits up to the read timeout).
STREAM_MISSES = 3
# Network streams only: how long OpenCV's FFmpeg backend may wait to open and per read.
STREAM_OPEN_TIMEOUT_MS = 10_000
STREAM_READ_TIMEOUT_MS = 5_000


def is_stream_url(source: int | str) -> bool:
    """A network stream (read live, reconnected when it drops), not a camera index or a file path."""
    return isinstance(source, str) and source.lower().startswith(STREAM_PREFIXES)


def _describe(source: int | str) -> str:
    return f"camera {source}" if isinstance(source, int) else str(source)


class Capture:
    """Frames from one OpenCV source, read on a daemon thread.

    ``source``: an int camera index, a file path or a stream URL. ``live``: drop stale frames (default:
    True for cameras and URLs, False for files). ``max_side``: shrink frames on the capture thread.
    ``queue_size``: the bound of the file queue. ``resolution`` (width, height) and ``fps``: what to ask a
    camera for (it may give something else; ``size`` and ``fps`` say what it gives). Use as ``with Capture(src) as cap: for frame in cap: ...``
    or ``start()`` / ``read()`` / ``stop()``; ``stop()`` is safe to call twice.
    """

    def __init__(self, source: int | str | Path, *, live: bool | None = None, max_side: int | None = None,
                 queue_size: int = FILE_QUEUE_SIZE, resolution: tuple[int, int] | None = None,
                 fps: float | None = None):
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.source: int | str = source if isinstance(source, int) else str(source)
        self.is_camera = isinstance(source, int)
        self.is_stream = is_stream_url(self.source)
        self.live = (self.is_camera or self.is_stream) if live is None else live
        self.max_side = max_side
        self.queue_size = 1 if self.live else queue_size
        self.dropped = 0  # frames a live source skipped because a newer one arrived first
        self.fps: float | None = None  # what the source declares; a hint only, never used for timestamps
        self.size: tuple[int, int] | None = None  # (width, height) of the frames delivered
        self._request = (resolution, fps)
        self._cap: cv2.VideoCapture | None = None
        self._first: np.ndarray | None = None
        self._buffer: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._ended = False
        self._error: CaptureError | None = None
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._start = 0.0  # seconds a file's POS_MSEC is behind its pts (its stream's start time)
        self._origin = 0.0  # a file's first timestamp: where a file read live starts its clock

    # -- public -------------------------------------------------------------------------------------------

    def start(self) -> "Capture":
        """Open the source and read its first frame; raises ``CaptureError`` at once when that fails."""
        if self._thread is not None:
            raise RuntimeError("a Capture can be started once; make a new one")
        self._cap = self._open()
        ok, image = self._cap.read()
        if not ok or image is None:
            self._cap.release()
            raise CaptureError(f"{_describe(self.source)} opened but gave no frame; "
                               "check that it is a video and not in use by another program", self.source)
        if not (self.is_camera or self.is_stream):
            first = _first_pts(Path(self.source))
            self._start = 0.0 if first is None else first - self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            self._origin = self._timestamp(self._cap)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else None
        self._first = resize_max_side(image, self.max_side)
        self.size = (self._first.shape[1], self._first.shape[0])
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"nstvideo-capture-{self.source}", daemon=True)
        self._thread.start()
        return self

    def clock(self) -> float:
        """Seconds since ``start()``: the time base of live frames' timestamps."""
        return time.monotonic() - self._t0

    @property
    def started_at(self) -> float:
        """A live frame was captured (a file's frame shown) at ``time.monotonic()`` ``started_at + timestamp``:
        ``start()``'s time, less where a file's timestamps begin (they are its own, not from 0)."""
        return self._t0 - self._origin

    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame (the newest one when live), or ``None`` once the stream has ended or stopped.

        Raises ``TimeoutError`` when no frame came within ``timeout`` seconds and ``CaptureError`` when the
        source failed (after the frames read before the failure).
        """
        if self._thread is None:
            raise RuntimeError("call start() before read()")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._buffer:
                if self._error is not None:
                    raise self._error
                if self._ended or self._stopping.is_set():
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no frame from {_describe(self.source)} within {timeout} s")
                self._cond.wait(remaining)
            frame = self._buffer.popleft()
            self._cond.notify_all()
            return frame

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the thread to end, wait up to ``timeout`` s, release the source. Safe to call twice."""
        self._stopping.set()
        with self._cond:
            self._buffer.clear()
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s did not stop within %.1f s (a blocked driver?)", _describe(self.source), timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __iter__(self):
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> "Capture":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- capture thread -----------------------------------------------------------------------------------

    def _open(self) -> cv2.VideoCapture:
        if isinstance(self.source, str) and not self.is_stream:
            path = Path(self.source)
            if not path.exists():
                raise CaptureError(f"{path} does not exist; check the path", self.source)
            if path.is_dir():
                raise CaptureError(f"{path} is a folder; name a video file", self.source)
            if not path.is_file():
                raise CaptureError(f"{path} is not a regular file (a FIFO, socket or device); name a video file, "
                                   "or a camera by its number", self.source)
        if self.is_stream:
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_OPEN_TIMEOUT_MS,
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_READ_TIMEOUT_MS]
            cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        else:
            cap = cv2.VideoCapture(self.source)
        if self.is_camera and cap.isOpened():
            resolution, fps = self._request
            if resolution:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, resolution[0])
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, resolution[1])
            if fps:
                cap.set(cv2.CAP_PROP_FPS, fps)
        if not cap.isOpened():
            cap.release()
            if self.is_camera:
                hint = "check that it is connected and not in use by another program, or try another index"
            elif self.is_stream:
                hint = "check the URL and the network"
            else:
                hint = "it is not a video OpenCV can read"
            raise CaptureError(f"cannot open {_describe(self.source)}; {hint}", self.source)
        return cap

    def _run(self) -> None:
        cap = self._cap
        assert cap is not None
        declared = cap.get(cv2.CAP_PROP_FRAME_COUNT) if self.is_stream else 0  # >0: a finite stream
        index, misses, last_frame_at = 0, 0, time.monotonic()
        image: np.ndarray | None = self._first
        self._first = None
        try:
            while not self._stopping.is_set():
                if image is None:
                    ok, image = cap.read()
                    if not ok or image is None:
                        image = None
                        if not (self.is_camera or self.is_stream):
                            break  # end of the file
                        if self.is_stream and 0 < declared <= index:
                            break  # a finite stream gave every frame it declared
                        misses += 1
                        self._check_alive(misses, time.monotonic() - last_frame_at, index, declared)
                        self._stopping.wait(RETRY_S)
                        continue
                misses, last_frame_at = 0, time.monotonic()
                timestamp = self._timestamp(cap)
                if self.live and not (self.is_camera or self.is_stream):
                    # A file played live: show each frame at its own time, like a camera would.
                    self._stopping.wait(max(0.0, timestamp - self._origin - self.clock()))
                if index > 0:
                    image = resize_max_side(image, self.max_side)  # the first was resized in start()
                self._put(Frame(image, timestamp, index))
                index += 1
                image = None
        except CaptureError as exc:
            self._fail(exc)
        except Exception as exc:  # an OpenCV error mid-stream: report it, never die silently
            self._fail(CaptureError(f"reading {_describe(self.source)} failed: {exc}", self.source))
        finally:
            cap.release()
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _check_alive(self, misses: int, since_frame_s: float, frames: int, declared: float) -> None:
        """Raise ``CaptureError`` when a camera or stream that just failed a read counts as dead."""
        if self.is_camera and since_frame_s >= CAMERA_STALL_S:
            raise CaptureError(f"{_describe(self.source)} stopped giving frames (unplugged?): none for "
                               f"{since_frame_s:.0f} s; reconnect it and start again", self.source)
        if self.is_stream and misses >= STREAM_MISSES:
            of = f" of {declared:.0f}" if declared > 0 else ""
            raise CaptureError(f"{_describe(self.source)} stopped after {frames}{of} frames ({misses} failed "
                               "reads in a row); check the network and the server, then start again", self.source)

    def _timestamp(self, cap: cv2.VideoCapture) -> float:
        if self.is_camera or self.is_stream:
            return self.clock()
        return cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 + self._start

    def _put(self, frame: Frame) -> None:
        with self._cond:
            if self.live:
                self.dropped += len(self._buffer)
                self._buffer.clear()
            else:
                while len(self._buffer) >= self.queue_size and not self._stopping.is_set():
                    self._cond.wait(0.1)
                if self._stopping.is_set():
                    return
            self._buffer.append(frame)
            self._cond.notify_all()

    def _fail(self, error: CaptureError) -> None:
        log.debug("capture failed: %s", error)
        with self._cond:
            self._error = error
            self._cond.notify_all()


def _first_pts(path: Path) -> float | None:
    """The first frame's pts x time_base as PyAV decodes it (what ``convert`` uses); None when unknown."""
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            frame = next(container.decode(video=0), None)
    except (av.FFmpegError, IndexError, StopIteration):
        return None
    if frame is None or frame.pts is None:
        return None
    return float(frame.pts * frame.time_base)
