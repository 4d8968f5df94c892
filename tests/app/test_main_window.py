"""The main window on a real session and real clips (pytest-qt, offscreen): what a user sees and does."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PyQt6 import sip
from PyQt6.QtCore import QSettings, Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QStyledItemDelegate

from nstvideo.app.live import LiveController
from nstvideo.app.main_window import MainWindow
from nstvideo.core.styles import StyleInfo, save_style, user_style_dir
from nstvideo.core.transformer_net import TransformerNet
from nstvideo.video.cameras import list_cameras
from nstvideo.video.session import SessionConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def open_window(qtbot, tmp_path, settings):
    """``open_window(source=..., style=...)``: a shown window attached to a real session painting at 160 px."""
    windows: list[MainWindow] = []

    def make(source=None, style=None) -> MainWindow:
        window = MainWindow(settings, source=None if source is None else str(source), style=style)
        qtbot.addWidget(window)
        window.show()
        config = SessionConfig(max_side=160, device="cpu", runtime="torch", record_dir=tmp_path, snapshot_dir=tmp_path)
        window.attach(LiveController(config, parent=window))
        windows.append(window)
        return window

    yield make
    for window in windows:
        if not sip.isdeleted(window):
            window.close()


def shown(window: MainWindow):
    return window.view._painted, window.view._original


def wait_for_painting(qtbot, window: MainWindow, timeout: int = 30_000) -> None:
    def painted():
        image, original = shown(window)
        assert image is not None and original is not None
        assert np.abs(image.astype(int) - original.astype(int)).mean() > 5

    qtbot.waitUntil(painted, timeout=timeout)


def test_demo_clip_plays_painted_under_the_no_camera_banner(qtbot, open_window):
    if list_cameras():
        pytest.skip("this machine has a camera: the demo fallback is for machines without one")
    window = open_window(style="starry_night")
    wait_for_painting(qtbot, window)
    assert window.windowTitle().startswith("nstvideo")
    assert window.banner.isVisible() and "No camera was found" in window.banner_text.text()
    assert window.source_combo.currentText() == "Demo clip"
    assert window.current_style_name() == "starry_night"
    qtbot.waitUntil(lambda: "fps" in window.stats_label.text() and "latency" in window.stats_label.text())
    assert "cpu" in window.device_label.text()
    # Still usable: the compare key shows the original, the style key moves on.
    QTest.keyClick(window, Qt.Key.Key_C)
    assert window.compare_combo.currentText() == "Before | after"


def test_style_keys_switch_live_and_strength_zero_shows_the_original(qtbot, open_window, video_dir):
    window = open_window(source=video_dir / "person_walking_room.mp4", style="starry_night")
    wait_for_painting(qtbot, window)
    session = window.controller.session
    assert not window.banner.isVisible()
    before = session.style.info.name
    QTest.keyClick(window, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: session.style.status == "ready" and session.style.info.name != before, timeout=20_000)
    assert window.current_style_name() == session.style.info.name
    assert session.state.status == "playing"
    QTest.keyClick(window, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: session.style.info.name == before, timeout=20_000)

    window.strength.setValue(0)
    qtbot.waitUntil(lambda: session.options.strength == 0)
    window.view._painted = None

    def unpainted():
        image, original = shown(window)
        assert image is not None and np.array_equal(image, original)

    qtbot.waitUntil(unpainted, timeout=10_000)


def test_record_twice_snapshot_and_close_while_recording(qtbot, open_window, video_dir, tmp_path):
    window = open_window(source=video_dir / "person_walking_room.mp4", style="picasso_selfportrait_1907")
    wait_for_painting(qtbot, window)
    for _ in range(2):
        window.record_button.click()
        qtbot.waitUntil(lambda: "REC" in window.rec_label.text())
        qtbot.wait(2000)
        QTest.keyClick(window, Qt.Key.Key_R)
        qtbot.waitUntil(lambda: window.rec_file_label.text().startswith("Saved"), timeout=20_000)
    QTest.keyClick(window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: len(list(tmp_path.glob("nstvideo-*.png"))) == 1, timeout=10_000)
    window.record_button.click()
    qtbot.waitUntil(lambda: "REC" in window.rec_label.text())
    qtbot.wait(1000)
    window.close()  # while recording: the file must be finished and play
    videos = sorted(tmp_path.glob("nstvideo-*.mp4"))
    assert len(videos) == 3
    for path in videos:
        with av.open(str(path)) as container:
            pts = [f.pts for f in container.decode(video=0)]
        assert len(pts) >= 5 and all(b > a for a, b in zip(pts, pts[1:])), path
    assert not list(tmp_path.glob(".*partial*"))


def test_the_dropdown_names_paintings_and_a_new_style_file_appears(qtbot, open_window, video_dir):
    window = open_window(source=video_dir / "person_walking_room.mp4")
    qtbot.waitUntil(lambda: window.style_combo.count() >= 3)  # none + the shipped styles
    combo = window.style_combo
    labels = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
    assert labels["starry_night"] == "The Starry Night\nVincent van Gogh"  # the painting and its painter
    assert isinstance(combo.itemDelegate(), QStyledItemDelegate)  # which draws both lines in the list too
    # and a thumbnail the style paints of the video, made in the background
    qtbot.waitUntil(lambda: all(not combo.itemIcon(i).isNull() for i in range(1, combo.count())), timeout=60_000)
    save_style(user_style_dir() / "fresh.safetensors", TransformerNet(width=0.25), StyleInfo(name="fresh"))
    qtbot.waitUntil(lambda: window.style_combo.findData("fresh") >= 0, timeout=10_000)


def test_convert_and_train_from_the_menus(qtbot, open_window, video_dir, vgg_file, data_dir, tmp_path):
    from nstvideo.app.train_dialog import TrainPreset

    window = open_window(source=video_dir / "person_walking_room.mp4", style="starry_night")
    convert = window.open_convert_dialog()
    assert convert.isVisible() and convert.style_combo.currentData() is not None
    convert.close()

    photos = tmp_path / "photos"
    photos.mkdir()
    for src in sorted((data_dir / "train").glob("*.jpg"))[:6]:
        (photos / src.name).write_bytes(src.read_bytes())
    tiny = TrainPreset("Tiny", iterations=6, image_size=64, width=0.25, photo_size=None, style_size=None,
                       batch_size=2, checkpoint_every=100, preview_every=3, log_every=2)
    train = window.open_train_dialog(presets=(tiny,), vgg_weights=vgg_file, threads=1)
    train.set_painting(data_dir / "styles" / "the_scream.jpg")
    train.set_photos(photos)
    train.set_name("menu_scream")
    assert train.start()
    qtbot.waitUntil(lambda: window.style_combo.findData("menu_scream") >= 0, timeout=120_000)
    assert window.controller.session.state.status == "playing"  # the live view went on meanwhile


def test_a_stream_that_dies_is_reported_in_the_window(qtbot, open_window, video_dir, tmp_path, http_server):
    data = (video_dir / "pancake_kitchen.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    window = open_window(source=f"{http_server}/cut.mp4")
    qtbot.waitUntil(lambda: window.view.has_frame, timeout=30_000)
    qtbot.waitUntil(lambda: window.banner.isVisible() and "stopped after" in window.banner_text.text(),
                    timeout=60_000)
    assert "trying again" in window.banner_text.text()


def test_settings_are_remembered(qtbot, open_window, video_dir, settings):
    window = open_window(source=video_dir / "person_walking_room.mp4", style="starry_night")
    qtbot.waitUntil(lambda: window.controller.session.style.status == "ready", timeout=20_000)
    qtbot.waitUntil(lambda: window.windowTitle() == "nstvideo · person_walking_room.mp4", timeout=20_000)
    assert window.auto_brush.isChecked() and not window.brush.isEnabled()  # the session picks the brush
    assert window.controller.session.auto_brush
    window.auto_brush.setChecked(False)
    assert window.brush.isEnabled() and not window.controller.session.auto_brush
    window.brush.setValue(3)
    assert not window.steady.isChecked()
    window.steady.setChecked(True)
    window.preserve.setChecked(True)
    window.strength.setValue(70)
    qtbot.waitUntil(lambda: window.controller.session.stats().brush == 3.0)
    window.close()
    again = open_window()
    assert (again.brush.value(), again.preserve.isChecked(), again.strength.value()) == (3, True, 70)
    assert not again.auto_brush.isChecked() and again.steady.isChecked()
    assert again.current_style_name() == "starry_night"
    qtbot.waitUntil(lambda: again.controller.session.state.status == "playing", timeout=20_000)
    assert again.controller.session.state.source == str(video_dir / "person_walking_room.mp4")


def test_main_py_paints_a_clip_and_ctrl_c_exits_cleanly(tmp_path, video_dir):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"))
    process = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--source",
                                str(video_dir / "person_walking_room.mp4"), "--style", "starry_night", "--runtime", "torch"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(8)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    # The clip played: the window remembers a source only once it was playing.
    saved = QSettings(str(tmp_path / "config" / "nstvideo" / "nstvideo.conf"), QSettings.Format.IniFormat)
    assert saved.value("source") == str(video_dir / "person_walking_room.mp4")
    assert saved.value("style") == "starry_night"


def test_the_window_module_does_not_import_torch():
    """The window shows before the engine loads: neither the launcher nor the window may pull torch in."""
    code = ("import sys; import nstvideo.app.launch, nstvideo.app.main_window, nstvideo.cli; "
            "print(sorted(m for m in ('torch', 'cv2', 'av') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_style_file_given_by_path_paints_and_no_style_is_remembered(qtbot, open_window, video_dir, tmp_path):
    path = save_style(tmp_path / "mine.safetensors", TransformerNet(width=0.25), StyleInfo(name="mine"))
    window = open_window(source=video_dir / "person_walking_room.mp4", style=str(path))
    session = window.controller.session
    qtbot.waitUntil(lambda: session.style.status == "ready", timeout=20_000)
    assert session.style.info.name == "mine" and window.current_style_name() == str(path)
    assert "mine (file)" in window.style_combo.currentText()
    window.style_combo.setCurrentIndex(0)  # none
    qtbot.waitUntil(lambda: session.style.status == "none")
    window.close()
    again = open_window(source=video_dir / "person_walking_room.mp4")
    assert again.current_style_name() is None


def test_the_launchers_choices_are_the_cores():
    from nstvideo.app.launch import DEVICES, RUNTIMES
    from nstvideo.core.device import DEVICE_CHOICES, RUNTIME_CHOICES

    assert (DEVICES, RUNTIMES) == (DEVICE_CHOICES, RUNTIME_CHOICES)


def test_an_unknown_style_is_said_and_a_shipped_one_paints(qtbot, open_window, video_dir):
    window = open_window(source=video_dir / "person_walking_room.mp4", style="van_gogh")
    assert "unknown style 'van_gogh'" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.controller.session.style.status == "ready", timeout=20_000)
    from nstvideo.core.styles import SHIPPED_DIR

    assert window.current_style_name() in {p.stem for p in SHIPPED_DIR.glob("*.safetensors")}
