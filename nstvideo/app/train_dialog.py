"""The "Train new style..." dialog: a painting, a photo folder and a preset in, a style file out.

Training runs in a child process (``python -m nstvideo train --progress jsonl``) at a lower priority, so
the live view keeps painting and a crash in training cannot take the window down; the dialog only reads
the JSON lines the CLI prints (their format is in ``nstvideo/cli/train.py``). Cancel sends SIGTERM, which
the CLI turns into a checkpoint; Resume runs the same settings again with ``--resume``. Run folders live
in the user data folder (``runs/NAME``), finished styles in the user style folder (the CLI's default).

This module imports no torch at import time, so the main window can import it before torch has loaded.
"""
from __future__ import annotations

import csv
import json
import math
import re
import shutil
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs
from PyQt6.QtCore import (
    QElapsedTimer, QPointF, QProcess, QProcessEnvironment, QRectF, QRegularExpression, Qt, QTimer, QUrl, pyqtSignal,
)
from PyQt6.QtGui import QCloseEvent, QColor, QDesktopServices, QPainter, QPainterPath, QPen, QPixmap, \
    QRegularExpressionValidator
from PyQt6.QtWidgets import (
    QButtonGroup, QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QMessageBox, QProgressBar, QPushButton, QRadioButton, QSizePolicy, QVBoxLayout, QWidget,
)

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff);;All files (*)"
SETTINGS_FILE = "train_dialog.json"  # in a run folder: what Resume needs to run the same settings again
SPEEDS_FILE = "speeds.json"  # in the runs folder: seconds per iteration measured by earlier runs here
KILL_AFTER_MS = 60_000  # a cancelled run that has not written its checkpoint by then is killed


@dataclass(frozen=True)
class TrainPreset:
    """The settings a kind of run fixes, named as ``nstvideo train``'s flags (TrainConfig's fields)."""

    label: str
    iterations: int
    image_size: int = 128
    network: str = "lite_net"
    width: float = 1.0
    residual_blocks: int = 4
    photo_size: int | None = 288
    style_size: int | None = 384
    batch_size: int = 4
    lr: float = 1e-3
    content_weight: float = 1.0
    style_weight: float = 5e-5
    tv_weight: float = 0.0
    checkpoint_every: int = 200
    preview_every: int = 100
    log_every: int = 10
    description: str = ""

    def cli_args(self) -> list[str]:
        args: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in ("label", "description") and value is not None:
                args += ["--" + f.name.replace("_", "-"), str(value)]
        return args

    def same_recipe(self, other: TrainPreset) -> bool:
        """Whether a checkpoint of one can be resumed with the other (all but the length and intervals)."""
        keep = ("label", "description", "iterations", "checkpoint_every", "preview_every", "log_every")
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self) if f.name not in keep)


# The style pack's first-stage recipe (train/teachers/starry_night_lite.toml, train/README.md): the live
# network (lite_net, width 1, 4 blocks), 128 px crops cut from photos at 288 px, the painting's Grams at
# 384 px, 3,000 iterations. Previews come twice as often as there.
STANDARD = TrainPreset("Standard", 3000, description="the recipe of the style pack")
# The same recipe for a tenth of the time: a rough style, and a run Resume can take on to Standard.
QUICK = TrainPreset("Quick", 300, checkpoint_every=50, preview_every=25, log_every=5,
                    description="the same recipe, a rough first look")
PRESETS = (QUICK, STANDARD)

# Seconds per training step (batch 4) on the project's 2-core CPU by (network, width, crop size), from
# BENCHMARKS.md (2026-11-24); the shipped runs took 1.04-1.2 s/it at width 0.5, 128 px, on that machine.
# lite_net: 0.84x transformer_net width 0.5's step at 128 px, measured side by side on 2026-12-02
# (BENCHMARKS.md, "The live network"); its 256 px figure is that ratio applied to width 0.5's, not measured.
BENCH_SECONDS_PER_IT = {("transformer_net", 0.5, 128): 0.98, ("transformer_net", 1.0, 128): 1.5,
                        ("transformer_net", 0.5, 256): 5.0, ("transformer_net", 1.0, 256): 7.7,
                        ("lite_net", 1.0, 128): 0.83, ("lite_net", 1.0, 256): 4.2}
