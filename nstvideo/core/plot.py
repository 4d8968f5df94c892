"""A loss-curve PNG drawn with OpenCV, so training needs no plotting library."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from .images import write_image

_COLOURS_BGR = {"total": (40, 40, 40), "content": (200, 120, 30), "style": (40, 40, 200), "tv": (60, 160, 60)}


def plot_losses(csv_path: Path, png_path: Path, size: tuple[int, int] = (800, 400)) -> Path:
    """Each loss over iterations on a log scale, normalised to its first value so all share one axis."""
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    w, h = size
    canvas = np.full((h, w, 3), 255, np.uint8)
    margin = 50
    if len(rows) >= 2:
        its = np.array([float(r["iteration"]) for r in rows])
        xs = margin + (its - its[0]) / max(its[-1] - its[0], 1) * (w - 2 * margin)
        series = {}
        for name in _COLOURS_BGR:
            v = np.array([float(r[name]) for r in rows])
            if np.all(v > 0):
                series[name] = np.log10(v / v[0])
        lo = min(s.min() for s in series.values())
        hi = max(s.max() for s in series.values())
        span = max(hi - lo, 1e-6)
        for i, (name, s) in enumerate(series.items()):
            ys = h - margin - (s - lo) / span * (h - 2 * margin)
            pts = np.stack([xs, ys], 1).round().astype(np.int32)
            cv2.polylines(canvas, [pts], False, _COLOURS_BGR[name], 2, cv2.LINE_AA)
            cv2.putText(canvas, name, (w - margin - 80, margin + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        _COLOURS_BGR[name], 1, cv2.LINE_AA)
        cv2.putText(canvas, f"iterations {int(its[0])}..{int(its[-1])}, log10(loss / first)", (margin, h - 15),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(canvas, f"{hi:+.2f}", (5, margin), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        cv2.putText(canvas, f"{lo:+.2f}", (5, h - margin), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.rectangle(canvas, (margin, margin), (w - margin, h - margin), (180, 180, 180), 1)
    return write_image(png_path, canvas, overwrite=True)
