"""The ``convert`` job: video files in, stylized H.264 MP4s out, audio kept.

Streaming: PyAV demuxes packets one at a time; video frames are stylized in batches of ``batch_size``
and encoded straight away; audio packets go to the output as they come. Memory therefore depends on the
frame size and the batch, never on the length of the video.

What is kept: every decoded frame with its own pts (the source's time base is reused, so variable frame
rates survive exactly), the colours (decoded and encoded with the input's matrix and range, and tagged
so; see ``colour``), the sample aspect ratio, the rotation metadata, and the first audio stream (copied when the output
container plays it, else re-encoded to AAC). What is not: other audio tracks, subtitles, chapters.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..core.errors import DecodeError, InputError, NstVideoError, OutputExistsError
from ..core.images import (IMAGE_SUFFIXES, check_name_length, check_target, refuse_overwriting_input,
                           resize_max_side)
from ..core.stabilize import Stabilizer, check_strength
from ..core.stylize import StyleOptions, Stylizer
from .colour import Colour
from .frame import Frame
from .integrity import truncation
from .writer import VideoWriter

log = logging.getLogger(__name__)

OUTPUT_SUFFIX = ".mp4"
# On a 2-core CPU x264 shares the cores with the painting, so each core-ms it spends is a frame-rate loss:
# on stylized 640x360 frames "veryfast" takes 8.5 core-ms a frame against "faster"'s 12 and "medium"'s 18,
# for files about 9% larger at the same quality (BENCHMARKS.md, "Convert: where the CPU goes").
DEFAULT_PRESET = "veryfast"
MAX_RATE_HINT = 1000
# A file whose packets end this much before its declared duration was cut off (a Matroska file's cues
# and the last cluster can go without the header noticing). Slack for muxers that round the duration.
DURATION_SLACK_S = 0.5


@dataclass(frozen=True)
class ConvertConfig:
    """One ``convert`` job. Exactly one of ``output`` (a file, one input only) and ``out_dir``."""

    inputs: tuple[Path, ...]
    style: str | Path
    output: Path | None = None
    out_dir: Path | None = None
    max_side: int | None = None
    crf: int = 18
    preset: str = DEFAULT_PRESET
    options: StyleOptions = field(default_factory=StyleOptions)
    device: str = "auto"
    runtime: str = "auto"  # one of core.device.RUNTIME_CHOICES
    batch_size: int = 4
    overwrite: bool = False
    stabilize: float | None = None  # a core.stabilize.Stabilizer strength; None: off
    keep_partial: bool = False  # a truncated or damaged input still fails, but what could be read is kept

    def __post_init__(self) -> None:
        check_target(self.output, self.out_dir, len(self.inputs))
        if self.stabilize is not None:
            check_strength(self.stabilize)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")

    def output_for(self, source: Path, style_name: str) -> Path:
        if self.output is not None:
            return self.output
        return self.out_dir / f"{source.stem}_{style_name}{OUTPUT_SUFFIX}"


@dataclass
class ConvertSummary:
    """What ``convert_files`` did: outputs by input, errors by input, and whether it was stopped early."""

    written: dict[Path, Path] = field(default_factory=dict)
    failed: dict[Path, NstVideoError] = field(default_factory=dict)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe`` learns from a video file before converting it."""

    width: int
    height: int
    time_base: Fraction
    frames: int | None  # as the container declares it; None when unknown
    rate_hint: Fraction | None  # the declared rate when plausible; never used for timestamps
    rotation: int  # display rotation, degrees counter-clockwise
    audio_codec: str | None
    colour: Colour  # of the first frame: its tags, or what a player assumes for an untagged video
    sample_aspect_ratio: Fraction | None  # of the pixels; None when square or unknown
    damage: str | None = None  # why the file is incomplete (probed with keep_partial), else None


class Cancelled(Exception):
    """Raised inside ``convert_file`` when ``should_stop()`` said so; ``convert_files`` catches it."""


