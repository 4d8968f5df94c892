"""The main window: the live view and its controls. Signals and library calls only.

It is shown before PyTorch is imported (the import takes seconds), so this module imports only Qt and
light parts of nstvideo at the top; everything that touches torch arrives with the ``LiveController``
handed to ``attach()`` once it is loaded.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QSettings, Qt, QTimer, QUrl
from PyQt6.QtGui import QAction, QDesktopServices, QIcon, QImage, QKeySequence, QPixmap
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QFrame, QHBoxLayout, QInputDialog,
                             QLabel, QMainWindow, QMessageBox, QPushButton, QSizePolicy, QSlider, QStyledItemDelegate,
                             QVBoxLayout, QWidget)

from .style_labels import style_label, style_tooltip
from .video_view import Compare, VideoView, to_qimage

if TYPE_CHECKING:
    from ..core.styles import StyleInfo
    from .live import LiveController

TITLE = "nstvideo"
VIDEO_FILTER = "Videos (*.mp4 *.m4v *.mov *.mkv *.avi *.webm);;All files (*)"
NO_STYLE = "(none: the camera as it is)"
NO_STYLE_SETTING = "(none)"  # remembered when the user chose no style: "" or a missing key mean "not chosen"
# Source combo entries that are actions, not sources.
OPEN_FILE, OPEN_URL, DEMO = "open-file", "open-url", "demo"
# What a camera is asked for: (label, resolution, frames/s); it may give the nearest mode it has.
CAMERA_MODES = (("Camera's default", None, None), ("640 x 480, 30 fps", (640, 480), 30.0),
                ("1280 x 720, 30 fps", (1280, 720), 30.0), ("1920 x 1080, 30 fps", (1920, 1080), 30.0),
                ("640 x 480, 60 fps", (640, 480), 60.0))


def _fmt_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def _about(info: "StyleInfo") -> str:
    """The line under the dropdown: what the label leaves out (the style's name for --style, the year, the
    rights)."""
    return " \u00b7 ".join(p for p in (info.name, info.year, info.rights) if p)


class MainWindow(QMainWindow):
    """``attach(controller)`` once the engine is loaded; until then the view says what is loading."""

    def __init__(self, settings: QSettings | None = None, *, source: str | None = None, style: str | None = None):
        super().__init__()
        self.settings = settings or QSettings("nstvideo", "nstvideo")
        self.controller: LiveController | None = None
        self._cli_source, self._cli_style = source, style
        self._styles: dict[str, object] = {}  # name (or file path) -> StyleInfo
        self._files: dict[str, object] = {}  # path -> StyleInfo of styles given as files, not installed
        self._closing = False
        self._thumbnails: dict[str, QIcon] = {}
        self._recording_since: float | None = None
        self._recording_path: Path | None = None
        self._state = None
        self._style_loading = ""
        self._dialogs: list[QWidget] = []
        self.setWindowTitle(f"{TITLE}: loading")
        self.setMinimumSize(900, 560)
        self._build()
        self._build_menus()
        self._restore()
        self.view.clear("Loading the painter (PyTorch)…")
        self._tick = QTimer(self, interval=500, timeout=self._update_recording_label)
        self._tick.start()

    # -- layout -----------------------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        outer = QHBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 6)
        left = QVBoxLayout()
        self.banner = self._build_banner()
        left.addWidget(self.banner)
        self.view = VideoView()
        left.addWidget(self.view, 1)
        outer.addLayout(left, 1)
        self.panel = self._build_panel()
        outer.addWidget(self.panel)
        self.setCentralWidget(central)
        self.stats_label = QLabel("")
        self.device_label = QLabel("")
        self.rec_label = QLabel("")
        self.rec_label.setStyleSheet("color: #d33; font-weight: bold;")
        bar = self.statusBar()
        bar.addPermanentWidget(self.rec_label)
        bar.addPermanentWidget(self.stats_label)
        bar.addPermanentWidget(self.device_label)

    def _build_banner(self) -> QFrame:
        banner = QFrame()
        banner.setObjectName("banner")
        banner.setStyleSheet("#banner { background: #fff3cd; border: 1px solid #e0c060; border-radius: 4px; }"
                             "#banner QLabel { color: #5a4500; }")
        row = QHBoxLayout(banner)
        row.setContentsMargins(10, 6, 10, 6)
        self.banner_text = QLabel("")
        self.banner_text.setWordWrap(True)
        row.addWidget(self.banner_text, 1)
        self.pick_camera_button = QPushButton("Pick a camera")
        self.pick_camera_button.clicked.connect(lambda: self.source_combo.showPopup())
        self.banner_open_button = QPushButton("Open video file…")
        self.banner_open_button.clicked.connect(self.choose_video_file)
        self.retry_button = QPushButton("Retry camera")
        self.retry_button.clicked.connect(self.retry_camera)
        for button in (self.pick_camera_button, self.banner_open_button, self.retry_button):
            row.addWidget(button)
        banner.hide()
        return banner

    def _build_panel(self) -> QWidget:
        panel = QWidget()
        panel.setFixedWidth(340)
        form = QFormLayout(panel)
        form.setContentsMargins(8, 4, 4, 4)
        form.setVerticalSpacing(10)

        self.source_combo = QComboBox()
        self.source_combo.setToolTip("Where the video comes from")
        self.source_combo.activated.connect(self._source_chosen)
        form.addRow("Source", self.source_combo)
        self.camera_mode = QComboBox()
        self.camera_mode.setToolTip("What to ask the camera for (it paints at most 640 px wide either way)")
        for label, *_ in CAMERA_MODES:
            self.camera_mode.addItem(label)
        self.camera_mode.currentIndexChanged.connect(self._camera_mode_chosen)
        form.addRow("Camera", self.camera_mode)

        self.style_combo = QComboBox()
        self.style_combo.setIconSize(QPixmap(48, 48).size())
        self.style_combo.setMinimumHeight(56)
        self.style_combo.setItemDelegate(QStyledItemDelegate(self.style_combo))  # the list shows both lines too
        self.style_combo.currentIndexChanged.connect(self._style_chosen)
        form.addRow("Style", self.style_combo)
        self.style_about = QLabel("")
        self.style_about.setWordWrap(True)
        self.style_about.setStyleSheet("color: #666;")
        form.addRow("", self.style_about)

        self.strength = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=100)
        self.strength.setToolTip("How much of the painting: 0 shows the video as it is")
        self.strength_value = QLabel("100%")
        form.addRow("Strength", self._with_value(self.strength, self.strength_value))
        self.brush = QSlider(Qt.Orientation.Horizontal, minimum=1, maximum=8, value=1)
        self.brush.setToolTip("Brush size: larger strokes (and faster painting)")
        self.brush_value = QLabel("1")
        self.auto_brush = QCheckBox("Auto")
        self.auto_brush.setChecked(True)
        self.auto_brush.setToolTip("Pick the finest brush that keeps up with the video on this computer")
        self.auto_brush.toggled.connect(self._auto_brush_toggled)
        brush_row = self._with_value(self.brush, self.brush_value)
        brush_row.layout().addWidget(self.auto_brush)
        form.addRow("Brush", brush_row)
        self.preserve = QCheckBox("Keep the video's colours")
        form.addRow("", self.preserve)
        self.steady = QCheckBox("Steady strokes (less flicker)")
        self.steady.setToolTip("Strokes follow the motion instead of being painted anew each frame "
                               "(optical flow; a few ms a frame)")
        self.steady.toggled.connect(self._steady_toggled)
        form.addRow("", self.steady)
        # Sliders fire on every pixel of a drag; the session takes the newest value before each frame,
        # so a short timer that coalesces them is all the throttling needed.
        self._options_timer = QTimer(self, singleShot=True, interval=30, timeout=self._push_options)
        for signal in (self.strength.valueChanged, self.brush.valueChanged, self.preserve.toggled):
            signal.connect(self._options_changed)

        self.compare_combo = QComboBox()
        for mode, label in ((Compare.PAINTED, "Painted"), (Compare.SPLIT, "Before | after"),
                            (Compare.ORIGINAL, "Original")):
            self.compare_combo.addItem(label, mode)
        self.compare_combo.currentIndexChanged.connect(
            lambda: self.view.set_compare(self.compare_combo.currentData()))
        form.addRow("Compare (C)", self.compare_combo)

        self.record_button = QPushButton("● Record (R)")
        self.record_button.setCheckable(True)
        self.record_button.clicked.connect(self.toggle_recording)
        self.snapshot_button = QPushButton("Snapshot (S)")
        self.snapshot_button.clicked.connect(self.take_snapshot)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.snapshot_button)
        form.addRow(buttons)
        self.rec_file_label = QLabel("")
        self.rec_file_label.setWordWrap(True)
        self.rec_file_label.setStyleSheet("color: #666;")
        form.addRow(self.rec_file_label)

        self.vcam_check = QCheckBox("Send to virtual camera")
        self.vcam_check.setToolTip("Show the painted video in video calls (needs pyvirtualcam and a backend)")
        self.vcam_check.clicked.connect(lambda on: self.controller and self.controller.session.set_virtual_camera(on))
        form.addRow(self.vcam_check)
        self.vcam_note = QLabel("")
        self.vcam_note.setWordWrap(True)
        self.vcam_note.setStyleSheet("color: #666;")
        form.addRow(self.vcam_note)

        self.fullscreen_button = QPushButton("Fullscreen (F)")
        self.fullscreen_button.clicked.connect(self.toggle_fullscreen)
        form.addRow(self.fullscreen_button)
        self._engine_controls = (self.source_combo, self.camera_mode, self.style_combo, self.strength, self.brush,
                                 self.auto_brush, self.preserve, self.steady, self.record_button, self.snapshot_button, self.vcam_check)
        for w in self._engine_controls:
            w.setEnabled(False)  # until the engine is loaded
        return panel

    @staticmethod
    def _with_value(slider: QSlider, label: QLabel) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(slider, 1)
        label.setMinimumWidth(38)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(label)
        return box

    def _action(self, menu, text: str, slot, shortcut: str | QKeySequence.StandardKey | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        if menu is not None:
            menu.addAction(action)
        self.addAction(action)  # shortcuts work in fullscreen too, with the menu bar hidden
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open video file…", self.choose_video_file, "Ctrl+O")
        self._action(file_menu, "Open stream URL…", self.choose_url)
        self._action(file_menu, "Convert videos…", self.open_convert_dialog)
        file_menu.addSeparator()
        self._action(file_menu, "Quit", self.close, "Ctrl+Q")
        style_menu = bar.addMenu("&Style")
        self._action(style_menu, "Next style", lambda: self.step_style(1), "N")
        self._action(style_menu, "Previous style", lambda: self.step_style(-1), "P")
        style_menu.addSeparator()
        self._action(style_menu, "Train new style…", self.open_train_dialog)
        self._action(style_menu, "Import .pth…", self.import_pth)
        self._action(style_menu, "Open styles folder", self.open_styles_folder)
        view_menu = bar.addMenu("&View")
        self._action(view_menu, "Compare before/after", self.cycle_compare, "C")
        self._action(view_menu, "Fullscreen", self.toggle_fullscreen, "F")
        self._action(None, "Leave fullscreen", self.leave_fullscreen, "Esc")
        self._action(view_menu, "Record", self.toggle_recording_key, "R")
        self._action(view_menu, "Snapshot", self.take_snapshot, "S")
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "About nstvideo", self.show_about)

    # -- settings ---------------------------------------------------------------------------------------

    def _restore(self) -> None:
        s = self.settings
        geometry = s.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 700)
        self.strength.setValue(int(s.value("strength", 100)))
        self.brush.setValue(int(s.value("brush", 1)))
        self.auto_brush.setChecked(s.value("auto_brush", "true") in ("true", True))
        self.steady.setChecked(s.value("steady", "false") in ("true", True))
        self.preserve.setChecked(s.value("preserve_color", "false") in ("true", True))
        self.camera_mode.setCurrentIndex(min(int(s.value("camera_mode", 0)), len(CAMERA_MODES) - 1))
        self._update_option_labels()

    def _save(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("strength", self.strength.value())
        s.setValue("brush", self.brush.value())
        s.setValue("auto_brush", self.auto_brush.isChecked())
        s.setValue("steady", self.steady.isChecked())
        s.setValue("preserve_color", self.preserve.isChecked())
        s.setValue("camera_mode", self.camera_mode.currentIndex())
        if self.style_combo.count():
            s.setValue("style", self.current_style_name() or NO_STYLE_SETTING)
        if self._state is not None and self._state.status == "playing" and not self._state.demo:
            s.setValue("source", str(self._state.source))
        s.sync()

    # -- the engine -------------------------------------------------------------------------------------

    def attach(self, controller: LiveController) -> None:
        """Connect to the loaded engine, fill the controls, open the source and the style."""
        self.controller = controller
        c = controller
        c.stateChanged.connect(self._on_state)
        c.styleChanged.connect(self._on_style)
        c.recordingChanged.connect(self._on_recording)
        c.virtualCameraChanged.connect(self._on_vcam)
        c.statsChanged.connect(self._on_stats)
        c.errorOccurred.connect(self._on_error)
        c.frameReady.connect(self._on_frame)
        c.snapshotSaved.connect(lambda path: self.statusBar().showMessage(f"Snapshot saved: {path}", 8000))
        c.camerasFound.connect(self._fill_sources)
        c.thumbnailReady.connect(self._on_thumbnail)
        for w in self._engine_controls:
            w.setEnabled(True)
        self._auto_brush_toggled(self.auto_brush.isChecked())
        self._steady_toggled(self.steady.isChecked())
        from ..video.vcam import unavailable_reason

        if (reason := unavailable_reason()) is not None:
            self.vcam_check.setEnabled(False)
            self.vcam_note.setText(reason[:1].upper() + reason[1:])
        self.setWindowTitle(TITLE)
        self.view.clear("Opening the video…")
        self._push_options()
        self._camera_mode_chosen(self.camera_mode.currentIndex())
        saved = self.settings.value("style") or None
        chosen = self._cli_style or (None if saved == NO_STYLE_SETTING else saved)
        # A --style that cannot be found is said in the status bar, and the first style paints instead.
        self.refresh_styles(select=chosen, first_if_none=self._cli_style is not None or saved is None)
        source = self._cli_source
        if source is not None:
            c.session.open_source(source)
        else:
            c.session.open_default(self.settings.value("source") or None)
        c.session.request_cameras()
        c.session.request_thumbnails()
        self._watch_style_folder()

    def _watch_style_folder(self) -> None:
        from PyQt6.QtCore import QFileSystemWatcher

        from ..core.styles import user_style_dir

        folder = user_style_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self._watcher = QFileSystemWatcher([str(folder)], self)
        self._watcher.directoryChanged.connect(lambda _: self.refresh_styles(select=self.current_style_name()))

    def refresh_styles(self, select: str | None = None, first_if_none: bool = False) -> None:
        """List shipped and user styles (the dropdown is rebuilt; the current style stays selected)."""
        from ..core.styles import installed_styles

        installed = installed_styles()
        if select is not None and select not in installed and select not in self._files:
            self._add_style_file(select)
        styles = installed | self._files
        if list(styles) == list(self._styles) and select == self.current_style_name():
            return
        new = [name for name in installed if name not in self._styles and self._styles]
        self._styles = styles
        combo = self.style_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(NO_STYLE, None)
        for key, info in styles.items():
            label = style_label(info) if key in installed else style_label(info, " (file)")
            combo.addItem(self._thumbnails.get(key, QIcon()), label, key)
            combo.setItemData(combo.count() - 1, style_tooltip(info, key), Qt.ItemDataRole.ToolTipRole)
        combo.blockSignals(False)
        if select not in styles:
            select = next(iter(styles), None) if first_if_none else None
        index = max(0, combo.findData(select)) if select else 0
        if combo.currentIndex() == index:
            self._style_chosen(index)
        combo.setCurrentIndex(index)
        if new and self.controller is not None:
            self.controller.session.request_thumbnails()
            self.statusBar().showMessage(f"New style: {', '.join(new)}", 8000)

    def _add_style_file(self, spec: str) -> None:
        """A style given as a file (``--style PATH``) that is not installed: listed for this run."""
        from ..core.errors import NstVideoError
        from ..core.styles import read_info, resolve_style

        try:
            path = resolve_style(spec)
            self._files[str(path)] = read_info(path)
        except NstVideoError as exc:
            self._on_error(str(exc))

    def current_style_name(self) -> str | None:
        """The selected style's name, or its file's path for a style that is not installed; None for none."""
        return self.style_combo.currentData()

    # -- slots: controls --------------------------------------------------------------------------------

    def _style_chosen(self, index: int) -> None:
        name = self.style_combo.itemData(index)
        info = self._styles.get(name)
        self.style_about.setText(_about(info) if info is not None else "")
        if self.controller is not None:
            self.controller.session.set_style(name)

    def step_style(self, step: int) -> None:
        count = self.style_combo.count()
        if count > 1:
            # Cycle through the styles, skipping the "none" entry at 0.
            current = max(1, self.style_combo.currentIndex())
            self.style_combo.setCurrentIndex((current - 1 + step) % (count - 1) + 1)

    def _options_changed(self) -> None:
        self._update_option_labels()
        self._options_timer.start()

    def _update_option_labels(self) -> None:
        self.strength_value.setText(f"{self.strength.value()}%")
        self.brush_value.setText(str(self.brush.value()))

    def _push_options(self) -> None:
        if self.controller is not None:
            self.controller.set_options(self.strength.value() / 100, float(self.brush.value()),
                                        self.preserve.isChecked())

    def _camera_mode_chosen(self, index: int) -> None:
        if self.controller is not None:
            _, resolution, fps = CAMERA_MODES[index]
            self.controller.session.set_camera_options(resolution, fps)

    def _fill_sources(self, cameras) -> None:
        combo = self.source_combo
        combo.blockSignals(True)
        combo.clear()
        for camera in cameras:
            combo.addItem(str(camera), camera.index)
        if not cameras:
            combo.addItem("No camera found", None)
            combo.model().item(0).setEnabled(False)
        combo.addItem("Demo clip", DEMO)
        combo.addItem("Open video file…", OPEN_FILE)
        combo.addItem("Open stream URL…", OPEN_URL)
        combo.blockSignals(False)
        self._select_current_source()

    def _select_current_source(self) -> None:
        state = self._state
        if state is None:
            return
        key = DEMO if state.demo else state.source
        index = self.source_combo.findData(key)
        if index < 0 and state.source is not None:
            self.source_combo.insertItem(self.source_combo.count() - 3, state.description, state.source)
            index = self.source_combo.findData(state.source)
        self.source_combo.blockSignals(True)
        self.source_combo.setCurrentIndex(max(0, index))
        self.source_combo.blockSignals(False)

    def _source_chosen(self, index: int) -> None:
        data = self.source_combo.itemData(index)
        if data == OPEN_FILE:
            self.choose_video_file()
        elif data == OPEN_URL:
            self.choose_url()
        elif data == DEMO:
            from ..assets import demo_clip

            self.open_source(str(demo_clip()))
        elif data is not None:
            self.open_source(data)
        self._select_current_source()

    def open_source(self, source) -> None:
        state = self._state
        if state is not None and state.status == "playing" and str(state.source) == str(source):
            return  # already playing: reopening a camera would only make it stutter
        if self.controller is not None:
            self.controller.session.open_source(source)

    def choose_video_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video file", str(Path.home()), VIDEO_FILTER)
        if path:
            self.open_source(path)

    def choose_url(self) -> None:
        url, ok = QInputDialog.getText(self, "Open a stream", "Stream URL (rtsp://, http://, …):")
        if ok and url.strip():
            self.open_source(url.strip())

    def retry_camera(self) -> None:
        if self.controller is not None:
            self.controller.session.open_default()

    def toggle_recording(self, on: bool) -> None:
        if self.controller is None:
            self.record_button.setChecked(False)
            return
        if on:
            self.controller.session.start_recording()
        else:
            self.controller.session.stop_recording()

    def toggle_recording_key(self) -> None:
        self.record_button.click()

    def take_snapshot(self) -> None:
        if self.controller is not None:
            self.controller.session.snapshot(original=self.view.compare is Compare.ORIGINAL)

    def cycle_compare(self) -> None:
        self.compare_combo.setCurrentIndex(list(Compare).index(self.view.compare.next()))

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.leave_fullscreen()
        else:
            for w in (self.panel, self.menuBar(), self.statusBar()):
                w.hide()
            self.showFullScreen()

    def leave_fullscreen(self) -> None:
        if self.isFullScreen():
            for w in (self.panel, self.menuBar(), self.statusBar()):
                w.show()
            self.showNormal()

    # -- slots: the engine ------------------------------------------------------------------------------

    def _on_frame(self) -> None:
        frame = self.controller.take_frame() if self.controller else None
        if frame is not None:
            self.view.show_frame(frame.image, frame.original)

    def _on_state(self, state) -> None:
        self._state = state
        status = state.status
        self.setWindowTitle(f"{TITLE} · {state.description}" if status == "playing" else TITLE)
        if status == "opening" and not self.view.has_frame:
            self.view.set_caption(f"Opening {state.description}…")
        elif status == "playing":
            self.view.set_caption("")
        elif status in ("reconnecting", "failed", "ended"):
            self.view.set_caption(state.message)
        problem = state.demo or status in ("reconnecting", "failed")
        self.banner_text.setText(state.message if problem else "")
        self.banner.setVisible(bool(problem and state.message))
        self._select_current_source()

    def _on_style(self, style) -> None:
        if style.status == "loading":
            message = style.message or f"Loading style {Path(style.spec).stem}…"
            self._style_loading = message
            self.statusBar().showMessage(message, 60_000 if style.message else 3000)
            if not self.view.has_frame:
                self.view.set_caption(message)
        elif style.status == "failed":
            self._select_style_quietly(self.controller.session.style if self.controller else None)
        elif style.status == "ready":
            self.device_label.setText(style.runtime)
            if self.statusBar().currentMessage() == self._style_loading:
                self.statusBar().clearMessage()

    def _select_style_quietly(self, style) -> None:
        """Show in the dropdown the style that really paints (after one failed to load)."""
        key = None
        if style is not None and style.info is not None:
            key = style.info.name if style.info.name in self._styles else str(style.info.path)
        index = self.style_combo.findData(key) if key else 0
        self.style_combo.blockSignals(True)
        self.style_combo.setCurrentIndex(max(0, index))
        self.style_combo.blockSignals(False)

    def _on_stats(self, stats) -> None:
        self.stats_label.setText(stats.summary())
        if stats.auto_brush and stats.brush is not None:  # the slider shows what the session chose
            self.brush.blockSignals(True)
            self.brush.setValue(round(stats.brush))
            self.brush.blockSignals(False)
            self._update_option_labels()

    def _steady_toggled(self, on: bool) -> None:
        if self.controller is not None:
            self.controller.session.set_stabilize(on)

    def _auto_brush_toggled(self, on: bool) -> None:
        """Auto: the session chooses (the slider follows it); off: the slider's brush, from now on."""
        if self.controller is None:
            return
        self.brush.setEnabled(not on)
        self.controller.session.set_auto_brush(on)
        if not on:
            self._push_options()

    def _on_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)

    def _on_recording(self, rec) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(rec.active)
        self.record_button.blockSignals(False)
        self.record_button.setText("■ Stop (R)" if rec.active else "● Record (R)")
        if rec.active:
            self._recording_since, self._recording_path = rec.started, rec.path
            self.rec_file_label.setText(f"Recording to {rec.path}")
        else:
            self._recording_since = None
            if rec.written:
                self.rec_file_label.setText(f"Saved {rec.path} ({rec.frames} frames)")
                self.statusBar().showMessage(f"Recording saved: {rec.path}", 10_000)
            else:
                self.rec_file_label.setText(rec.message or "Nothing was recorded")
        self._update_recording_label()

    def _update_recording_label(self) -> None:
        if self._recording_since is None:
            self.rec_label.setText("")
        else:
            name = self._recording_path.name if self._recording_path else ""
            self.rec_label.setText(f"● REC {_fmt_elapsed(time.monotonic() - self._recording_since)} {name}")

    def _on_vcam(self, state) -> None:
        self.vcam_check.setChecked(state.active)
        self.vcam_note.setText(state.message)

    def _on_thumbnail(self, name: str, image) -> None:
        icon = QIcon(QPixmap.fromImage(to_qimage(image).copy()))
        self._thumbnails[name] = icon
        index = self.style_combo.findData(name)
        if index >= 0:
            self.style_combo.setItemIcon(index, icon)

    # -- menus ------------------------------------------------------------------------------------------

    def open_convert_dialog(self):
        from .convert_dialog import ConvertDialog

        dialog = ConvertDialog(current_style=self.current_style_name(), parent=self, device=self._device())
        self._show_dialog(dialog)
        return dialog

    def open_train_dialog(self, **options):
        """``options`` go to ``TrainDialog`` (presets, VGG weights, ...); training leaves a core to the live view."""
        import os

        from .train_dialog import TrainDialog

        options = {"device": self._device(), "threads": max(1, (os.cpu_count() or 2) - 1)} | options
        dialog = TrainDialog(self, **options)
        dialog.styleTrained.connect(lambda path: self.refresh_styles(select=self._style_name_of(path)))
        self._show_dialog(dialog)
        return dialog

    def _show_dialog(self, dialog: QWidget) -> None:
        self._dialogs = [d for d in self._dialogs if d.isVisible()]
        self._dialogs.append(dialog)  # closed with the window: a conversion or a training is stopped cleanly
        dialog.show()

    def _device(self) -> str:
        return self.controller.session.config.device if self.controller else "auto"

    @staticmethod
    def _style_name_of(path) -> str | None:
        from ..core.styles import read_info

        try:
            return read_info(path).name
        except Exception:
            return None

    def import_pth(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a pytorch/examples model", str(Path.home()),
                                              "PyTorch models (*.pth *.pt);;All files (*)")
        if not path:
            return
        name, ok = QInputDialog.getText(self, "Name the style", "Style name:", text=Path(path).stem)
        if not (ok and name.strip()):
            return
        from ..core.styles import import_pth

        from .jobs import run_job

        self.statusBar().showMessage(f"Importing {Path(path).name}…")
        run_job(import_pth, path, name.strip(),
                done=lambda out: self.refresh_styles(select=self._style_name_of(out)),
                failed=lambda exc: self._on_error(f"import failed: {exc}"))

    def open_styles_folder(self) -> None:
        from ..core.styles import user_style_dir

        folder = user_style_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def about_text(self) -> str:
        import av
        import cv2
        import torch
        from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR

        from .. import __version__
        from ..assets import DEMO_CLIP_CREDIT
        from ..core.styles import style_dirs

        device = self.controller.device if self.controller else "not loaded yet"
        folders = "<br>".join(str(d) for d in style_dirs())
        return (f"<h3>nstvideo {__version__}</h3>"
                "<p>Paints live video and video files in the style of a painting (Johnson et al. 2016 fast "
                "style transfer).</p>"
                f"<p><b>Painting on:</b> {device}</p>"
                f"<p><b>Styles live in:</b><br>{folders}</p>"
                f"<p>PyTorch {torch.__version__} · PyQt {PYQT_VERSION_STR} (Qt {QT_VERSION_STR}) · "
                f"OpenCV {cv2.__version__} · PyAV {av.__version__}</p>"
                f"<p style='color:#666'>{DEMO_CLIP_CREDIT}</p>")

    def show_about(self) -> None:
        QMessageBox.about(self, "About nstvideo", self.about_text())

    # -- closing ----------------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._closing:
            event.ignore()  # a second Ctrl+Q while the first is finishing
            return
        self._closing = True
        self._save()
        for dialog in list(self._dialogs):
            if hasattr(dialog, "stop_and_wait"):
                dialog.stop_and_wait()  # a training keeps its checkpoint: Resume continues it next time
            dialog.close()
        if self.controller is not None:
            self.view.clear("Closing…")
            self._shut_down(self.controller)
            self.controller = None
        super().closeEvent(event)

    def _shut_down(self, controller: LiveController) -> None:
        """The session's shutdown (joins threads, finishes a recording) on a thread of its own, with the GUI's
        events still served meanwhile, so the window repaints instead of freezing."""
        import threading

        from PyQt6.QtCore import QEventLoop

        worker = threading.Thread(target=controller.shutdown, name="nstvideo-close")
        worker.start()
        loop = QEventLoop()
        poll = QTimer(interval=20, timeout=lambda: worker.is_alive() or loop.quit())
        poll.start()
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        poll.stop()
        worker.join()
