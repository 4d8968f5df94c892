"""Flow-guided stabilization of stylized video, at inference: less flicker without retraining.

Per-frame stylization boils: the network answers small changes of the input (noise, compression) with
different strokes. Averaging each output with the previous one hides that but ghosts anything that moves.
Here the previous *output* is first moved onto the current frame with optical flow, so strokes follow the
content, and it is only blended in where that flow can be trusted:

* DIS flow (the "fast" preset) from the current original frame to the previous one, both shrunk so the
  longer side is ``flow_side`` (the flow is then upsampled);
* a pixel is trusted where the flow passes Lai et al.'s forward-backward check (``temporal.occlusion_mask``,
  which also drops motion boundaries) and the warped previous original matches the current one
  (a photometric check: new objects, lighting changes); elsewhere the new stylized frame is used alone;
* output = strength x warped previous output + (1 - strength) x new stylized frame on trusted pixels:
  a running average along motion paths, so the new frame always counts and nothing freezes; where the
  original did not change at all (a still background, a repeated frame) the previous output weighs at
  least ``HOLD_STRENGTH``, whatever the strength, so still areas stop boiling; the blend's local contrast
  is then matched to the new frame's, since averaging strokes that do not line up greys them out;
* a scene cut (the shrunk grey originals differ a lot on average, or too few pixels are trusted) starts
  afresh from the new frame, so nothing of one shot is carried into the next.

Frames are uint8 BGR HxWx3 (``pixels.py``); ``original`` and ``stylized`` may differ in size (a brush
stylizes at a reduced size; the output has the stylized frame's size). No threads: one instance per stream,
called in frame order.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import pixels, temporal
from .errors import ConfigError
from .images import resize_max_side

DEFAULT_STRENGTH = 0.7
MAX_STRENGTH = 0.95  # at 1 the output would never change again
FLOW_SIDE = 480  # the longer side of the frames the flow is computed on (320 misses more motion)
FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_FAST  # ultrafast's blocky flow fails the checks on a third of the pixels
# Photometric check: a trusted pixel's warped previous original is within this of the current one (0..1 grey).
PHOTOMETRIC_TOLERANCE = 0.08
# Where the warped previous original matches the current one to within this (0..1 grey), the content is
# unchanged there (a repeated frame, a still background): the previous output then weighs HOLD_STRENGTH.
UNCHANGED_TOLERANCE = 2 / pixels.MAX_U8
HOLD_STRENGTH = 0.9
# Scene cut: the shrunk grey originals differ by more than this on average (0..1), or fewer than
# MIN_TRUSTED of the pixels pass the checks.
CUT_MEAN_DIFFERENCE = 0.25
MIN_TRUSTED = 0.3
# Bicubic: a bilinear warp blurs the carried strokes a little more every frame they are carried.
WARP_INTERPOLATION = cv2.INTER_CUBIC
# The neighbourhood (px, odd) over which a blend's stroke contrast is matched to the new frame's.
CONTRAST_WINDOW = 9


def check_strength(strength: float) -> float:
    if not 0.0 <= strength <= MAX_STRENGTH:
        raise ConfigError(f"the stabilization strength must be between 0 (off) and {MAX_STRENGTH}, got {strength}")
    return float(strength)


class Stabilizer:
    """``apply(original, stylized) -> output`` once per frame, in order; ``reset()`` when the source changes.

    ``strength`` (0..0.95) is the weight of the previous output where the flow is trusted; 0 returns the
    stylized frames unchanged. ``keep_contrast=False`` leaves out the contrast step (to measure what it
    does). ``cuts`` counts the scene cuts detected so far and ``trusted`` is the share
    of pixels blended in the last frame (0 on the first frame and after a cut).
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH, *, flow_side: int = FLOW_SIDE, keep_contrast: bool = True):
        self.strength = check_strength(strength)
        self.keep_contrast = keep_contrast
        self.flow_side = flow_side
        self._dis = temporal.make_flow(FLOW_PRESET)
        self.cuts = 0
        self.trusted = 0.0
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame: the next ``apply`` returns its stylized frame as it is."""
        self._small: np.ndarray | None = None  # the previous original, shrunk
        self._output: np.ndarray | None = None  # the previous output
        self.trusted = 0.0

    def apply(self, original: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """The stabilized version of ``stylized`` (a new array; the inputs are not changed)."""
        small = resize_max_side(original, self.flow_side)
        previous, previous_output = self._small, self._output
        self._small = small
        if (self.strength == 0.0 or previous is None or previous.shape != small.shape
                or previous_output.shape != stylized.shape):
            return self._start(stylized)
        grey, previous_grey = (cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in (small, previous))
        if cv2.absdiff(grey, previous_grey).mean() > CUT_MEAN_DIFFERENCE * pixels.MAX_U8:
            return self._cut(stylized)
        to_previous, from_previous = temporal.flows(self._dis, small, previous)
        trusted = ~temporal.occlusion_mask(to_previous, from_previous)
        matched = cv2.absdiff(temporal.warp(previous_grey, to_previous), grey)
        trusted &= matched <= PHOTOMETRIC_TOLERANCE * pixels.MAX_U8
        self.trusted = float(trusted.mean())
        if self.trusted < MIN_TRUSTED:
            return self._cut(stylized)
        h, w = stylized.shape[:2]
        flow = cv2.resize(to_previous, (w, h), interpolation=cv2.INTER_LINEAR)
        flow *= np.array([w / small.shape[1], h / small.shape[0]], np.float32)
        # Shrink the trusted area by a pixel before softening its edge, so the blend never reaches into
        # an occlusion (where it would ghost) and shows no seam.
        weight = cv2.erode(trusted.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
        weight = cv2.GaussianBlur(weight, (5, 5), 0)
        unchanged = cv2.GaussianBlur(matched, (5, 5), 0) <= UNCHANGED_TOLERANCE * pixels.MAX_U8
        weight *= np.where(unchanged, max(self.strength, HOLD_STRENGTH), self.strength).astype(np.float32)
        weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
        warped = temporal.warp(previous_output, flow, WARP_INTERPOLATION)
        new = stylized.astype(np.float32)
        blended = cv2.blendLinear(warped.astype(np.float32), new, weight, 1.0 - weight)
        if self.keep_contrast:
            blended = _restore_contrast(blended, new, weight)
        self._output = np.clip(blended + 0.5, 0, pixels.MAX_U8).astype(np.uint8)
        return self._output.copy()

    def _start(self, stylized: np.ndarray) -> np.ndarray:
        self._output = stylized.copy()
        self.trusted = 0.0
        return stylized.copy()

    def _cut(self, stylized: np.ndarray) -> np.ndarray:
        self.cuts += 1
        return self._start(stylized)


def _local_stats(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance over each pixel's CONTRAST_WINDOW neighbourhood, per channel."""
    size = (CONTRAST_WINDOW, CONTRAST_WINDOW)
    mean = cv2.boxFilter(image, -1, size)
    return mean, np.maximum(cv2.boxFilter(image * image, -1, size) - mean * mean, 0.0)


def _restore_contrast(blended: np.ndarray, stylized: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``blended`` with its strokes' local contrast brought back to the new stylized frame's.

    Averaging two frames whose strokes do not line up lowers their contrast (by up to
    1 / sqrt(w^2 + (1-w)^2) for uncorrelated strokes, Heitz and Neyret 2018's variance-preserving blending):
    that is what raised the style loss. Around each pixel the blend's deviation from its local mean is
    scaled so its variance matches the stylized frame's, never by more than that bound, so strokes that
    did line up are not sharpened beyond the network's own.
    """
    mean, variance = _local_stats(blended)
    _, target = _local_stats(stylized)
    w = weight[..., None]
    bound = 1.0 / np.sqrt(w * w + (1.0 - w) * (1.0 - w))
    gain = np.clip(np.sqrt(target / np.maximum(variance, 1.0)), 1.0, bound)  # flat: below a level, no gain
    return mean + gain * (blended - mean)