START_SECONDS = 10  # starting Python and torch, decoding 2,047 photos, loading VGG: 7-8 s measured there


def runs_folder() -> Path:
    return Path(platformdirs.user_data_dir("nstvideo")) / "runs"


def default_style_name(painting: Path) -> str:
    """A file-name-safe style name from the painting's file name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", painting.stem).strip("_") or "my_style"


def benchmark_seconds_per_iteration(preset: TrainPreset) -> float:
    """BENCHMARKS.md's CPU step time for the nearest width, scaled by crop size and batch size.

    Between 128 and 256 px the measured time grows as size ** 2.35 (more than the pixel count).
    """
    measured = [w for net, w, _ in BENCH_SECONDS_PER_IT if net == preset.network]
    width = min(measured, key=lambda w: abs(w - preset.width))
    small = BENCH_SECONDS_PER_IT[(preset.network, width, 128)]
    large = BENCH_SECONDS_PER_IT[(preset.network, width, 256)]
    exponent = math.log(large / small) / math.log(2)
    return small * (preset.image_size / 128) ** exponent * preset.batch_size / 4


def speed_key(preset: TrainPreset, device: str) -> str:
    return f"{device}/{preset.network}/width {preset.width}/{preset.image_size} px/batch {preset.batch_size}"


def read_speeds(runs: Path) -> dict[str, float]:
    try:
        speeds = json.loads((runs / SPEEDS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return speeds if isinstance(speeds, dict) else {}


def estimate(preset: TrainPreset, device: str, speeds: dict[str, float]) -> tuple[float | None, str]:
    """Expected seconds for a whole run and where the step time comes from; None where nothing is known."""
    measured = speeds.get(speed_key(preset, device))
    if isinstance(measured, (int, float)) and measured > 0:
        return START_SECONDS + preset.iterations * measured, "the last run with these settings here"
    if device != "cpu":
        return None, f"no figure for {device} before its first run here"
    return (START_SECONDS + preset.iterations * benchmark_seconds_per_iteration(preset),
            "BENCHMARKS.md's figures for this project's 2-core CPU when idle")


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def available_devices() -> list[str]:
    """The --device choices that work here, best last (imports torch: call it once the window is up)."""
    from ..core.device import select_device
    from ..core.errors import DeviceError

    found = []
    for device in ("cpu", "mps", "cuda"):
        try:
            select_device(device)
        except DeviceError:
            continue
        found.append(device)
    return found


class LossCurve(QWidget):
    """Each loss over iterations on a log scale, normalised to its first value (like core/plot.py's PNG)."""

    COLOURS = {"total": QColor(40, 40, 40), "content": QColor(30, 120, 200), "style": QColor(200, 40, 40)}
    MARGIN = (46, 12, 14, 26)  # left, top, right, bottom

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.points: list[tuple[int, dict[str, float]]] = []
        self.setMinimumSize(340, 210)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def add(self, iteration: int, losses: dict[str, float]) -> None:
        """A resumed run repeats iterations past its checkpoint: the newer values replace them."""
        self.points = [p for p in self.points if p[0] < iteration] + [(iteration, losses)]
        self.update()

    def clear(self) -> None:
        self.points = []
        self.update()

    def _series(self) -> dict[str, list[tuple[int, float]]]:
        series = {}
        for name in self.COLOURS:
            values = [(i, v[name]) for i, v in self.points if name in v]
            if len(values) >= 2 and all(v > 0 for _, v in values):
                first = values[0][1]
                series[name] = [(i, math.log10(v / first)) for i, v in values]
        return series

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        left, top, right, bottom = self.MARGIN
        plot = QRectF(left, top, self.width() - left - right, self.height() - top - bottom)
        painter.setPen(QColor(170, 170, 170))
        painter.drawRect(plot)
        series = self._series()
        if not series:
            painter.setPen(QColor(110, 110, 110))
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "The loss curve appears\nafter two reports")
            return
        xs = [i for s in series.values() for i, _ in s]
        ys = [y for s in series.values() for _, y in s]
        x0, x1 = min(xs), max(max(xs), min(xs) + 1)
        y0, y1 = min(min(ys), -0.1), max(max(ys), 0.0) + 0.05

        def to_point(i: int, y: float) -> QPointF:
            return QPointF(plot.left() + (i - x0) / (x1 - x0) * plot.width(),
                           plot.bottom() - (y - y0) / (y1 - y0) * plot.height())

        self._draw_axes(painter, plot, x0, x1, y0, y1, to_point)
        for name, values in series.items():
            path = QPainterPath(to_point(*values[0]))
            for i, y in values[1:]:
                path.lineTo(to_point(i, y))
            painter.setPen(QPen(self.COLOURS[name], 2))
            painter.drawPath(path)
        self._draw_legend(painter, plot, list(series))

    def _draw_axes(self, painter: QPainter, plot: QRectF, x0, x1, y0, y1, to_point) -> None:
        """Decades of the ratio to the first value on the left, the first and last iteration below."""
        for decade in range(math.floor(y0), math.ceil(y1) + 1):
            if y0 <= decade <= y1:
                y = to_point(x0, decade).y()
                painter.setPen(QPen(QColor(225, 225, 225), 1))
                painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
                painter.setPen(QColor(110, 110, 110))
                label = "1" if decade == 0 else f"1e{decade}"
                painter.drawText(QRectF(0, y - 8, plot.left() - 4, 16),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        below = QRectF(plot.left(), plot.bottom() + 4, plot.width(), 18)
        painter.drawText(below, Qt.AlignmentFlag.AlignLeft, str(x0))
        painter.drawText(below, Qt.AlignmentFlag.AlignHCenter, "iteration (loss / first value, log scale)")
        painter.drawText(below, Qt.AlignmentFlag.AlignRight, str(x1))

    def _draw_legend(self, painter: QPainter, plot: QRectF, names: list[str]) -> None:
        x, y = plot.right() - 78, plot.top() + 8
        for name in names:
            painter.setPen(QPen(self.COLOURS[name], 2))
            painter.drawLine(QPointF(x, y + 6), QPointF(x + 16, y + 6))
            painter.setPen(QColor(60, 60, 60))
            painter.drawText(QRectF(x + 20, y - 2, 60, 16), Qt.AlignmentFlag.AlignLeft, name)
            y += 16


class ImageView(QWidget):
    """A picture scaled to fit with its aspect ratio kept, or a line of text while there is none."""

    def __init__(self, placeholder: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.placeholder = placeholder
        self.pixmap = QPixmap()
        self.setMinimumSize(300, 210)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, path: Path) -> bool:
        pixmap = QPixmap(str(path))
        if pixmap.isNull():
            return False
        self.pixmap = pixmap
        self.update()
        return True

    def clear(self) -> None:
        self.pixmap = QPixmap()
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(40, 40, 40))
        if self.pixmap.isNull():
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        scaled = self.pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        painter.drawPixmap((self.width() - scaled.width()) // 2, (self.height() - scaled.height()) // 2, scaled)


def _path_row(edit: QLineEdit, button: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(button)
    return row


class TrainDialog(QDialog):
    """Train a style from a painting and a photo folder in a child process; see the module docstring.

    ``styleTrained(Path)`` fires with the new style file, so the window can refresh its style list;
    ``runFinished(str)`` fires when the process ends: "done", "interrupted" or "error". A window that
    quits while the dialog may be training calls ``stop_and_wait()`` first: destroying a running QProcess
    kills it without a checkpoint.
    """

    styleTrained = pyqtSignal(Path)
    runFinished = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None, *, presets: Sequence[TrainPreset] = PRESETS,
                 vgg_weights: Path | None = None, device: str = "auto", threads: int | None = None,
                 runs_dir: Path | None = None):
        super().__init__(parent)
        self.presets = list(presets)
        self.vgg_weights = vgg_weights  # None: the CLI's default ($NSTVIDEO_VGG_WEIGHTS, else a download)
        self.threads = threads  # CPU threads for training (OMP_NUM_THREADS); None: torch's default
        self.runs_dir = runs_dir or runs_folder()
        self.devices = available_devices()
        self.auto_device = self.devices[-1]  # what --device auto picks: CUDA, else MPS, else the CPU
        self.process: QProcess | None = None
        self.last_step: dict | None = None  # the newest step event of the current run
        self._end: dict | None = None
        self._stdout = b""
        self._stderr: deque[str] = deque(maxlen=40)
        self._cancelling = False
        self._name_edited = False
        self._ran = False  # whether a run started since the dialog opened: its outcome stays in the status
        self._clock = QElapsedTimer()
        self._kill_timer = QTimer(self, singleShot=True, interval=KILL_AFTER_MS)
        self._kill_timer.timeout.connect(self._kill)
        self.setWindowTitle("Train new style")
        self.setMinimumSize(860, 700)
        self._build(device)
        self._update_estimates()
        self._update_buttons()
        self._show_idle_bar()

    # -- layout ----------------------------------------------------------------------------------------
    def _build(self, device: str) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_inputs(device))
        layout.addWidget(self._build_progress(), 1)
        layout.addLayout(self._build_buttons())

    def _build_inputs(self, device: str) -> QGroupBox:
        box = QGroupBox("What to train")
        column = QVBoxLayout(box)
        form = QFormLayout()
        column.addLayout(form)
        self.painting_edit = QLineEdit(placeholderText="the painting whose style to learn")
        self.painting_edit.textChanged.connect(self._painting_changed)
        self.choose_buttons = [self._button("Choose...", self._choose_painting),
                               self._button("Choose...", self._choose_photos)]
        form.addRow("Painting:", _path_row(self.painting_edit, self.choose_buttons[0]))
        self.photos_edit = QLineEdit(placeholderText="a folder of photos (searched recursively; "
                                                     "a few thousand give the best results)")
        self.photos_edit.textChanged.connect(self._update_buttons)
        form.addRow("Photos:", _path_row(self.photos_edit, self.choose_buttons[1]))
        self.name_edit = QLineEdit(placeholderText="letters, digits, _ and -")
        self.name_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"[A-Za-z0-9_-]{0,64}")))
        self.name_edit.textEdited.connect(self._name_typed)
        self.name_edit.textChanged.connect(self._name_changed)
        form.addRow("Style name:", self.name_edit)
        form.addRow("Preset:", self._build_presets())
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto"] + self.devices)
        self.set_device(device)
        self.device_combo.currentTextChanged.connect(self._update_estimates)
        form.addRow("Device:", self.device_combo)
        self.estimate_note = QLabel(wordWrap=True)
        self.estimate_note.setStyleSheet("color: #555")
        column.addWidget(self.estimate_note)
        return box

    def _build_presets(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        self.preset_group = QButtonGroup(self)
        self.preset_buttons: list[QRadioButton] = []
        for index, _ in enumerate(self.presets):
            button = QRadioButton()
            self.preset_group.addButton(button, index)
            self.preset_buttons.append(button)
            layout.addWidget(button)
        self.preset_buttons[0].setChecked(True)
        self.preset_group.idToggled.connect(lambda *_: self._update_buttons())
        self.preset_group.idToggled.connect(lambda *_: self._show_idle_bar())
        return column

    def _build_progress(self) -> QGroupBox:
        box = QGroupBox("Progress")
        layout = QVBoxLayout(box)
        self.progress_bar = QProgressBar(format="%v / %m iterations")
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        layout.addWidget(self.progress_bar)
        self.status_label = QLabel(wordWrap=True)
        self.losses_label = QLabel(" ")
        self.losses_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status_label)
        layout.addWidget(self.losses_label)
        views = QHBoxLayout()
        self.loss_curve = LossCurve()
        self.preview_view = ImageView("The preview appears at the first preview iteration")
        views.addWidget(self.loss_curve, 1)
        views.addWidget(self.preview_view, 1)
        layout.addLayout(views, 1)
        self.preview_caption = QLabel(" ", alignment=Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.preview_caption)
        self.message_label = QLabel(wordWrap=True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.hide()
        layout.addWidget(self.message_label)
        return box

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.open_button = self._button("Open run folder", self.open_run_folder)
        row.addWidget(self.open_button)
        row.addStretch(1)
        self.start_button = self._button("Start", lambda: self.start())
        self.resume_button = self._button("Resume", lambda: self.resume())
        self.cancel_button = self._button("Cancel", self.cancel)
        self.cancel_button.setToolTip("Stop training; a checkpoint is kept and Resume continues it")
        self.close_button = self._button("Close", self.close)
        for button in (self.start_button, self.resume_button, self.cancel_button, self.close_button):
            row.addWidget(button)
        self.start_button.setDefault(True)
        return row

    def _button(self, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    # -- inputs (also the API for tests and the main window) --------------------------------------------
    def set_painting(self, path: str | Path) -> None:
        self.painting_edit.setText(str(path))

    def set_photos(self, path: str | Path) -> None:
        self.photos_edit.setText(str(path))

    def set_name(self, name: str) -> None:
        self._name_edited = bool(name)
        self.name_edit.setText(name)

    def set_device(self, device: str) -> None:
        index = self.device_combo.findText(device)
        self.device_combo.setCurrentIndex(max(index, 0))

    def select_preset(self, index: int) -> None:
        self.preset_buttons[index].setChecked(True)

    @property
    def preset(self) -> TrainPreset:
        return self.presets[max(self.preset_group.checkedId(), 0)]

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name

    @property
    def style_path(self) -> Path:
        from ..core.styles import SUFFIX, user_style_dir

        return user_style_dir() / f"{self.name}{SUFFIX}"

    def is_running(self) -> bool:
        return self.process is not None

    def _device(self) -> str:
        return self.device_combo.currentText()

    def _choose_painting(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a painting", self.painting_edit.text(), IMAGE_FILTER)
        if path:
            self.set_painting(path)

    def _choose_photos(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder of photos", self.photos_edit.text())
        if path:
            self.set_photos(path)

    def _painting_changed(self, text: str) -> None:
        if text.strip() and not self._name_edited:
            self.name_edit.setText(default_style_name(Path(text.strip())))
        self._update_buttons()

    def _name_typed(self, text: str) -> None:
        self._name_edited = bool(text)

    def _name_changed(self) -> None:
        if not self.is_running():
            self._show_saved_run()
        self._update_buttons()

    def _update_estimates(self) -> None:
        device = self._device()
        device = self.auto_device if device == "auto" else device
        speeds = read_speeds(self.runs_dir)
        sources = set()
        for preset, button in zip(self.presets, self.preset_buttons):
            seconds, source = estimate(preset, device, speeds)
            sources.add(source)
            time = f"about {format_duration(seconds)}" if seconds is not None else "time unknown"
            detail = f", {preset.description}" if preset.description else ""
            button.setText(f"{preset.label}: {preset.iterations:,} iterations at {preset.image_size} px"
                           f"{detail} ({time})")
        self.estimate_note.setText(
            f"Times are estimates for {device} ({'; '.join(sorted(sources))}); other programs, the live view "
            "among them, slow training down. The ETA during a run is measured.")

    def _update_buttons(self) -> None:
        running = self.is_running()
        ready = bool(self.painting_edit.text().strip() and self.photos_edit.text().strip() and self.name)
        for widget in (self.painting_edit, self.photos_edit, self.name_edit, self.device_combo,
                       *self.preset_buttons, *self.choose_buttons):
            widget.setEnabled(not running)
        resumable = not running and self._resume_preset() is not None
        self.start_button.setEnabled(ready and not running)
        self.resume_button.setEnabled(resumable)
        if not running and not self._ran:
            self.status_label.setText(self._idle_status(ready, resumable))
        self.cancel_button.setEnabled(running and not self._cancelling)
        self.open_button.setEnabled(bool(self.name) and self.run_dir.is_dir())

    def _idle_status(self, ready: bool, resumable: bool) -> str:
        if resumable:
            return f"A run named '{self.name}' can go on: Resume continues it, Start begins again."
        return "Ready: Start trains the style." if ready else "Choose a painting and a photo folder, then Start."

    # -- a saved run: what Resume continues ----------------------------------------------------------
    def _saved_settings(self) -> dict | None:
        try:
            saved = json.loads((self.run_dir / SETTINGS_FILE).read_text())
            saved["preset"] = TrainPreset(**saved["preset"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return saved

    def _resume_preset(self) -> TrainPreset | None:
        """The preset Resume runs: the saved one, taken on to the chosen preset's length if that is the
        same recipe and longer (Quick, then Standard); None when there is nothing to continue."""
        if not self.name or not (self.run_dir / "checkpoint.pt").is_file():
            return None
        saved = self._saved_settings()
        if saved is None:
            return None
        preset = saved["preset"]
        if self.preset.same_recipe(preset) and self.preset.iterations > preset.iterations:
            preset = self.preset
        finished = saved.get("finished_iteration")
        return None if finished is not None and finished >= preset.iterations else preset

    def _save_settings(self, preset: TrainPreset, finished: int | None = None) -> None:
        settings = {"painting": self.painting_edit.text().strip(), "photos": self.photos_edit.text().strip(),
                    "device": self._device(), "preset": asdict(preset), "finished_iteration": finished}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / SETTINGS_FILE).write_text(json.dumps(settings, indent=2))

    def _show_saved_run(self) -> None:
        """The loss curve and newest preview of an earlier run of this name, so Resume shows where it is."""
        self.loss_curve.clear()
        self.preview_view.clear()
        self.preview_caption.setText(" ")
        if not self.name:
            return
        for iteration, losses in _read_history(self.run_dir / "losses.csv"):
            self.loss_curve.add(iteration, losses)
        previews = sorted((self.run_dir / "previews").glob("iter_*.jpg"))
        if previews and self.preview_view.set_image(previews[-1]):
            self.preview_caption.setText(f"preview of the earlier run: {previews[-1].name}")

    # -- running ---------------------------------------------------------------------------------------
    def start(self, overwrite: bool | None = None) -> bool:
        """Start a new run with the chosen preset; ``overwrite`` None asks before replacing an earlier
        run or style of the same name. False when nothing started (the reason is shown)."""
        if self.is_running() or not self._check_inputs():
            return False
        existing = [p for p in (self.style_path, self.run_dir / "checkpoint.pt") if p.exists()]
        if existing and overwrite is None:
            overwrite = self._confirm_replace(existing)
            if not overwrite:
                return False
        preset = self.preset
        self._save_settings(preset)
        self.loss_curve.clear()
        self.preview_view.clear()
        self.preview_caption.setText(" ")
        return self._launch(preset, resume=False, overwrite=bool(overwrite))

    def resume(self) -> bool:
        """Continue this name's run from its checkpoint with the settings it was started with."""
        preset = self._resume_preset() if not self.is_running() else None
        saved = self._saved_settings()
        if preset is None or saved is None:
            self._show_message("There is no unfinished run of this name to resume; Start a new one.", error=True)
            return False
        name = self.name
        self.painting_edit.setText(saved["painting"])
        self.photos_edit.setText(saved["photos"])
        self.set_name(name)  # keep this run's name even where the painting's file name suggests another
        self.set_device(saved["device"])
        self._save_settings(preset)
        self._show_saved_run()
        return self._launch(preset, resume=True, overwrite=False)

    def cancel(self) -> None:
        """Stop the run: SIGTERM, which the CLI turns into a checkpoint before it exits."""
        if not self.is_running() or self._cancelling:
            return
        self._cancelling = True
        self.status_label.setText("Stopping: writing a checkpoint...")
        self.process.terminate()
        self._kill_timer.start()
        self._update_buttons()

    def stop_and_wait(self, timeout_ms: int = KILL_AFTER_MS) -> None:
        """Cancel and block until the checkpoint is written and the process has gone (for closing)."""
        if not self.is_running():
            return
        process = self.process
        self.cancel()
        if not process.waitForFinished(timeout_ms):
            process.kill()
            process.waitForFinished(5000)

    def open_run_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.run_dir)))

    def _check_inputs(self) -> bool:
        painting, photos = Path(self.painting_edit.text().strip()), Path(self.photos_edit.text().strip())
        problem = None
        if not painting.is_file():
            problem = f"The painting {painting} does not exist; choose an image file."
        elif not photos.is_dir():
            problem = f"The photo folder {photos} does not exist; choose a folder of photos."
        elif not self.name:
            problem = "Give the style a name (letters, digits, _ and -)."
        if problem:
            self._show_message(problem, error=True)
        return problem is None

    def _confirm_replace(self, existing: list[Path]) -> bool:
        names = "\n".join(str(p) for p in existing)
        answer = QMessageBox.question(
            self, "Replace the earlier run?",
            f"A style or an unfinished run named '{self.name}' exists:\n{names}\n\nStart again and replace it? "
            "(Resume continues an unfinished run instead; another name keeps both.)")
        return answer == QMessageBox.StandardButton.Yes

    def _command(self, preset: TrainPreset, resume: bool, overwrite: bool) -> tuple[str, list[str]]:
        args = ["-m", "nstvideo", "train", "--progress", "jsonl",
                "--style-image", self.painting_edit.text().strip(), "--dataset", self.photos_edit.text().strip(),
                "--name", self.name, "--run-dir", str(self.run_dir), "--device", self._device(),
                *preset.cli_args()]
        if self.vgg_weights:
            args += ["--vgg-weights", str(self.vgg_weights)]
        if resume:
            args.append("--resume")
        if overwrite:
            args.append("--overwrite")
        nice = shutil.which("nice")  # below the live view's priority; nice execs, so SIGTERM still arrives
        return (nice, ["-n", "10", sys.executable, *args]) if nice else (sys.executable, args)

    def _launch(self, preset: TrainPreset, resume: bool, overwrite: bool) -> bool:
        self.process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        if self.threads:
            environment.insert("OMP_NUM_THREADS", str(self.threads))
        self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._process_error)
        self._end, self.last_step, self._stdout, self._cancelling = None, None, b"", False
        self._stderr.clear()
        self._running_preset = preset
        self.progress_bar.setRange(0, 0)  # busy until the first report
        self.status_label.setText("Starting: loading the photos and the loss network...")
        self.losses_label.setText(" ")
        self.message_label.hide()
        self._clock.start()
        self._ran = True
        self.process.start(*self._command(preset, resume, overwrite))
        self._update_buttons()
        return True

    def _read_stdout(self) -> None:
        self._stdout += bytes(self.process.readAllStandardOutput())
        *lines, self._stdout = self._stdout.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not one of ours: something a library printed
            if isinstance(event, dict):
                self._handle(event)

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode(errors="replace")
        self._stderr.extend(line for line in text.splitlines() if line.strip())
        error = next((line for line in reversed(self._stderr) if line.startswith("error: ")), None)
        if error:
            self._show_message(error.removeprefix("error: "), error=True)

    def _handle(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "step":
            self._show_step(event)
        elif kind == "preview":
            if self.preview_view.set_image(Path(event["path"])):
                self.preview_caption.setText(f"preview at iteration {event['iteration']:,}")
        elif kind == "start":
            self.progress_bar.setRange(0, 0)
        elif kind == "end":
            self._end = event

    def _show_step(self, event: dict) -> None:
        self.last_step = event
        done, total = event["iteration"], event["iterations"]
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        rate = event["iterations_per_second"]
        eta = event.get("eta")
        left = f"about {format_duration(eta)} left" if eta is not None else "time left unknown"
        resumed = f" (resumed at {event['start_iteration']:,})" if event["start_iteration"] else ""
        self.status_label.setText(
            f"Iteration {done:,} of {total:,}{resumed}: {1 / rate if rate else 0:.2f} s per iteration, {left}, "
            f"{format_duration(self._clock.elapsed() / 1000)} so far.")
        self.losses_label.setText("Losses: " + ", ".join(f"{k} {v:.3g}" for k, v in event["losses"].items()))
        self.loss_curve.add(done, event["losses"])

    def _finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        self._kill_timer.stop()
        end = self._end or {}
        outcome = end.get("status") or ("interrupted" if self._cancelling else "error")
        self._record_speed()
        if outcome == "done":
            self._done(end)
        elif outcome == "interrupted":
            self._interrupted()
        else:
            self._failed(end, exit_code)
        self.process.deleteLater()
        self.process = None
        self._cancelling = False
        self._update_buttons()
        self._update_estimates()
        if outcome == "done":
            self.styleTrained.emit(Path(end["style"]))
        self.runFinished.emit(outcome)

    def _done(self, end: dict) -> None:
        self._save_settings(self._running_preset, finished=end["iteration"])
        skipped = end.get("skipped_images", 0)
        note = f" ({skipped} unreadable photo(s) skipped)" if skipped else ""
        self.progress_bar.setRange(0, max(end["iteration"], 1))
        self.progress_bar.setValue(end["iteration"])
        self.status_label.setText(f"Done in {format_duration(self._clock.elapsed() / 1000)}: '{self.name}' is in "
                                  f"the style list{note}.")
        self._show_message(f"Saved as {end['style']}", error=False)

    def _interrupted(self) -> None:
        if (self.run_dir / "checkpoint.pt").is_file():
            at = f" at iteration {self.last_step['iteration']:,}" if self.last_step else ""
            self.status_label.setText(f"Cancelled{at}: the checkpoint is kept, and Resume continues it.")
        else:
            self.status_label.setText("Cancelled before the first checkpoint: nothing to resume.")
        self._set_bar_idle()

    def _failed(self, end: dict, exit_code: int) -> None:
        message = end.get("message") or next(
            (line.removeprefix("error: ") for line in reversed(self._stderr) if line.startswith("error: ")), None)
        if message is None:
            last = self._stderr[-1] if self._stderr else "no message"
            message = f"the training process stopped unexpectedly (exit status {exit_code}): {last}"
        self.status_label.setText("Training failed; fix what the message below says and Start again.")
        self._show_message(message, error=True)
        self._set_bar_idle()

    def _set_bar_idle(self) -> None:
        """A run that ended before or between reports leaves the bar busy: show where it got to."""
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, self._running_preset.iterations)
            self.progress_bar.setValue(self.last_step["iteration"] if self.last_step else 0)

    def _show_idle_bar(self) -> None:
        if not self.is_running() and not self._ran:
            self.progress_bar.setRange(0, self.preset.iterations)
            self.progress_bar.setValue(0)

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # no finished() follows
            self._show_message(f"Could not start the training process ({self.process.errorString()}).", error=True)
            self.process.deleteLater()
            self.process = None
            self._set_bar_idle()
            self._update_buttons()
            self.runFinished.emit("error")

    def _record_speed(self) -> None:
        """Keep this run's measured step time, so the next estimate for these settings is this machine's."""
        step = self.last_step
        if not step or step["iteration"] - step["start_iteration"] < 2 * self._running_preset.log_every:
            return
        device = self._device()
        speeds = read_speeds(self.runs_dir)
        key = speed_key(self._running_preset, self.auto_device if device == "auto" else device)
        speeds[key] = round(1 / step["iterations_per_second"], 4)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        (self.runs_dir / SPEEDS_FILE).write_text(json.dumps(speeds, indent=2))

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def _show_message(self, text: str, error: bool) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet("color: #b00020; font-weight: bold" if error else "")
        self.message_label.show()

    # -- closing ---------------------------------------------------------------------------------------
    def reject(self) -> None:
        """Esc, Close and the window's close button: a running training is stopped first (asked)."""
        if self.is_running() and not self._confirm_stop():
            return
        self.stop_and_wait()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.is_running() and not self._confirm_stop():
            event.ignore()
            return
        self.stop_and_wait()
        super().closeEvent(event)

    def _confirm_stop(self) -> bool:
        answer = QMessageBox.question(
            self, "Stop training?",
            "Training is still running. Stop it now? A checkpoint is kept, and Resume continues the run "
            "when you open this dialog again.")
        return answer == QMessageBox.StandardButton.Yes


def _read_history(path: Path) -> list[tuple[int, dict[str, float]]]:
    """(iteration, losses) rows of a run's losses.csv; none when it is missing or unreadable."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        return [(int(r["iteration"]), {k: float(r[k]) for k in LossCurve.COLOURS}) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return []
