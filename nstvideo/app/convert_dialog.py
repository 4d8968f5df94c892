"""The "Convert videos..." dialog: a queue of files, a style and its options, progress, cancel, results.

The dialog only builds a ``ConvertConfig`` and hands it to ``nstvideo.video.convert.convert_files`` on a
worker thread; everything it shows comes back through queued signals, so no widget is touched off the
GUI thread. Cancelling is cooperative: ``convert_files`` checks a flag before every batch of frames and
discards the unfinished file, so a cancelled run leaves nothing half-written in the output folder.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from PyQt6.QtCore import QObject, Qt, QUrl, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
    QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar, QPushButton, QSlider,
    QSpinBox, QStyle, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from ..core.errors import NstVideoError
from ..core.stylize import StyleOptions
from ..core.styles import installed_styles, looks_like_path, read_info
from ..video.convert import ConvertConfig, ConvertSummary, convert_files
from .style_labels import style_label, style_tooltip

log = logging.getLogger(__name__)

# What "Add files..." offers; anything FFmpeg reads converts, so "All files" stays available.
VIDEO_FILTER = "Videos (*.mp4 *.m4v *.mov *.mkv *.avi *.webm *.wmv *.flv *.mpg *.mpeg *.ts *.3gp);;All files (*)"
STEPS_PER_FILE = 1000  # resolution of the overall bar within one file
COL_NAME, COL_PROGRESS, COL_STATUS = range(3)


class _Bridge(QObject):
    """Carries ``convert_files``' callbacks from the worker thread to the dialog as queued signals.

    It has no parent, so Qt never deletes it under the worker's feet; the worker's closure keeps it alive.
    """

    file_started = pyqtSignal(object, object)  # source Path, declared frame count or None
    frames_done = pyqtSignal(int)
    file_done = pyqtSignal(object, object)  # source Path, output Path or NstVideoError
    job_done = pyqtSignal(object)  # ConvertSummary


def _run(config: ConvertConfig, bridge: _Bridge, stop: threading.Event) -> None:
    """The worker thread's body: convert, and always report a summary, even when the job cannot start."""
    try:
        summary = convert_files(config, on_start=bridge.file_started.emit, on_frames=bridge.frames_done.emit,
                                on_done=bridge.file_done.emit, should_stop=stop.is_set)
    except Exception as exc:  # a style that cannot load, a device error: every input fails with it
        if not isinstance(exc, NstVideoError):
            log.exception("conversion failed")
            exc = NstVideoError(f"the conversion stopped unexpectedly ({exc}); see the log for details")
        summary = ConvertSummary(failed={Path(p): exc for p in config.inputs})
    bridge.job_done.emit(summary)


class _FileRow:
    """One queued video: its table row's progress bar and status cell."""

    LABELS = {"waiting": "Waiting", "converting": "Converting...", "done": "Done", "failed": "Failed",
              "cancelled": "Cancelled"}
    BAR_TEXT = {"converting": "%v / %m frames", "done": "%v frames"}  # the others: an empty bar, no text

    def __init__(self, path: Path, bar: QProgressBar, status: QTableWidgetItem):
        self.path, self.bar, self.status = path, bar, status
        self.done = 0
        self.state = "waiting"

    def set_state(self, state: str, detail: str = "") -> None:
        self.state = state
        self.status.setText(self.LABELS[state])
        self.status.setToolTip(detail)
        self.bar.setFormat(self.BAR_TEXT.get(state, ""))

    def reset(self, state: str = "waiting") -> None:
        self.done = 0
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.set_state(state)

    def fraction(self) -> float:
        return min(1.0, self.done / self.bar.maximum()) if self.bar.maximum() > 0 else 0.0


