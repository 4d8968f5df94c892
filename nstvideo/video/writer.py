"""Writing frames to an H.264 (yuv420p) video file with PyAV: a sink, and the encoder of ``convert``.

Timestamps: each ``Frame.timestamp`` (seconds) becomes a pts in an explicit ``time_base``; the frame count
is never used to work out time, so variable frame rates survive. Pass the source's own time base to keep
its pts exactly.

Colour: frames are converted to Y'CbCr with the ``colour`` given (``convert`` passes the input's) or, for
a recording, with what a player assumes for an untagged video of that size, and the file is tagged with it
(see ``nstvideo.video.colour``). ``sample_aspect_ratio`` is written too, so anamorphic video keeps its shape.

Odd sizes: 4:2:0 chroma covers 2x2 pixels, so H.264 yuv420p cannot code an odd width or height (libx264
refuses it). Such frames are padded by one row and/or column that repeats the edge: every input pixel
is kept and the picture is not resampled, at the cost of a 1-pixel-larger output (321x241 -> 322x242).

The file appears only when complete: it is written under a temporary name beside the target (see
``nstvideo.core.images.atomic_output``) and renamed on ``close()``; ``discard()`` (or leaving a ``with``
block by an exception) deletes it instead. ``close()`` flushes the encoder, so a closed file always plays.
"""
from __future__ import annotations

import logging
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..core.errors import EncodeError
from ..core.images import atomic_output
from .colour import Colour
from .frame import Frame
from .sinks import SinkBase

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
DEFAULT_TIME_BASE = Fraction(1, 90_000)
DEFAULT_FRAME_RATE = Fraction(30)
# Audio codecs copied without re-encoding, by container; anything else becomes AAC. MP4/MOV accept more
# in theory (Vorbis, PCM), but players do not, and the point of the file is to play.
AUDIO_COPY = {
    ".mp4": {"aac", "mp3", "ac3", "eac3", "opus", "alac", "flac"},
    ".m4v": {"aac", "mp3", "ac3", "eac3", "alac"},
    ".mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_s24be"},
    ".mkv": None,  # None: whatever the muxer accepts
}


def even_size(width: int, height: int) -> tuple[int, int]:
    """The frame size the yuv420p encoder gets for a ``width`` x ``height`` picture (see the module doc)."""
    return width + width % 2, height + height % 2


