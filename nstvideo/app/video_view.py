"""The live view: a frame painted with its aspect ratio kept, a before/after comparison, and a caption."""
from __future__ import annotations

from enum import Enum

import numpy as np
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget


class Compare(Enum):
    PAINTED = "painted"
    SPLIT = "split"  # the original on the left half, the painting on the right
    ORIGINAL = "original"

    def next(self) -> "Compare":
        members = list(Compare)
        return members[(members.index(self) + 1) % len(members)]


def to_qimage(image: np.ndarray) -> QImage:
    """uint8 BGR HxWx3 -> a QImage sharing its memory (keep ``image`` alive while it is painted)."""
    h, w = image.shape[:2]
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888)


class VideoView(QWidget):
    """Paints the newest frame scaled to fit, letterboxed on black; ``caption`` shows while there is none."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.compare = Compare.PAINTED
        self.caption = ""
        self._painted: np.ndarray | None = None
        self._original: np.ndarray | None = None

    def show_frame(self, painted: np.ndarray, original: np.ndarray | None) -> None:
        self._painted, self._original = painted, original
        self.update()

    def clear(self, caption: str = "") -> None:
        self._painted = self._original = None
        self.caption = caption
        self.update()

    def set_caption(self, caption: str) -> None:
        self.caption = caption
        self.update()

    def set_compare(self, mode: Compare) -> None:
        self.compare = mode
        self.update()

    @property
    def has_frame(self) -> bool:
        return self._painted is not None

    def target_rect(self, width: int, height: int) -> QRectF:
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(16, 16, 18))
        painted, original = self._painted, self._original
        if painted is None:
            self._paint_caption(painter)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        h, w = painted.shape[:2]
        rect = self.target_rect(w, h)
        mode = self.compare if original is not None else Compare.PAINTED
        if mode is Compare.ORIGINAL:
            painter.drawImage(rect, to_qimage(original))
            self._label(painter, rect, "original", left=True)
        elif mode is Compare.SPLIT:
            half = w // 2
            left = QRectF(rect.x(), rect.y(), rect.width() * half / w, rect.height())
            right = QRectF(left.right(), rect.y(), rect.width() - left.width(), rect.height())
            painter.drawImage(left, to_qimage(np.ascontiguousarray(original[:, :half])))
            painter.drawImage(right, to_qimage(np.ascontiguousarray(painted[:, half:])))
            painter.setPen(QPen(QColor(255, 255, 255, 200), 2))
            painter.drawLine(int(left.right()), int(rect.top()), int(left.right()), int(rect.bottom()))
            self._label(painter, rect, "original", left=True)
            self._label(painter, rect, "painted", left=False)
        else:
            painter.drawImage(rect, to_qimage(painted))
        if self.caption:
            self._paint_caption(painter, bottom=True)

    def _label(self, painter: QPainter, rect: QRectF, text: str, left: bool) -> None:
        painter.setFont(QFont(self.font().family(), 10))
        box = QRectF(rect.left() + 8 if left else rect.right() - 88, rect.top() + 8, 80, 22)
        painter.fillRect(box, QColor(0, 0, 0, 150))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_caption(self, painter: QPainter, bottom: bool = False) -> None:
        if not self.caption:
            return
        painter.setFont(QFont(self.font().family(), 13))
        painter.setPen(QColor(230, 230, 230))
        if bottom:
            box = QRectF(0, self.height() - 40, self.width(), 32)
            painter.fillRect(box, QColor(0, 0, 0, 140))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.caption)
        else:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.caption)