class ConvertDialog(QDialog):
    """Queue video files, pick a style and options, convert them with progress, cancel at any time.

    ``current_style``: a style name (or a ``.safetensors`` path) to preselect, e.g. the live view's.
    ``device``: passed to the stylizer ("auto", "cpu", "cuda").
    ``finished(summary)`` fires once per ``start()`` with the ``ConvertSummary`` (also when cancelled or
    when the style cannot load). It shadows ``QDialog.finished(int)``; use ``accepted``/``rejected`` for
    the dialog itself.
    """

    finished = pyqtSignal(object)

    def __init__(self, current_style: str | None = None, parent: QWidget | None = None, *, device: str = "auto"):
        super().__init__(parent)
        self.setWindowTitle("Convert videos")
        self.setMinimumSize(700, 680)  # what the layout needs; fits a 1366x768 laptop screen
        self.resize(800, 760)
        self.setAcceptDrops(True)
        self._device = device
        self._rows: list[_FileRow] = []
        self._current: _FileRow | None = None
        self._finished_files = 0
        self._out_dir_chosen = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_out_dir: Path | None = None
        self._build()
        self._fill_styles(current_style)
        self._set_running(False)

    # -- public API ---------------------------------------------------------------------------------

    def add_files(self, paths) -> None:
        """Queue video files (str or Path); duplicates are skipped. The first one decides the default
        output folder unless the user chose one."""
        for path in (Path(p).expanduser().absolute() for p in paths):
            if any(row.path == path for row in self._rows) or self.is_running():
                continue
            self._add_row(path)
        if self._rows and not self._out_dir_chosen:
            self.out_dir_edit.setText(str(self._rows[0].path.parent))
        self._update_buttons()

    def files(self) -> list[Path]:
        return [row.path for row in self._rows]

    def set_output_folder(self, folder: str | Path) -> None:
        self.out_dir_edit.setText(str(folder))
        self._out_dir_chosen = True

    def start(self) -> bool:
        """Start converting the queue; False (with the reason shown in the dialog) when it cannot."""
        if self.is_running():
            return False
        config = self._config()
        if config is None:
            return False
        for row in self._rows:
            row.reset()
        self.results.clear()
        self._finished_files, self._current = 0, None
        self._last_out_dir = config.out_dir
        self.overall.setRange(0, STEPS_PER_FILE * len(self._rows))
        self.overall.setValue(0)
        self._stop.clear()
        bridge = _Bridge()
        bridge.file_started.connect(self._on_file_started)
        bridge.frames_done.connect(self._on_frames)
        bridge.file_done.connect(self._on_file_done)
        bridge.job_done.connect(self._on_job_done)
        self._thread = threading.Thread(target=_run, args=(config, bridge, self._stop),
                                        name="nstvideo-convert", daemon=True)
        self._set_running(True)
        self._say(f"Converting {len(self._rows)} video(s) into {config.out_dir}...")
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Ask the worker to stop before its next batch; the unfinished file is discarded."""
        if self.is_running():
            self._stop.set()
            self.cancel_button.setEnabled(False)
            self._say("Cancelling: finishing the current batch of frames...")

    def is_running(self) -> bool:
        """True from ``start()`` until its summary has been shown (the worker may have just returned)."""
        return self._thread is not None

    def done(self, result: int) -> None:
        """Closing (Close, Esc, the window's X) while converting cancels and waits for the worker."""
        self._cancel_and_wait()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Also when the dialog is hidden (QDialog only calls ``done`` for a visible one)."""
        self._cancel_and_wait()
        super().closeEvent(event)

    def _cancel_and_wait(self) -> None:
        """The worker stops before its next batch, so this blocks for one batch of frames at most."""
        self.cancel()
        if self._thread is not None:
            self._thread.join()

    # -- building -----------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_queue(), stretch=3)
        layout.addWidget(self._build_settings())
        layout.addWidget(self._build_progress(), stretch=2)
        layout.addLayout(self._build_buttons())

    def _build_queue(self) -> QGroupBox:
        box = QGroupBox("Videos (add files or drop them here)")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Video", "Progress", "Status"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_PROGRESS, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(COL_PROGRESS, 180)
        self.table.setColumnWidth(COL_STATUS, 150)
        self.table.setMinimumHeight(160)  # four rows before it scrolls
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.add_button = QPushButton("Add files...")
        self.add_button.clicked.connect(self._choose_files)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_selected)
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch()
        row = QHBoxLayout(box)
        row.addWidget(self.table, stretch=1)
        row.addLayout(buttons)
        return box

    def _build_settings(self) -> QGroupBox:
        box = QGroupBox("Style and output")
        form = QFormLayout(box)
        self.style_combo = QComboBox()
        self.style_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        form.addRow("Style:", self.style_combo)
        self.strength_slider, strength = self._slider(0, 100, 100, lambda v: f"{v}%")
        self.strength_slider.setToolTip("0% keeps the original video, 100% is the full painting")
        form.addRow("Strength:", strength)
        self.brush_slider, brush = self._slider(1, 8, 1, lambda v: f"{v}x")
        self.brush_slider.setToolTip("Larger strokes; each step up also converts faster")
        form.addRow("Brush size:", brush)
        self.preserve_color_check = QCheckBox("Keep the video's own colours")
        form.addRow("Colours:", self.preserve_color_check)
        self.max_side_spin = QSpinBox()
        self.max_side_spin.setRange(0, 8192)
        self.max_side_spin.setSingleStep(64)
        self.max_side_spin.setSpecialValueText("original size")
        self.max_side_spin.setSuffix(" px")
        self.max_side_spin.setToolTip("Shrink frames so the longer side is at most this; smaller converts faster")
        form.addRow("Longest side:", self.max_side_spin)
        self.out_dir_edit = QLineEdit()
        self.out_dir_edit.setPlaceholderText("the folder of the first video")
        self.out_dir_edit.textEdited.connect(self._mark_out_dir_chosen)
        choose = QPushButton("Choose...")
        choose.clicked.connect(self._choose_out_dir)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_dir_edit, stretch=1)
        out_row.addWidget(choose)
        self.out_dir_button = choose
        form.addRow("Output folder:", out_row)
        self.overwrite_check = QCheckBox("Replace outputs that already exist")
        form.addRow("", self.overwrite_check)
        self._settings = box
        return box

    def _slider(self, low: int, high: int, value: int, label) -> tuple[QSlider, QWidget]:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(value)
        text = QLabel(label(value))
        text.setMinimumWidth(48)
        slider.valueChanged.connect(lambda v: text.setText(label(v)))
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(slider, stretch=1)
        row.addWidget(text)
        return slider, holder

    def _build_progress(self) -> QGroupBox:
        box = QGroupBox("Progress")
        column = QVBoxLayout(box)
        overall_row = QHBoxLayout()
        overall_row.addWidget(QLabel("Overall:"))
        self.overall = QProgressBar()
        self.overall.setFormat("%p%")
        overall_row.addWidget(self.overall, stretch=1)
        self.overall_label = QLabel("")
        overall_row.addWidget(self.overall_label)
        column.addLayout(overall_row)
        self.results = QListWidget()
        self.results.setWordWrap(True)
        self.results.setAlternatingRowColors(True)
        self.results.setMinimumHeight(100)
        column.addWidget(self.results, stretch=1)
        self.status_label = QLabel("Add videos, pick a style and press Start.")
        self.status_label.setWordWrap(True)
        column.addWidget(self.status_label)
        return box

    def _build_buttons(self) -> QHBoxLayout:
        self.open_folder_button = QPushButton("Open output folder")
        self.open_folder_button.clicked.connect(self._open_out_dir)
        self.open_folder_button.setVisible(False)
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.open_folder_button)
        row.addStretch()
        for button in (self.start_button, self.cancel_button, self.close_button):
            row.addWidget(button)
        return row

    def _fill_styles(self, current: str | None) -> None:
        for name, info in sorted(installed_styles().items()):
            self.style_combo.addItem(style_label(info, sep=", "), name)
            self.style_combo.setItemData(self.style_combo.count() - 1, style_tooltip(info, name),
                                         Qt.ItemDataRole.ToolTipRole)
        if current:
            self._select_style(current)

    def _select_style(self, spec: str) -> None:
        """Select ``spec`` by name, or add it when it is a style file outside the style folders."""
        index = self.style_combo.findData(spec)
        if index < 0 and looks_like_path(spec) and Path(spec).is_file():
            try:
                info = read_info(spec)
            except NstVideoError:
                return  # an unreadable file is the live view's problem; the user picks another style here
            self.style_combo.addItem(style_label(info, f" ({Path(spec).name})", sep=", "), Path(spec))
            index = self.style_combo.count() - 1
        if index >= 0:
            self.style_combo.setCurrentIndex(index)

    def _add_row(self, path: Path) -> None:
        index = self.table.rowCount()
        self.table.insertRow(index)
        name = QTableWidgetItem(path.name)
        name.setToolTip(str(path))
        bar = QProgressBar()
        status = QTableWidgetItem()
        self.table.setItem(index, COL_NAME, name)
        self.table.setCellWidget(index, COL_PROGRESS, bar)
        self.table.setItem(index, COL_STATUS, status)
        row = _FileRow(path, bar, status)
        row.reset()
        self._rows.append(row)

    # -- the job --------------------------------------------------------------------------------------

    def _config(self) -> ConvertConfig | None:
        """The job as the widgets describe it, or None after saying what the user has to fix."""
        if not self._rows:
            return self._refuse("Add at least one video file (Add files... or drop files here).")
        if self.style_combo.count() == 0:
            return self._refuse("No style is installed: train one (Style > Train new style...) or import a .pth.")
        folder = self.out_dir_edit.text().strip()
        if not folder:
            return self._refuse("Choose an output folder.")
        options = StyleOptions(strength=self.strength_slider.value() / 100,
                               preserve_color=self.preserve_color_check.isChecked(),
                               brush=float(self.brush_slider.value()))
        return ConvertConfig(inputs=tuple(self.files()), style=self.style_combo.currentData(),
                             out_dir=Path(folder).expanduser(), max_side=self.max_side_spin.value() or None,
                             options=options, device=self._device, overwrite=self.overwrite_check.isChecked())

    def _refuse(self, message: str) -> None:
        self._say(message)
        return None

    def _row(self, source: Path) -> _FileRow | None:
        return next((row for row in self._rows if row.path == Path(source)), None)

    def _on_file_started(self, source: Path, frames: int | None) -> None:
        self._current = row = self._row(source)
        if row is None:
            return
        row.bar.setRange(0, frames or 0)  # 0..0: a busy bar when the container declares no count
        row.set_state("converting")

    def _on_frames(self, n: int) -> None:
        row = self._current
        if row is None:
            return
        row.done += n
        if row.bar.maximum() > 0:
            row.bar.setMaximum(max(row.bar.maximum(), row.done))  # declared counts can be short
            row.bar.setValue(row.done)
        self._show_overall(row.fraction())

    def _on_file_done(self, source: Path, result) -> None:
        row = self._row(source)
        self._finished_files += 1
        self._current = None
        if row is not None:
            self._show_file_result(row, result)
        self._show_overall(0.0)

    def _show_file_result(self, row: _FileRow, result) -> None:
        style = self.style()
        if isinstance(result, NstVideoError):
            row.reset()
            row.set_state("failed", str(result))
            message = str(result)  # it usually names the file already
            text = message if str(row.path) in message else f"{row.path.name}: {message}"
            icon = QStyle.StandardPixmap.SP_MessageBoxCritical
        else:
            row.bar.setRange(0, max(1, row.done))
            row.bar.setValue(max(1, row.done))
            row.set_state("done", str(result))
            icon, text = QStyle.StandardPixmap.SP_DialogApplyButton, f"{row.path.name} -> {result}"
        self.results.addItem(QListWidgetItem(style.standardIcon(icon), text))
        self.results.scrollToBottom()

    def _show_overall(self, current_fraction: float) -> None:
        total = len(self._rows)
        self.overall.setValue(round(STEPS_PER_FILE * (self._finished_files + current_fraction)))
        self.overall_label.setText(f"{self._finished_files} of {total} video(s)")

    def _on_job_done(self, summary: ConvertSummary) -> None:
        if self._thread is not None:
            self._thread.join()  # it has returned, or is about to: the summary is its last act
        self._thread = None
        for row in self._rows:
            if row.path in summary.failed and row.state != "failed":
                self._show_file_result(row, summary.failed[row.path])  # the whole job failed early
            elif summary.cancelled and row.state in ("waiting", "converting"):
                row.reset("cancelled")
        self._set_running(False)
        self._say(self._summary_text(summary))
        self.open_folder_button.setVisible(bool(summary.written))
        self.finished.emit(summary)

    def _summary_text(self, summary: ConvertSummary) -> str:
        total = len(self._rows)
        done = f"Converted {len(summary.written)} of {total} video(s)"
        failed = f"; {len(summary.failed)} failed (see above)" if summary.failed else ""
        if summary.cancelled:
            return f"Cancelled. {done}{failed}; the unfinished video was discarded."
        return f"{done}{failed}."

    # -- small slots ----------------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        self._settings.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.open_folder_button.setVisible(False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.add_button.setEnabled(not running)
        self.remove_button.setEnabled(not running and bool(self.table.selectedItems()))
        self.start_button.setEnabled(not running and bool(self._rows) and self.style_combo.count() > 0)

    def _say(self, message: str) -> None:
        self.status_label.setText(message)

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add videos", str(self._start_folder()), VIDEO_FILTER)
        self.add_files(paths)

    def _start_folder(self) -> Path:
        return self._rows[-1].path.parent if self._rows else Path.home()

    def _remove_selected(self) -> None:
        for index in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(index)
            del self._rows[index]
        self._update_buttons()

    def _choose_out_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.out_dir_edit.text() or str(Path.home()))
        if folder:
            self.set_output_folder(folder)

    def _mark_out_dir_chosen(self, _text: str) -> None:
        self._out_dir_chosen = True

    def _open_out_dir(self) -> None:
        if self._last_out_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._last_out_dir)))

    # -- drag and drop ------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and not self.is_running():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        self.add_files(p for p in paths if Path(p).is_file())
        event.acceptProposedAction()
