"""How a video's Y'CbCr samples map to the BGR pictures nstvideo works on, and the tags that say so.

A decoded frame is Y'CbCr; turning it into RGB needs a matrix (BT.601, BT.709, ...) and a range (limited
16-235 or full 0-255). The file should say which (its colour tags); when it says nothing, players guess
from the size, and so does nstvideo: BT.709 for HD, BT.601 for SD, with mpv's and Chromium's rule for
"HD" (width >= 1280 or height > 576). Converting with one matrix and playing with another shifts every
colour: pure green coded with BT.601 and shown as BT.709 comes out as (0, 214, 0).

``convert`` decodes with the input's ``Colour`` and encodes with the same one, tagged, so a player shows
the output as it showed the input. The primaries and transfer are only tags (nothing is converted
between gamuts): the stylized picture is in the input's RGB space.

Values are FFmpeg's enum numbers (``AVColorSpace``, ``AVColorRange``, ...), as PyAV gives them.
"""
from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
from av.video.reformatter import Interpolation

UNSPECIFIED = 2  # AVCOL_SPC / AVCOL_PRI / AVCOL_TRC _UNSPECIFIED
BT709 = 1
SMPTE170M = 6  # BT.601 (525 lines); BT470BG (5) is the same matrix
LIMITED, FULL = 1, 2  # AVCOL_RANGE_MPEG, AVCOL_RANGE_JPEG
# AVColorSpace -> the swscale matrix that converts it; matrices swscale cannot do are missing.
_SWS_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9}
# Rounded exactly: swscale's fast path is off by up to 4 levels on saturated colours.
_SCALE = Interpolation.BILINEAR | Interpolation.ACCURATE_RND


def is_hd(width: int, height: int) -> bool:
    """Whether a picture this size is HD, for an untagged file (mpv's and Chromium's rule)."""
    return width >= 1280 or height > 576


@dataclass(frozen=True)
class Colour:
    """The matrix, range, primaries and transfer of a video (FFmpeg enum values, never "unspecified"
    for the matrix and range)."""

    matrix: int
    full_range: bool
    primaries: int
    trc: int

    @classmethod
    def default(cls, width: int, height: int, full_range: bool = False) -> "Colour":
        """What an untagged ``width`` x ``height`` video is taken to be."""
        standard = BT709 if is_hd(width, height) else SMPTE170M
        return cls(standard, full_range, standard, standard)

    @classmethod
    def of_frame(cls, frame: av.VideoFrame) -> "Colour":
        """The colour of a decoded frame: its tags where they are usable, the size rule where not."""
        full = frame.color_range == FULL or (frame.color_range != LIMITED and frame.format.name.startswith("yuvj"))
        guess = cls.default(frame.width, frame.height, full)
        matrix = frame.colorspace if frame.colorspace in _SWS_MATRIX else guess.matrix
        if matrix != frame.colorspace:
            return guess  # untagged or a matrix swscale cannot do: take all four from the guess
        return cls(matrix, full,
                   frame.color_primaries if frame.color_primaries != UNSPECIFIED else guess.primaries,
                   frame.color_trc if frame.color_trc != UNSPECIFIED else guess.trc)

    @property
    def colour_range(self) -> int:
        return FULL if self.full_range else LIMITED

    def to_bgr(self, frame: av.VideoFrame) -> np.ndarray:
        """uint8 BGR HxWx3 of a decoded frame, converted with this matrix and range."""
        return frame.to_ndarray(format="bgr24", src_colorspace=_SWS_MATRIX[self.matrix],
                                src_color_range=self.colour_range, interpolation=_SCALE)

    def to_yuv420p(self, image: np.ndarray) -> av.VideoFrame:
        """A tagged yuv420p frame of a uint8 BGR image (even width and height)."""
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame = frame.reformat(format="yuv420p", dst_colorspace=_SWS_MATRIX[self.matrix],
                               dst_color_range=self.colour_range, interpolation=_SCALE)
        frame.colorspace, frame.color_range = self.matrix, self.colour_range
        frame.color_primaries, frame.color_trc = self.primaries, self.trc
        return frame

    def tag(self, codec_context: av.video.codeccontext.VideoCodecContext) -> None:
        """Write the tags into an encoder's context (they end up in the H.264 VUI and the container)."""
        codec_context.colorspace, codec_context.color_range = self.matrix, self.colour_range
        codec_context.color_primaries, codec_context.color_trc = self.primaries, self.trc
