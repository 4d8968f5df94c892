"""The live session: one object that runs a stylized live stream for the window, a test or a headless caller.

Threads, and why each exists:

* the **control** thread does what is slow about sources and files: opening a source (a camera or a
  stream can take seconds), finalising a recording, writing a snapshot, reconnecting a lost camera.
* the **styles** thread loads styles (building one for OpenVINO takes seconds, once), the **thumbnails**
  thread paints the dropdown's pictures: neither ever delays a source change or a recording, and a style
  asked for while another loads replaces it.
  Every public method only posts a command to one of these threads and returns at once, so a GUI never
  freezes; ``shutdown()`` alone waits, for the threads to end.
* the **paint** thread takes the newest frame from the capture, stylizes it with the current style and
  options, and puts it in a newest-frame slot that the display pulls from (``take_frame``). The capture
  keeps only its newest frame too, so a painter slower than the camera drops frames (counted) instead of
  falling behind: latency stays near one frame.
* the capture's own thread (``Capture``), and one thread per background sink (the recorder's encoder, the
  virtual camera), so x264 or a full disk never slows or stops the preview.

Frames carry a timeline of the session's own: seconds since the session started, taken when the frame
was captured. It runs on across source changes and file loops, so a recording that spans them keeps
increasing timestamps, and capture-to-display latency is ``clock() - frame.timestamp``.

Callbacks (``on_state``, ``on_style``, ``on_recording``, ``on_stats``, ``on_error``, ...) are called on the
session's threads: they must return quickly and must not touch a GUI directly (``nstvideo.app.live``
turns them into Qt signals).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import platformdirs

from ..assets import demo_clip
from ..core.errors import CaptureError, InputError, NstVideoError, OutputExistsError
from ..core.images import write_image
from ..core.stabilize import DEFAULT_STRENGTH, Stabilizer, check_strength
from ..core.styles import StyleInfo, installed_styles, resolve_style
from ..core.stylize import StyleOptions, Stylizer
from .auto_brush import AutoBrush
from .background import BackgroundSink
from .cameras import CameraInfo, list_cameras
from .commands import CommandThread
from .capture import Capture, is_stream_url
from .frame import Frame
from .latest import LatestFrame
from .stats import LiveStats, StatsMeter
from .vcam import VirtualCamera, unavailable_reason
from .writer import VIDEO_SUFFIXES, VideoWriter

log = logging.getLogger(__name__)

Source = int | str | Path


class FrameStylizer(Protocol):
    """What paints: ``core.stylize.Stylizer`` is one (uint8 BGR NxHxWx3 in, the same shape out)."""

    def stylize_images(self, images: np.ndarray, options: StyleOptions) -> np.ndarray: ...


THUMBNAIL_SIDE = 96
RECORDER_FINISH_S = 120.0  # what shutdown() waits for a recording to be finalised, whatever else was slow


def parse_source(text: Source) -> int | str:
    """A camera index (``0`` or ``"0"``), a file path or a URL, as ``Capture`` takes it."""
    if isinstance(text, int):
        return text
    text = str(text).strip()
    if text.isdigit():
        return int(text)
    if is_stream_url(text):
        return text
    return str(Path(text).expanduser().absolute())  # remembered between runs: not relative to a cwd


def describe_source(source: int | str | None, demo: bool = False) -> str:
    if source is None:
        return "no source"
    if demo:
        return "demo clip"
    if isinstance(source, int):
        return f"camera {source}"
    return source if is_stream_url(source) else Path(source).name


@dataclass(frozen=True)
class SessionConfig:
    """One live session. ``max_side``: frames are shrunk to this long side before painting (a live view
    needs speed more than pixels). ``camera_resolution`` / ``camera_fps``: what to ask a camera for."""

    device: str = "auto"
    runtime: str = "auto"  # see ``core.device.RUNTIME_CHOICES``: OpenVINO int8 on a CPU when it is installed
    max_side: int | None = 640
    camera_resolution: tuple[int, int] | None = None
    camera_fps: float | None = None
    loop_files: bool = True
    record_dir: Path | None = None  # default: the user's Videos folder / nstvideo
    snapshot_dir: Path | None = None  # default: the user's Pictures folder / nstvideo
    record_preset: str = "veryfast"  # x264: light enough to leave the CPU to the painter
    record_crf: int = 20
    record_queue: int = 64  # frames (about 2 s at 30 fps) the encoder may fall behind before frames drop
    reconnect_every_s: float = 2.0
    stats_every_s: float = 1.0
    # The automatic live setting (``auto_brush.py``): the brush is chosen to keep up with the source, and
    # the one in ``set_options`` is used only once ``set_auto_brush(False)`` is called.
    auto_brush: bool = True
    # Flow-guided stabilization (``core.stabilize``): 0 is off, else the weight of the previous output.
    stabilize: float = 0.0


@dataclass(frozen=True)
class SessionState:
    """``status``: idle, opening, playing, reconnecting, ended (a file that does not loop), failed, closed.
    ``demo``: the demo clip plays because no camera could be used; ``message`` says why."""

    status: str
    source: int | str | None = None
    demo: bool = False
    message: str = ""
    size: tuple[int, int] | None = None

    @property
    def description(self) -> str:
        return describe_source(self.source, self.demo)


@dataclass(frozen=True)
class StyleState:
    """``status``: loading, ready, failed or none (frames pass through unpainted)."""

    status: str
    spec: str | None = None
    info: StyleInfo | None = None
    runtime: str = ""
    message: str = ""


@dataclass(frozen=True)
class RecordingState:
    """``active`` while frames go to ``path``; once it ended, ``written`` says the file is complete."""

    active: bool
    path: Path | None = None
    started: float | None = None  # time.monotonic() at the start
    frames: int = 0
    dropped: int = 0
    written: bool = False
    message: str = ""


@dataclass(frozen=True)
class VirtualCameraState:
    active: bool
    device: str = ""
    message: str = ""


def _timestamped(folder: Path, suffix: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"nstvideo-{stamp}{suffix}"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"nstvideo-{stamp}-{n}{suffix}"
    return path


class LiveSession:
    """A stylized live stream; see the module docstring. Create, ``open_source``/``open_default``,
    ``set_style``, drive it, ``shutdown()``."""

    def __init__(self, config: SessionConfig = SessionConfig(), *,
                 on_state: Callable[[SessionState], None] | None = None,
                 on_style: Callable[[StyleState], None] | None = None,
                 on_recording: Callable[[RecordingState], None] | None = None,
                 on_virtual_camera: Callable[[VirtualCameraState], None] | None = None,
                 on_stats: Callable[[LiveStats], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_frame: Callable[[], None] | None = None,
                 on_snapshot: Callable[[Path], None] | None = None,
                 on_cameras: Callable[[list[CameraInfo]], None] | None = None,
                 on_thumbnail: Callable[[str, np.ndarray], None] | None = None):
        self.config = config
        self._callbacks = dict(state=on_state, style=on_style, recording=on_recording,
                               virtual_camera=on_virtual_camera, stats=on_stats, error=on_error, frame=on_frame,
                               snapshot=on_snapshot, cameras=on_cameras, thumbnail=on_thumbnail)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        # Shared with the paint thread (under _lock):
        self._capture: Capture | None = None
        self._generation = 0  # bumped whenever the source changes, so stale end/failure reports are ignored
        self._stylizer: FrameStylizer | None = None
        self._options = StyleOptions()
        self._auto_brush = config.auto_brush
        self._auto_level = 1.0  # the brush the automatic setting chose
        self._stabilize = config.stabilize
        self._sinks: list[BackgroundSink] = []
        self._recorder: BackgroundSink | None = None
        self._vcam: BackgroundSink | None = None
        # Control thread only:
        self._source: int | str | None = None
        self._demo = False
        self._camera_request = (config.camera_resolution, config.camera_fps)
        # Styles and thumbnails threads only:
        self._stylizers: dict[tuple[Path, int], Stylizer] = {}
        self._style_request = 0  # the newest set_style/use_stylizer: older ones still queued are skipped
        self._thumbnailed: dict[str, int] = {}  # style path -> mtime of the thumbnail sent
        self.state = SessionState("idle")
        self.style = StyleState("none")
        self._latest = LatestFrame()
        self._meter = StatsMeter()
        self._stopping = threading.Event()
        self._closed = False
        self._control = CommandThread("nstvideo-session-control", self._failed)
        self._styles = CommandThread("nstvideo-session-styles", self._failed)
        self._thumbs = CommandThread("nstvideo-session-thumbnails", self._failed)
        self._painter = threading.Thread(target=self._paint_loop, name="nstvideo-session-paint", daemon=True)
        self._painter.start()
        self._post(self._schedule_stats)

    # -- what callers use (none of it blocks but shutdown) --------------------------------------------------

    def clock(self) -> float:
        """Seconds on the session's timeline (the clock of ``Frame.timestamp``)."""
        return time.monotonic() - self._t0

    def open_source(self, source: Source) -> None:
        """Switch to a camera index, a video file or a stream URL; the old source plays until the new one opened."""
        self._post(self._open, parse_source(source), False, "")

    def open_default(self, preferred: Source | None = None) -> None:
        """``preferred`` (a remembered source) if it opens, else the first camera, else the demo clip with a
        message saying why (no camera found, or the camera's error)."""
        self._post(self._open_default, None if preferred is None else parse_source(preferred))

    def set_camera_options(self, resolution: tuple[int, int] | None, fps: float | None) -> None:
        """What to ask cameras for (``None``: their default); a camera playing now is reopened with it."""
        self._post(self._set_camera_options, resolution, fps)

    def close_source(self) -> None:
        self._post(self._close_source)

    def set_style(self, style: str | Path | None) -> None:
        """A style name or file (loaded on the styles thread, reported through ``on_style``), or None."""
        self._post_to(self._styles, self._set_style, None if style is None else str(style), self._next_request())

    def use_stylizer(self, stylizer: FrameStylizer | None, name: str = "custom") -> None:
        """Paint with a stylizer built by the caller (anything with ``stylize_images``), from the next frame."""
        self._post_to(self._styles, self._use, stylizer, name, self._next_request())

    def _next_request(self) -> int:
        with self._lock:
            self._style_request += 1
            return self._style_request

    def set_options(self, options: StyleOptions) -> None:
        """Strength, brush and colour preservation, from the next frame on."""
        with self._lock:
            self._options = options

    @property
    def options(self) -> StyleOptions:
        with self._lock:
            return self._options

    def set_auto_brush(self, on: bool) -> None:
        """On: the session picks the brush that keeps up with the source (shown in ``stats()``); off: the
        brush of ``set_options`` is used as it is."""
        with self._lock:
            self._auto_brush = on
            self._auto_level = 1.0  # measured again from the finest brush

    @property
    def auto_brush(self) -> bool:
        with self._lock:
            return self._auto_brush

    def set_stabilize(self, on: bool, strength: float = DEFAULT_STRENGTH) -> None:
        """Less flicker (``core.stabilize``): ``strength`` up to 0.95 follows the previous output more."""
        strength = check_strength(strength) if on else 0.0
        with self._lock:
            self._stabilize = strength

    def start_recording(self, path: str | Path | None = None) -> None:
        """Record the painted stream to an MP4 (default: a timestamped file in the Videos folder)."""
        self._post(self._start_recording, None if path is None else Path(path))

    def stop_recording(self) -> None:
        self._post(self._stop_recording)

    def snapshot(self, path: str | Path | None = None, original: bool = False) -> None:
        """Write the newest painted (or, with ``original``, unpainted) frame to PNG; ``on_snapshot`` says where."""
        self._post(self._snapshot, None if path is None else Path(path), original)

    def set_virtual_camera(self, on: bool) -> None:
        self._post(self._set_virtual_camera, on)

    def request_cameras(self) -> None:
        """``on_cameras(list)`` with the cameras present."""
        self._post(lambda: self._emit("cameras", list_cameras()))

    def request_thumbnails(self) -> None:
        """``on_thumbnail(name, image)`` for every installed style not sent yet (or changed since): the demo
        clip's first frame in that style."""
        self._post_to(self._thumbs, self._thumbnails)

    def take_frame(self) -> Frame | None:
        """The newest painted frame not yet taken (``None`` if none came since); records its latency."""
        frame = self._latest.take()
        if frame is not None:
            self._meter.shown(self.clock() - frame.timestamp)
        return frame

    def stats(self) -> LiveStats:
        with self._lock:
            auto, brush = self._auto_brush, self._auto_level if self._auto_brush else self._options.brush
            if self._stylizer is None:
                brush = None  # nothing paints
        return replace(self._meter.snapshot(self.style.runtime), brush=brush, auto_brush=auto)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop everything and wait for the threads (``timeout`` each); a recording is always finalised (it
        plays), with up to ``RECORDER_FINISH_S`` for that alone. Safe to call twice.

        A style build cannot be interrupted: the styles thread is left to end with the process (its result
        is thrown away) if it is still building after ``timeout``.
        """
        if self._closed:
            return
        self._closed = True
        self._stopping.set()  # the painter ends after its current frame
        self._painter.join(timeout)
        for commands in (self._control, self._styles, self._thumbs):
            commands.stop(timeout)
        with self._lock:
            capture, self._capture = self._capture, None
            sinks, self._sinks = self._sinks, []
            self._recorder = self._vcam = None
        for sink in sinks:
            sink.close(RECORDER_FINISH_S)
        if capture is not None:
            capture.stop()
        self._latest.clear()
        self._set_state(SessionState("closed"))

    def __enter__(self) -> "LiveSession":
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()

    # -- plumbing ---------------------------------------------------------------------------------------

    def _emit(self, name: str, *args) -> None:
        callback = self._callbacks[name]
        if callback is not None:
            try:
                callback(*args)
            except Exception:  # a listener's bug must not kill a session thread
                log.exception("the %s callback failed", name)

    def _error(self, message: str) -> None:
        log.info("live session: %s", message)
        self._emit("error", message)

    def _post(self, fn: Callable, *args) -> None:
        self._post_to(self._control, fn, *args)

    def _post_to(self, commands: CommandThread, fn: Callable, *args) -> None:
        if not self._closed and not commands.post(fn, *args):
            self._error("the live session is busy; try again in a moment")

    def _failed(self, exc: BaseException) -> None:
        """A command's error, from whichever command thread ran it."""
        if isinstance(exc, NstVideoError):
            self._error(str(exc))
        else:
            log.error("live session command failed", exc_info=exc)
            self._error(f"{type(exc).__name__}: {exc}")

    def _set_state(self, state: SessionState) -> None:
        self.state = state
        self._emit("state", state)

    # -- control thread ---------------------------------------------------------------------------------

    def _schedule_stats(self) -> None:
        self._emit("stats", self.stats())
        self._control.after(self.config.stats_every_s, self._schedule_stats)

    def _new_capture(self, source: int | str) -> Capture:
        resolution, fps = self._camera_request
        return Capture(source, live=True, max_side=self.config.max_side, resolution=resolution, fps=fps).start()

    def _set_camera_options(self, resolution: tuple[int, int] | None, fps: float | None) -> None:
        if (resolution, fps) == self._camera_request:
            return
        self._camera_request = (resolution, fps)
        if isinstance(self._source, int):
            self._open(self._source, False, "")

    def _open(self, source: int | str, demo: bool, message: str) -> bool:
        previous = self.state
        if source == self._source and previous.status == "playing" and not isinstance(source, int):
            return True  # a file or stream chosen again: it is already playing
        self._set_state(SessionState("opening", source, demo, message))
        if isinstance(source, int) and source == self._source:
            # A camera streaming to one handle usually refuses a second (V4L2: busy): close it first.
            self._swap(None)
            previous = SessionState("idle")
        try:
            capture = self._new_capture(source)
        except CaptureError as exc:
            if previous.status == "playing":  # the old source plays on; say why the new one did not come
                self._set_state(previous)
            else:
                self._set_state(SessionState("failed", source, demo, str(exc)))
            self._error(str(exc))
            return False
        self._play(capture, source, demo, message)
        return True

    def _play(self, capture: Capture, source: int | str, demo: bool = False, message: str = "") -> None:
        self._swap(capture)
        self._source, self._demo = source, demo
        self._set_state(SessionState("playing", source, demo, message, capture.size))

    def _swap(self, capture: Capture | None, *, reset_stats: bool = True) -> None:
        with self._lock:
            old, self._capture = self._capture, capture
            self._generation += 1
        if old is not None:
            old.stop()
        if reset_stats:
            self._meter.reset()

    def _open_default(self, preferred: int | str | None) -> None:
        cameras = list_cameras()
        self._emit("cameras", cameras)
        candidates = [preferred] if preferred is not None else []
        candidates += [c.index for c in cameras[:1] if c.index != preferred]
        reason = "no camera was found"
        for source in candidates:
            try:
                capture = self._new_capture(source)
            except CaptureError as exc:
                reason = str(exc)
                continue
            self._play(capture, source)
            return
        self._open(str(demo_clip()), True, f"{reason[:1].upper()}{reason[1:]}: playing a demo clip")

    def _close_source(self) -> None:
        self._swap(None)
        self._source, self._demo = None, False
        self._latest.clear()
        self._set_state(SessionState("idle"))

    def _source_ended(self, generation: int) -> None:
        if generation != self._generation or self._source is None:
            return
        if self.config.loop_files and not _is_live(self._source):
            try:
                self._swap(self._new_capture(self._source), reset_stats=False)  # a loop: the same video
                return
            except CaptureError as exc:
                self._set_state(SessionState("failed", self._source, self._demo, str(exc)))
                self._error(str(exc))
                return
        self._swap(None)
        self._set_state(SessionState("ended", self._source, self._demo, "the video ended"))

    def _source_failed(self, generation: int, error: CaptureError) -> None:
        if generation != self._generation:
            return
        source = self._source
        self._swap(None)
        if _is_live(source):
            message = f"{error} (trying again every {self.config.reconnect_every_s:.0f} s)"
            self._set_state(SessionState("reconnecting", source, self._demo, message))
            self._error(str(error))
            self._control.after(self.config.reconnect_every_s, self._reconnect, source, self._generation)
        else:
            self._set_state(SessionState("failed", source, self._demo, str(error)))
            self._error(str(error))

    def _reconnect(self, source: int | str, generation: int) -> None:
        if generation != self._generation or self._source != source:
            return  # the user chose another source meanwhile
        try:
            capture = self._new_capture(source)
        except CaptureError:
            self._control.after(self.config.reconnect_every_s, self._reconnect, source, generation)
            return
        self._play(capture, source, self._demo, f"{describe_source(source)} is back")

    # -- styles and thumbnails threads -------------------------------------------------------------------

    def _set_style(self, spec: str | None, request: int) -> None:
        if request != self._style_request:
            return  # a newer style was asked for meanwhile: load that one instead
        if spec is None:
            self._use(None, "", request)
            return
        self._emit("style", StyleState("loading", spec, runtime=self.style.runtime))
        try:
            stylizer = self._load(spec)
        except NstVideoError as exc:
            self._emit("style", StyleState("failed", spec, message=str(exc)))
            self._error(str(exc))
            self._emit("style", self.style)  # what still paints
            return
        if request != self._style_request:
            return
        with self._lock:
            self._stylizer = stylizer
        self.style = StyleState("ready", spec, stylizer.info, str(stylizer.runtime))
        self._emit("style", self.style)

    def _use(self, stylizer: FrameStylizer | None, name: str, request: int) -> None:
        if request != self._style_request:
            return
        with self._lock:
            self._stylizer = stylizer
        runtime = str(getattr(stylizer, "runtime", ""))
        self.style = StyleState("ready", name, getattr(stylizer, "info", None), runtime) if stylizer else StyleState("none")
        self._emit("style", self.style)

    def _load(self, spec: str) -> Stylizer:
        """Loaded styles are kept (a few MB each), so switching back is instant; an edited file is reloaded."""
        path = resolve_style(spec).resolve()
        key = (path, path.stat().st_mtime_ns)
        if key not in self._stylizers:
            def progress(message: str) -> None:  # a one-time build (OpenVINO int8: seconds to a minute)
                self._emit("style", StyleState("loading", spec, runtime=self.style.runtime, message=message))

            stylizer = Stylizer.from_style(path, self.config.device, runtime=self.config.runtime, progress=progress)
            if stylizer.notice:
                self._error(stylizer.notice)
            self._stylizers[key] = stylizer
        return self._stylizers[key]

    def _thumbnails(self) -> None:
        """Only styles without a thumbnail yet, or changed since theirs was made (torch: no one-time build)."""
        photo = None
        for name, info in installed_styles().items():
            if info.path is None or self._closed:
                continue
            mtime = info.path.stat().st_mtime_ns
            if self._thumbnailed.get(str(info.path)) == mtime:
                continue
            photo = _thumbnail_photo() if photo is None else photo
            try:
                image = Stylizer.from_style(info.path, "cpu", runtime="torch").stylize_image(photo)
            except NstVideoError as exc:
                log.info("no thumbnail for %s: %s", name, exc)
                continue
            self._thumbnailed[str(info.path)] = mtime
            self._emit("thumbnail", name, image)

    # -- control thread: recording, snapshots, virtual camera ------------------------------------------

    def _attach(self, sink: BackgroundSink, role: str) -> None:
        with self._lock:
            self._sinks.append(sink)
            setattr(self, role, sink)

    def _detach(self, role: str, sink: BackgroundSink | None = None) -> BackgroundSink | None:
        """Take the recorder or virtual camera (``role``) off the stream; any thread may call it."""
        with self._lock:
            current = getattr(self, role)
            if current is None or (sink is not None and current is not sink):
                return None
            setattr(self, role, None)
            if current in self._sinks:
                self._sinks.remove(current)
            return current

    def _start_recording(self, path: Path | None) -> None:
        if self._recorder is not None:
            return
        folder = self.config.record_dir or Path(platformdirs.user_videos_dir()) / "nstvideo"
        path = path or _timestamped(folder, ".mp4")
        problem = None
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            problem = InputError(f"cannot record to {path.name}: name it {', '.join(VIDEO_SUFFIXES)}", path)
        elif path.exists():
            problem = OutputExistsError(path)
        if problem is not None:
            self._emit("recording", RecordingState(False, path, message=str(problem)))
            raise problem
        rate = Fraction(30)
        with self._lock:
            if self._capture is not None and self._capture.fps:
                rate = Fraction(self._capture.fps).limit_denominator(1001)
        started = time.monotonic()
        holder: list[BackgroundSink] = []

        def make() -> VideoWriter:
            return VideoWriter(path, crf=self.config.record_crf, preset=self.config.record_preset,
                               frame_rate=rate, rebase=True)

        def closed(sink, error) -> None:  # on the recorder's thread
            recorder = holder[0]
            self._detach("_recorder", recorder)
            written = isinstance(sink, VideoWriter) and sink.written
            message = f"recording stopped: {error}" if error else ""
            self._emit("recording", RecordingState(False, path, started, recorder.frames, recorder.dropped,
                                                   written, message))
            if error:
                self._error(message)

        # Not a daemon: a process that exits right after shutdown() still lets the file be finished.
        recorder = BackgroundSink(make, queue_size=self.config.record_queue, on_closed=closed,
                                  name="nstvideo-recorder", daemon=False)
        holder.append(recorder)
        self._attach(recorder, "_recorder")
        self._emit("recording", RecordingState(True, path, started))

    def _stop_recording(self) -> None:
        recorder = self._detach("_recorder")
        if recorder is not None:
            recorder.close(RECORDER_FINISH_S)  # flushes x264 and renames the file; ``closed`` reports it

    def _snapshot(self, path: Path | None, original: bool) -> None:
        frame = self._latest.peek()
        if frame is None:
            raise InputError("nothing to snapshot yet: wait for the first frame")
        image = frame.original if original and frame.original is not None else frame.image
        folder = self.config.snapshot_dir or Path(platformdirs.user_pictures_dir()) / "nstvideo"
        path = path or _timestamped(folder, "-original.png" if original else ".png")
        self._emit("snapshot", write_image(path, image))

    def _set_virtual_camera(self, on: bool) -> None:
        if not on:
            vcam = self._detach("_vcam")
            if vcam is not None:
                vcam.close()
            return
        if self._vcam is not None:
            return
        if (reason := unavailable_reason()) is not None:
            self._emit("virtual_camera", VirtualCameraState(False, message=reason))
            raise NstVideoError(reason)
        holder: list[BackgroundSink] = []

        def closed(sink, error) -> None:  # on the virtual camera's thread
            self._detach("_vcam", holder[0])
            self._emit("virtual_camera", VirtualCameraState(False, message=str(error) if error else ""))
            if error:
                self._error(str(error))

        vcam = BackgroundSink(VirtualCamera, queue_size=2, on_closed=closed, name="nstvideo-vcam")
        holder.append(vcam)
        self._attach(vcam, "_vcam")
        self._emit("virtual_camera", VirtualCameraState(True))

    # -- paint thread -----------------------------------------------------------------------------------

    def _paint_loop(self) -> None:
        last: tuple[int, int] | None = None  # (generation, index) of the previous frame: gaps are drops
        painter = _Painter(self._error)
        while not self._stopping.is_set():
            with self._lock:
                capture, generation = self._capture, self._generation
            if capture is None:
                self._stopping.wait(0.02)
                continue
            try:
                frame = capture.read(timeout=0.1)
            except TimeoutError:
                continue
            except CaptureError as exc:
                self._clear_capture(capture)
                self._post(self._source_failed, generation, exc)
                continue
            if frame is None:
                if self._clear_capture(capture):
                    self._post(self._source_ended, generation)
                continue
            produced = frame.index - last[1] if last and last[0] == generation else 1
            last = (generation, frame.index)
            self._meter.frame_in(produced)
            if produced > 1:
                self._meter.drop(produced - 1)
            frame = frame.retimed(capture.started_at + frame.timestamp - self._t0)
            with self._lock:
                stylizer, options, sinks = self._stylizer, self._options, tuple(self._sinks)
                auto = self._auto_brush
                if auto:
                    options = replace(options, brush=self._auto_level)
                stabilize = self._stabilize
            painted, spent = painter.paint(frame, generation, stylizer, options, stabilize)
            self._meter.frame_out(spent)
            if auto and spent is not None:
                level = painter.pace.observe(options.brush, spent, capture.fps)
                if level is not None:
                    with self._lock:
                        if self._auto_brush:
                            self._auto_level = level
            if not self._latest.put(painted):
                self._meter.drop()
            for sink in sinks:
                sink.write(painted)
            self._emit("frame")

    def _clear_capture(self, capture: Capture) -> bool:
        """Forget ``capture`` if it is still the current one (so the paint loop stops reading it)."""
        with self._lock:
            if self._capture is not capture:
                return False
            self._capture = None
            return True


