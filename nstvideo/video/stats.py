"""What a live stream is doing, measured over the last couple of seconds: rates, latency, drops."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

WINDOW_S = 2.0


@dataclass(frozen=True)
class LiveStats:
    """``input_fps``: frames the source produced per second (shown or not); ``output_fps``: frames painted
    per second; latency: from capture to the display taking the frame (``None`` until one was shown);
    ``dropped``: frames never shown since the source was opened (skipped while the painter was busy, or
    replaced before the display took them); ``runtime``: where the network runs; ``brush``: the brush
    painted with, ``auto_brush`` whether the session chose it."""

    input_fps: float = 0.0
    output_fps: float = 0.0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    inference_ms: float | None = None
    dropped: int = 0
    runtime: str = ""
    brush: float | None = None
    auto_brush: bool = False

    def summary(self) -> str:
        parts = [f"{self.output_fps:.1f} fps (source {self.input_fps:.1f})"]
        if self.latency_p50_ms is not None:
            parts.append(f"latency {self.latency_p50_ms:.0f} ms (p95 {self.latency_p95_ms:.0f})")
        if self.inference_ms is not None:
            parts.append(f"paint {self.inference_ms:.0f} ms")
        parts.append(f"dropped {self.dropped}")
        if self.brush is not None:
            parts.append(f"brush {self.brush:g}{' (auto)' if self.auto_brush else ''}")
        return " · ".join(parts)


class StatsMeter:
    """Thread-safe counters; ``snapshot()`` turns the last ``window`` seconds into a ``LiveStats``."""

    def __init__(self, window: float = WINDOW_S):
        self.window = window
        self._lock = threading.Lock()
        self._inputs: deque[tuple[float, int]] = deque()  # (time, frames the source produced)
        self._outputs: deque[float] = deque()
        self._inference: deque[tuple[float, float]] = deque()
        self._latency: deque[tuple[float, float]] = deque()
        self.dropped = 0
        self._since = time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self._since = time.monotonic()
            self._inputs.clear()
            self._outputs.clear()
            self._inference.clear()
            self._latency.clear()
            self.dropped = 0

    def frame_in(self, produced: int) -> None:
        with self._lock:
            self._inputs.append((time.monotonic(), produced))

    def frame_out(self, inference_s: float | None) -> None:
        now = time.monotonic()
        with self._lock:
            self._outputs.append(now)
            if inference_s is not None:
                self._inference.append((now, inference_s))

    def shown(self, latency_s: float) -> None:
        with self._lock:
            self._latency.append((time.monotonic(), latency_s))

    def drop(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n

    def snapshot(self, runtime: str = "") -> LiveStats:
        now = time.monotonic()
        start = now - self.window
        with self._lock:
            for q in (self._inputs, self._inference, self._latency):
                while q and q[0][0] < start:
                    q.popleft()
            while self._outputs and self._outputs[0] < start:
                self._outputs.popleft()
            produced = sum(n for _, n in self._inputs)
            latency = np.array([v for _, v in self._latency])
            inference = [v for _, v in self._inference]
            outputs, dropped = len(self._outputs), self.dropped
            span = max(1e-3, min(self.window, now - self._since))  # a stream younger than the window
        p50, p95 = (np.percentile(latency, [50, 95]) * 1000 if latency.size else (None, None))
        return LiveStats(
            input_fps=produced / span, output_fps=outputs / span,
            latency_p50_ms=None if p50 is None else float(p50), latency_p95_ms=None if p95 is None else float(p95),
            inference_ms=float(np.mean(inference) * 1000) if inference else None, dropped=dropped, runtime=runtime)