def open_video(path: Path) -> av.container.InputContainer:
    """Open a video file for reading; refuses what is not one: folders, FIFOs and devices (which would block
    the open forever), empty files, still images whatever their name, files FFmpeg cannot read."""
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path", path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; name a video file", path)
    if not path.is_file():
        raise InputError(f"{path} is not a regular file (a FIFO, socket or device); name a video file", path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(f"{path} is a still image; stylize it with 'nstvideo stylize'", path)
    if path.stat().st_size == 0:
        raise DecodeError(f"{path} is empty (0 bytes); name a video file, or re-download it", path)
    try:
        container = av.open(str(path), metadata_errors="replace")  # a damaged title must not stop it
    except av.FFmpegError as exc:
        if (damage := truncation(path)) is not None:
            raise damaged_error(path, damage) from exc
        raise DecodeError(f"{path} is not a video file FFmpeg can read ({exc.strerror}); check the file", path) from exc
    kind = container.format.name
    if kind == "image2" or (kind.endswith("_pipe") and kind != "gif_pipe"):
        container.close()
        raise InputError(f"{path} is a still image ({kind.removesuffix('_pipe')}), whatever its name; "
                         "stylize it with 'nstvideo stylize'", path)
    return container


def video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise DecodeError(f"{path} has no video stream; name a video file", path)
    return container.streams.video[0]


def decode_error(path: Path, exc: Exception) -> DecodeError:
    detail = getattr(exc, "strerror", None) or exc
    return DecodeError(f"{path} is corrupt or truncated ({detail}); re-encode or re-download it", path)


def damaged_error(path: Path, damage: str) -> DecodeError:
    """``damage``: a phrase from ``integrity.truncation`` or ``convert_file`` ("truncated: ...")."""
    return DecodeError(f"{path} is {damage}; re-download or re-export it (--keep-partial keeps the frames "
                       "that can be read)", path)


def probe(path: str | Path, *, keep_partial: bool = False) -> VideoInfo:
    """Open ``path`` and decode its first frame; raises ``InputError`` / ``DecodeError`` when it is no video.

    A truncated or damaged file raises too, unless ``keep_partial``: then ``damage`` says what is wrong.
    """
    path = Path(path)
    with open_video(path) as container:
        damage = truncation(path, container.format.name)
        if damage and (not keep_partial or not container.streams.video):
            raise damaged_error(path, damage)
        stream = video_stream(container, path)
        try:
            first = next(container.decode(stream), None)
        except av.FFmpegError as exc:
            raise decode_error(path, exc) from exc
        damage = damage or _index_past_end(path, stream)
        if damage and (not keep_partial or first is None):
            raise damaged_error(path, damage)
        if first is None:
            raise DecodeError(f"{path} has a video stream but no frame could be decoded; check the file", path)
        rate = stream.guessed_rate or stream.average_rate
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return VideoInfo(
            width=first.width, height=first.height, time_base=stream.time_base, frames=stream.frames or None,
            rate_hint=rate if rate and 0 < rate <= MAX_RATE_HINT else None,
            rotation=round(first.rotation or 0), audio_codec=audio, colour=Colour.of_frame(first),
            sample_aspect_ratio=_sample_aspect_ratio(stream), damage=damage,
        )


def _sample_aspect_ratio(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The container's pixel aspect ratio, else the codec's (the H.264 VUI); None for square or unknown."""
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return Fraction(sar) if sar and sar > 0 and sar != 1 else None


def _index_past_end(path: Path, stream: av.video.stream.VideoStream) -> str | None:
    """Whether the container's index points past the end of the file (a cut-off download).

    Only containers with an index up front (MP4/MOV with the moov first, MKV with cues) can be checked
    here; ``convert_file`` also counts the packets it actually got.
    """
    ends = [entry.pos + entry.size for entry in stream.index_entries if entry.pos >= 0]
    if ends and max(ends) > path.stat().st_size:
        return "truncated: its index points past the end of the file"
    return None


def _shortfall(container: av.container.InputContainer, streams: list, packets: int, expected_packets: int,
               end: float, corrupt: int, decoded: int) -> str | None:
    """What is missing from a file that was read to its end, as a phrase for ``damaged_error``; or None.

    ``end``: where the last video or audio packet ends (seconds); ``corrupt``: frames the decoder flagged.
    """
    if expected_packets and packets < expected_packets:
        return f"truncated: {packets} of {expected_packets} video packets are there"
    declared = [float(((s.start_time or 0) + s.duration) * s.time_base) for s in streams if s.duration]
    if not declared and container.duration:
        declared = [((container.start_time or 0) + container.duration) / av.time_base]
    if declared and end < max(declared) - DURATION_SLACK_S:
        return f"truncated: it declares {max(declared):.1f} s but ends at {end:.1f} s"
    if corrupt:
        return f"damaged: {corrupt} of {decoded} frames have errors"
    return None


def output_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) of the stylized frames: shrunk like ``resize_max_side`` does it, never enlarged.

    The same arithmetic and rounding as ``nstvideo.core.images.resize_max_side`` (a test holds them equal).
    """
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def convert_file(source: str | Path, target: str | Path, stylizer: Stylizer, config: ConvertConfig, *,
                 info: VideoInfo | None = None,
                 on_frames: Callable[[int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> Path:
    """Stylize one video into ``target``; nothing appears at ``target`` unless it succeeds.

    ``info``: what ``probe(source)`` returned, when the caller has it already (else it is probed here).
    ``on_frames(n)`` reports progress after each batch; ``should_stop()`` is checked before each batch
    and raises ``Cancelled``. Raises ``InputError``/``DecodeError`` for a bad input, ``OutputExistsError``
    when ``target`` exists and ``config.overwrite`` is off, ``EncodeError`` when writing fails.

    A truncated or damaged input (cut off, fewer packets or seconds than it declares, frames the decoder
    flags as corrupt, a decoding error) raises ``DecodeError``; with ``config.keep_partial`` the frames
    that could be read are written to ``target`` first, and the error says so.
    """
    source, target = Path(source), Path(target)
    if target.exists() and not config.overwrite:
        raise OutputExistsError(target)  # before any decoding
    if info is None:
        info = probe(source, keep_partial=config.keep_partial)
    width, height = output_size(info.width, info.height, config.max_side)
    with open_video(source) as container:
        video = video_stream(container, source)
        video.thread_type = "AUTO"
        audio = container.streams.audio[0] if container.streams.audio else None
        streams = [s for s in (video, audio) if s is not None]
        with VideoWriter(target, size=(width, height), crf=config.crf, preset=config.preset,
                         time_base=video.time_base, frame_rate=info.rate_hint, rotation=info.rotation,
                         audio=audio, overwrite=config.overwrite, colour=info.colour,
                         sample_aspect_ratio=info.sample_aspect_ratio) as writer:
            decoder = _Decoder(container, video, audio, info, config.max_side, config.keep_partial)
            try:
                encoder = _Encoder(writer)
                try:
                    _paint(decoder, encoder, stylizer, config, on_frames, should_stop)
                    encoder.finish()
                finally:
                    encoder.stop()  # before the writer's block discards and closes what it writes into
            finally:
                decoder.stop()
            if decoder.failure is not None:
                raise decoder.failure
            if decoder.error is not None:
                raise decode_error(source, decoder.error) from decoder.error
            result = decoder.result
            if result.decoded == 0:
                raise DecodeError(f"{source}: no video frame could be decoded; check the file", source)
            damage = info.damage or result.damage or _shortfall(
                container, streams, result.packets, len(video.index_entries), result.end, result.corrupt,
                result.decoded)
            if damage and not config.keep_partial:
                raise damaged_error(source, damage)  # inside the writer's block: the output is discarded
    if damage:
        raise DecodeError(f"{source} is {damage}: the {result.decoded} frames that could be read are in {target}, "
                          "which is incomplete", source)
    log.info("%s: %d frames -> %s", source, result.decoded, target)
    return target


# Decoding, painting and encoding run on three threads, so a file converts at the rate of the slowest of
# them (painting, where it matters) instead of their sum. Bounded queues: a slow stage stops the one
# before it instead of letting frames pile up in memory.
QUEUE_ITEMS = 16
_END = object()
_POLL_S = 0.1


def _put(q: queue.Queue, item, stopping: threading.Event) -> bool:
    """Put ``item`` unless ``stopping`` is set first (the other side gave up): False then."""
    while not stopping.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


@dataclass
class _Decoded:
    decoded: int = 0
    packets: int = 0
    corrupt: int = 0
    end: float = 0.0  # where the video and audio packets read so far end, in seconds
    damage: str | None = None


class _Decoder:
    """Demuxes and decodes on its own thread: ``("frame", Frame)`` and ``("audio", packet)`` items in file
    order, then ``_END``. A decoding error ends the stream: kept in ``error`` (or, with ``keep_partial``,
    described in ``result.damage``); anything else that stops it, in ``failure``."""

    def __init__(self, container, video, audio, info: VideoInfo, max_side: int | None, keep_partial: bool):
        self.items: queue.Queue = queue.Queue(QUEUE_ITEMS)
        self.result = _Decoded()
        self.error: av.FFmpegError | None = None
        self.failure: BaseException | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nstvideo-convert-decode", daemon=True,
                                        args=(container, video, audio, info, max_side, keep_partial))
        self._thread.start()

    def _run(self, container, video, audio, info: VideoInfo, max_side: int | None, keep_partial: bool) -> None:
        r, previous = self.result, None
        try:
            for packet in container.demux([s for s in (video, audio) if s is not None]):
                if packet.pts is not None:
                    r.end = max(r.end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
                if audio is not None and packet.stream.index == audio.index:
                    if not _put(self.items, ("audio", packet), self._stopping):
                        return
                    continue
                if packet.size:
                    r.packets += 1
                for decoded_frame in packet.decode():
                    r.corrupt += decoded_frame.is_corrupt
                    timestamp = previous = timestamp_of(decoded_frame, previous, info.rate_hint)
                    image = resize_max_side(info.colour.to_bgr(decoded_frame), max_side)
                    if not _put(self.items, ("frame", Frame(image, timestamp, r.decoded)), self._stopping):
                        return
                    r.decoded += 1
        except av.FFmpegError as exc:
            if keep_partial:
                r.damage = f"damaged (decoding stopped: {getattr(exc, 'strerror', None) or exc})"
            else:
                self.error = exc
        except BaseException as exc:  # noqa: BLE001 - raised again on the calling thread
            self.failure = exc
        finally:
            _put(self.items, _END, self._stopping)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


class _Encoder:
    """Writes frames and audio packets to ``writer`` on its own thread, in the order they are given."""

    def __init__(self, writer: VideoWriter):
        self.items: queue.Queue = queue.Queue(QUEUE_ITEMS)
        self.error: BaseException | None = None
        self._writer = writer
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nstvideo-convert-encode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    item = self.items.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                kind, payload = item
                if kind == "frame":
                    self._writer.write(payload)
                else:
                    self._writer.write_audio(payload)
        except BaseException as exc:  # noqa: BLE001 - raised again on the painting thread
            self.error = exc
            self._stopping.set()

    def put(self, kind: str, payload) -> None:
        _put(self.items, (kind, payload), self._stopping)  # refused only once writing has failed
        if self.error is not None:
            raise self.error

    def finish(self) -> None:
        """Waits until everything given is written; raises what writing raised."""
        _put(self.items, _END, self._stopping)
        self._thread.join()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Ends the thread without writing what is still queued (the output is being discarded)."""
        self._stopping.set()
        self._thread.join()


def _paint(decoder: _Decoder, encoder: _Encoder, stylizer: Stylizer, config: ConvertConfig,
           on_frames: Callable[[int], None] | None, should_stop: Callable[[], bool] | None) -> None:
    """The calling thread's part: batches of decoded frames through the network (and the stabilizer)."""
    batch: list[Frame] = []
    stabilizer = Stabilizer(config.stabilize) if config.stabilize is not None else None

    def flush() -> None:
        if should_stop and should_stop():
            raise Cancelled
        if not batch:
            return
        images = np.stack([f.image for f in batch])
        for frame, image in zip(batch, stylizer.stylize_images(images, config.options)):
            if stabilizer is not None:  # in frame order, after stylization
                image = stabilizer.apply(frame.image, image)
            encoder.put("frame", frame.with_image(image))
        if on_frames:
            on_frames(len(batch))
        batch.clear()

    while (item := decoder.items.get()) is not _END:
        kind, payload = item
        if kind == "audio":
            encoder.put("audio", payload)
            continue
        batch.append(payload)
        if len(batch) >= config.batch_size:
            flush()
    flush()


def timestamp_of(frame: av.VideoFrame, previous: float | None, rate: Fraction | None) -> float:
    """pts x time_base; a frame without pts follows the previous one by one nominal frame."""
    if frame.pts is not None:
        return float(frame.pts * frame.time_base)
    if previous is None:
        return 0.0
    return previous + float(1 / (rate or 30))


def convert_files(config: ConvertConfig, *,
                  on_start: Callable[[Path, int | None], None] | None = None,
                  on_frames: Callable[[int], None] | None = None,
                  on_done: Callable[[Path, Path | NstVideoError], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> ConvertSummary:
    """Convert every input; a failed input is reported and skipped, the others are still converted.

    ``on_start(source, frames or None)`` before each file, ``on_frames(n)`` while it runs, ``on_done(source,
    output path or error)`` after it. A style that cannot be loaded raises (nothing could be converted).
    Inputs with the same output name (``a/clip.mp4`` and ``b/clip.mp4``) never overwrite each other, not
    even with ``overwrite``: once one of them is converted, the later ones fail with an ``InputError``.
    """
    stylizer = Stylizer.from_style(config.style, config.device, runtime=config.runtime)
    summary = ConvertSummary()
    written_by: dict[Path, Path] = {}  # resolved output -> the input converted into it in this call
    for source in map(Path, config.inputs):
        target = config.output_for(source, stylizer.name)
        result: Path | NstVideoError
        info: VideoInfo | None = None
        try:
            check_name_length(target)  # before anything asks the file system about it
            refuse_overwriting_input(source, target)
            if (earlier := written_by.get(target.resolve())) is not None:
                raise InputError(f"{source} would be written to {target}, which {earlier} was just converted to; "
                                 "rename one of them or convert them in separate runs", source)
            info = probe(source, keep_partial=config.keep_partial)
        except NstVideoError as exc:
            result = exc
        if on_start:
            on_start(source, info.frames if info else None)
        if info is not None:
            try:
                result = convert_file(source, target, stylizer, config, info=info,
                                      on_frames=on_frames, should_stop=should_stop)
                written_by[target.resolve()] = source
            except Cancelled:
                summary.cancelled = True
                break
            except NstVideoError as exc:
                result = exc
        if isinstance(result, NstVideoError):
            summary.failed[source] = result
        else:
            summary.written[source] = result
        if on_done:
            on_done(source, result)
    return summary