class VideoWriter(SinkBase):
    """An H.264 yuv420p file fed ``Frame``s, optionally with one audio stream taken from an input file.

    ``size``: (width, height) of the frames; without it the first frame decides (not allowed with
    ``audio``). Frames of another size are resized to it. ``time_base``: of the pts, e.g. the source
    stream's. ``frame_rate``: a hint for rate control and the last frame's duration, not for timestamps.
    ``rebase``: make the first frame's timestamp 0 (a recording that starts mid-stream). ``rotation``:
    display rotation in degrees counter-clockwise, written as container metadata. ``audio``: a PyAV input
    audio stream whose packets come through ``write_audio``: copied when the container takes the codec,
    else re-encoded to AAC. ``colour``: the matrix, range and tags to code with (default: by the size).
    ``sample_aspect_ratio``: of the pixels, for anamorphic video (default: square, untagged).
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int] | None = None, crf: int = 18,
                 preset: str = "medium", time_base: Fraction = DEFAULT_TIME_BASE,
                 frame_rate: Fraction | None = None, rebase: bool = False, rotation: float = 0,
                 audio: "av.audio.stream.AudioStream | None" = None, overwrite: bool = False,
                 colour: Colour | None = None, sample_aspect_ratio: Fraction | None = None):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise EncodeError(f"cannot write a {suffix or 'suffix-less'} video: name the output "
                              f"{', '.join(VIDEO_SUFFIXES)}", self.path)
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be between 0 and 51, got {crf}")
        if preset not in X264_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(X264_PRESETS)}, got {preset!r}")
        if audio is not None and size is None:
            raise ValueError("a VideoWriter with audio needs the frame size up front")
        self.size = size
        self.crf, self.preset = crf, preset
        self.time_base = Fraction(time_base)
        self.frame_rate = Fraction(frame_rate) if frame_rate else DEFAULT_FRAME_RATE
        self.rebase = rebase
        self.rotation = rotation
        self.colour = colour
        self.sample_aspect_ratio = sample_aspect_ratio
        self.frames_written = 0
        self.written = False  # True once close() has put a complete file at ``path``
        self._offset: float | None = None if rebase else 0.0
        self._last_pts: int | None = None
        self._video: av.video.stream.VideoStream | None = None
        self._audio_in = audio
        self._audio_out: av.audio.stream.AudioStream | None = None
        self._audio_copy = False
        self._done = False
        self._files = ExitStack()
        self._tmp = self._files.enter_context(atomic_output(self.path, overwrite))
        try:
            self._container = av.open(str(self._tmp), "w")
            self._files.callback(self._container.close)
            if size is not None:
                self._add_video(*size)
            if audio is not None:
                self._add_audio(audio, suffix)
        except (av.FFmpegError, OSError) as exc:
            self.discard()
            raise EncodeError(f"cannot write {self.path}: {exc}", self.path) from exc
        except BaseException:
            self.discard()
            raise

    # -- sink -------------------------------------------------------------------------------------------

    def write(self, frame: Frame) -> None:
        if self._done:
            raise EncodeError(f"{self.path} is already closed; start a new recording", self.path)
        image = frame.image
        if self._video is None:
            self.size = (image.shape[1], image.shape[0])
            self._wrap(self._add_video, *self.size)
        width, height = self.size
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        pad_w, pad_h = self._video.width - width, self._video.height - height
        if pad_w or pad_h:
            image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        if self._offset is None:
            self._offset = frame.timestamp
        pts = round((frame.timestamp - self._offset) / self.time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # the muxer needs strictly increasing pts; a clash is a rounding artefact
        self._last_pts = pts
        video_frame = self.colour.to_yuv420p(np.ascontiguousarray(image))
        video_frame.pts = pts
        video_frame.time_base = self.time_base
        self._wrap(self._encode, self._video, video_frame)
        self.frames_written += 1

    def write_audio(self, packet: av.Packet) -> None:
        """One packet demuxed from the ``audio`` stream given at construction (empty flush packets too)."""
        if self._audio_out is None or self._done:
            return
        if self._audio_copy:
            if packet.dts is None or packet.size == 0:
                return
            packet.stream = self._audio_out
            self._wrap(self._container.mux, packet)
        else:
            self._wrap(self._transcode_audio, packet)

    def close(self) -> None:
        """Flush the encoders and put the finished file at ``path``. Safe to call twice.

        With no frame written there is nothing to play: no file is made and ``written`` stays False.
        """
        if self._done:
            return
        if self._video is None:
            log.info("no frame was written; %s not created", self.path)
            self.discard()
            return
        self._done = True
        try:
            self._encode(self._video, None)
            if self._audio_out is not None and not self._audio_copy:
                self._encode(self._audio_out, None)
            self._files.close()  # closes the container (writes the index), then renames the temporary file
        except (av.FFmpegError, OSError) as exc:
            self._files.__exit__(type(exc), exc, exc.__traceback__)
            raise EncodeError(f"cannot finish {self.path}: {exc}; check the free disk space", self.path) from exc
        except BaseException as exc:
            self._files.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self.written = True

    def discard(self) -> None:
        """Stop and delete the temporary file; ``path`` is left as it was. Safe to call twice."""
        self._done = True
        exc = _Discard()
        self._files.__exit__(_Discard, exc, None)  # atomic_output deletes instead of renaming

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    # -- internals ----------------------------------------------------------------------------------------

    def _add_video(self, width: int, height: int) -> None:
        stream = self._container.add_stream("libx264", rate=self.frame_rate,
                                            options={"crf": str(self.crf), "preset": self.preset})
        stream.width, stream.height = even_size(width, height)
        stream.pix_fmt = "yuv420p"
        if self.colour is None:
            self.colour = Colour.default(width, height)
        self.colour.tag(stream.codec_context)
        if self.sample_aspect_ratio:
            stream.codec_context.sample_aspect_ratio = self.sample_aspect_ratio
        stream.codec_context.time_base = self.time_base
        stream.time_base = self.time_base
        if self.rotation:
            stream.set_display_rotation(self.rotation)
        self._video = stream

    def _add_audio(self, template: "av.audio.stream.AudioStream", suffix: str) -> None:
        allowed = AUDIO_COPY[suffix]
        name = template.codec_context.name
        if name in self._container.supported_codecs and (allowed is None or name in allowed):
            self._audio_out = self._container.add_stream_from_template(template)
            self._audio_copy = True
        else:
            log.info("audio %s cannot be copied into %s; re-encoding to AAC", name, suffix)
            self._audio_out = self._container.add_stream("aac", rate=template.codec_context.sample_rate or 48000,
                                                         layout=_named_layout(template.codec_context.layout))
        # Carry the language and title, not muxer-specific keys.
        for key in ("language", "title"):
            if key in template.metadata:
                self._audio_out.metadata[key] = template.metadata[key]

    def _encode(self, stream, frame) -> None:
        self._container.mux(stream.encode(frame))

    def _transcode_audio(self, packet: av.Packet) -> None:
        for audio_frame in self._audio_in.decode(packet if packet.size else None):
            self._encode(self._audio_out, audio_frame)

    def _wrap(self, fn, *args) -> None:
        try:
            fn(*args)
        except (av.FFmpegError, OSError) as exc:
            self.discard()
            raise EncodeError(f"cannot write {self.path}: {exc}", self.path) from exc


# FFmpeg's default layout for each channel count (av_channel_layout_default).
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0(side)", 6: "5.1(side)", 7: "6.1", 8: "7.1"}


def _named_layout(layout: "av.AudioLayout | None") -> str:
    """A layout the AAC encoder takes: MKV and WAV often say only "2 channels", which it refuses."""
    if layout is None:
        return "stereo"
    if not layout.name.endswith("channels"):
        return layout.name
    return _DEFAULT_LAYOUTS.get(len(layout.channels), "stereo")


class _Discard(Exception):
    """Never raised: handed to ``atomic_output`` so it deletes instead of renaming."""

