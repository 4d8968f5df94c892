"""A contact sheet of styles: every style on the same pictures, one row a style, for the README's gallery.

Made from the style files themselves (their networks and their metadata's title and artist), so the
gallery is always what the styles paint now, never a separately kept picture.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .stylize import Stylizer

LABEL_HEIGHT = 26
GAP = 4
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def _label(text: str, width: int) -> np.ndarray:
    strip = np.full((LABEL_HEIGHT, width, 3), 255, np.uint8)
    scale = 0.5
    while scale > 0.3 and cv2.getTextSize(text, _FONT, scale, 1)[0][0] > width - 12:
        scale -= 0.05
    cv2.putText(strip, text, (6, LABEL_HEIGHT - 8), _FONT, scale, (40, 40, 40), 1, cv2.LINE_AA)
    return strip


def _spaced(parts: Sequence[np.ndarray], axis: int) -> np.ndarray:
    """``parts`` side by side (axis 1) or stacked (axis 0), GAP white pixels between them."""
    shape = list(parts[0].shape)
    shape[axis] = GAP
    gap = np.full(shape, 255, np.uint8)
    return np.concatenate([p for part in parts for p in (gap, part)][1:], axis=axis)


def _row(cells: Sequence[np.ndarray], label: str) -> np.ndarray:
    body = _spaced(cells, axis=1)
    return np.vstack([_label(label, body.shape[1]), body])


def label_for(stylizer: Stylizer, with_network: bool = False) -> str:
    info = stylizer.info
    if info is None:
        return stylizer.name
    return f"{info.description} ({info.architecture})" if with_network else info.description


def contact_sheet(stylizers: Sequence[Stylizer], pictures: Sequence[np.ndarray], height: int = 256) -> np.ndarray:
    """uint8 BGR: a first row of ``pictures`` as they are, then one row per style, each picture painted at
    ``height`` px high (the size it is shown at, so strokes read as they would in a frame that size).
    Rows say the painting; also the network when the styles do not all use the same one."""
    inputs = [fit_height(p, height) for p in pictures]
    rows = [_row(inputs, "original")]
    networks = {s.info.architecture for s in stylizers if s.info is not None}
    for stylizer in stylizers:
        rows.append(_row([stylizer.stylize_image(p) for p in inputs], label_for(stylizer, len(networks) > 1)))
    return _spaced(rows, axis=0)


def labelled_grid(cells: Sequence[tuple[str, np.ndarray]], columns: int = 2) -> np.ndarray:
    """uint8 BGR: pictures of one size, each under its label, ``columns`` to a row (a video's styles side
    by side, one frame at a time); a short last row is filled with white."""
    labelled = [np.vstack([_label(text, image.shape[1]), image]) for text, image in cells]
    blank = np.full_like(labelled[0], 255)
    labelled += [blank] * (-len(labelled) % columns)
    rows = [_spaced(labelled[i:i + columns], axis=1) for i in range(0, len(labelled), columns)]
    return _spaced(rows, axis=0)
