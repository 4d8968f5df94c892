"""The automatic live setting: the smallest brush that paints as fast as the source delivers frames.

The runtime is already the fastest this machine has (``core.device``: CUDA half precision on a GPU,
OpenVINO int8 on a CPU) and the network is the style's own (the pack's ``lite_net``); what is left to
trade for speed is the brush, which stylizes 1/brush of the frame's size: about brush^2 times less work.
It is measured, not guessed: the paint times of the frames just painted, so it adapts when the machine
gets busier (a build, a video call) and when the source or style changes.
"""
from __future__ import annotations

from collections import deque
from statistics import median

# Webcams deliver 30 frames/s (some 60, which nobody needs painted); sources that declare nothing are
# treated as webcams.
MAX_FPS = 30.0
LEVELS = (1.0, 2.0, 3.0, 4.0)  # whole sizes, as the window's slider shows them
HEADROOM = 0.85  # of a frame's interval left to painting: capture, display and encoder need the rest
SHRINK_BELOW = 0.7  # go back to a finer brush only when it would still leave this much slack


class AutoBrush:
    """Feeds on (brush, paint seconds, source fps) per frame; says when another brush should be used.

    A change needs ``settle`` frames painted at the current brush (their median decides), so one slow
    frame never changes it and a change is measured before the next one. Time at another brush is
    predicted as proportional to its pixel count, which overestimates the cost of a finer brush (fixed
    costs do not shrink), so it never steps down into a brush that cannot keep up.
    """

    def __init__(self, settle: int = 12):
        self._times: deque[float] = deque(maxlen=settle)
        self._brush: float | None = None

    def reset(self) -> None:
        """Forget what was measured (a new source or style): the next frames are measured afresh."""
        self._times.clear()
        self._brush = None

    def observe(self, brush: float, seconds: float, source_fps: float | None) -> float | None:
        """The brush to use from now on, or None to keep ``brush``."""
        if brush != self._brush:  # painted at another brush than measured so far
            self._times.clear()
            self._brush = brush
        self._times.append(seconds)
        if len(self._times) < self._times.maxlen:
            return None
        budget = HEADROOM / min(source_fps or MAX_FPS, MAX_FPS)
        choice = choose_brush(brush, median(self._times), budget)
        if choice == brush:
            return None
        self._times.clear()
        return choice


def choose_brush(brush: float, seconds: float, budget: float) -> float:
    """The level for a frame that took ``seconds`` at ``brush``, given ``budget`` seconds per frame."""
    def predicted(level: float) -> float:
        return seconds * (brush / level) ** 2

    if seconds > budget:
        coarser = [b for b in LEVELS if b > brush]
        fits = [b for b in coarser if predicted(b) <= budget]
        return fits[0] if fits else (coarser[-1] if coarser else brush)
    finer = [b for b in LEVELS if b < brush and predicted(b) <= SHRINK_BELOW * budget]
    return finer[0] if finer else brush