class _Painter:
    """The paint thread's state from one frame to the next: the automatic brush's measurements (``pace``)
    and the stabilizer, each started afresh when what it measured or followed changes."""

    def __init__(self, on_error: Callable[[str], None]):
        self.pace = AutoBrush()
        self._on_error = on_error
        self._paced: tuple = ()  # (source generation, stylizer) that ``pace`` measured
        self._steady: Stabilizer | None = None
        self._followed: tuple = ()  # what the stabilizer's previous frame came from; () after a gap
        self._warned: FrameStylizer | None = None

    def paint(self, frame: Frame, generation: int, stylizer: FrameStylizer | None, options: StyleOptions,
              stabilize: float) -> tuple[Frame, float | None]:
        """The painted frame, and the seconds it took (None when it was not painted)."""
        if (generation, stylizer) != self._paced:
            self.pace.reset()
            self._paced = (generation, stylizer)
        if stylizer is None or options.strength <= 0:
            self._followed = ()
            return frame.with_image(frame.image), None
        started = time.perf_counter()
        try:
            image = stylizer.stylize_images(frame.image[None], options)[0]
            if stabilize:
                if self._steady is None or self._steady.strength != stabilize:
                    self._steady = Stabilizer(stabilize)
                if self._followed != (generation, stylizer, options):
                    self._steady.reset()  # never blended with a frame of another source, style or brush
                    self._followed = (generation, stylizer, options)
                image = self._steady.apply(frame.image, image)
            else:
                self._followed = ()
        except Exception as exc:  # e.g. out of memory: show the unpainted frame, say so once
            self._followed = ()
            if self._warned is not stylizer:
                self._warned = stylizer
                self._on_error(f"painting failed ({exc}); showing the unpainted video")
            return frame.with_image(frame.image), None
        return frame.with_image(image), time.perf_counter() - started


def _is_live(source: int | str) -> bool:
    """A camera or a stream: reconnected when lost; a file instead ends (and loops)."""
    return isinstance(source, int) or is_stream_url(source)


def _thumbnail_photo() -> np.ndarray:
    """A square from the demo clip's first frame: every style's thumbnail paints the same picture."""
    cap = cv2.VideoCapture(str(demo_clip()))
    try:
        ok, image = cap.read()
    finally:
        cap.release()
    if not ok:
        image = np.full((THUMBNAIL_SIDE, THUMBNAIL_SIDE, 3), 128, np.uint8)
    h, w = image.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    square = image[y0:y0 + side, x0:x0 + side]
    return cv2.resize(square, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), interpolation=cv2.INTER_AREA)
