"""The Train dialog runs real (tiny) trainings in its child process: real Qt, torch, VGG and photos."""
from __future__ import annotations

import shutil
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PyQt6.QtCore import QTimer  # noqa: E402
from PyQt6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from nstvideo.app.train_dialog import (  # noqa: E402
    QUICK, STANDARD, TrainDialog, TrainPreset, benchmark_seconds_per_iteration,
)

REPO = Path(__file__).resolve().parents[2]
# A few seconds on 2 busy cores: 64 px crops, a quarter-width network, batch 2, the painting at 64 px.
TINY = TrainPreset("Tiny", iterations=8, image_size=64, width=0.25, photo_size=None, style_size=None,
                   batch_size=2, checkpoint_every=100, preview_every=4, log_every=2)
LONGER = replace(TINY, label="Longer", iterations=24, log_every=1, preview_every=8)
RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def photos(data_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("train_photos")
    for src in sorted((data_dir / "train").glob("*.jpg"))[:8]:
        shutil.copy(src, folder / src.name)
    return folder


@pytest.fixture
def make_dialog(qtbot, vgg_file, photos, data_dir):
    """A dialog with the given presets and real inputs; one CPU thread, as training shares busy cores."""
    made = []

    def make(*presets: TrainPreset) -> TrainDialog:
        dialog = TrainDialog(presets=presets, vgg_weights=vgg_file, device="cpu", threads=1)
        qtbot.addWidget(dialog)
        dialog.set_painting(data_dir / "styles" / "starry_night.jpg")
        dialog.set_photos(photos)
        made.append(dialog)
        return dialog

    yield make
    for dialog in made:
        dialog.stop_and_wait()


def test_presets_are_the_shipped_recipe_and_show_their_time_before_starting(qtbot, make_dialog):
    recipe = tomllib.loads((REPO / "train" / "teachers" / "starry_night_lite.toml").read_text())
    for f in fields(STANDARD):
        if f.name in recipe and f.name not in ("preview_every",):
            assert getattr(STANDARD, f.name) == recipe[f.name], f.name
    assert QUICK.same_recipe(STANDARD) and QUICK.iterations == 300
    assert benchmark_seconds_per_iteration(STANDARD) == pytest.approx(0.83)

    dialog = make_dialog(QUICK, STANDARD)
    assert dialog.name == "starry_night"  # from the painting's file name
    quick, standard = (b.text() for b in dialog.preset_buttons)
    assert "300 iterations" in quick and "about 4 min" in quick, quick
    assert "3,000 iterations" in standard and "about 42 min" in standard, standard
    assert "estimates" in dialog.estimate_note.text() and "BENCHMARKS.md" in dialog.estimate_note.text()
    assert dialog.status_label.text().startswith("Ready")
    assert dialog.minimumWidth() >= 800 and dialog.start_button.isEnabled()
    assert not dialog.resume_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_a_tiny_training_in_its_process_adds_a_style(qtbot, make_dialog):
    from nstvideo.core.styles import installed_styles, read_info, user_style_dir

    dialog = make_dialog(TINY)
    dialog.set_name("tiny_starry")
    dialog.show()
    with qtbot.waitSignal(dialog.styleTrained, timeout=RUN_TIMEOUT_MS) as trained:
        assert dialog.start()
        assert dialog.is_running() and not dialog.start_button.isEnabled()
    path = trained.args[0]
    assert path == user_style_dir() / "tiny_starry.safetensors"
    info = read_info(path)
    assert info.name == "tiny_starry" and info.iterations == 8 and info.width == 0.25
    assert installed_styles()["tiny_starry"].path == path
    assert dialog.last_step["iteration"] == 8 and dialog.progress_bar.value() == 8
    assert [i for i, _ in dialog.loss_curve.points] == [2, 4, 6, 8]
    assert not dialog.preview_view.pixmap.isNull() and "iteration 8" in dialog.preview_caption.text()
    assert "is in the style list" in dialog.status_label.text()
    qtbot.waitUntil(lambda: not dialog.is_running())
    assert not dialog.resume_button.isEnabled()  # finished: nothing to continue


def test_cancel_keeps_a_checkpoint_and_resume_finishes_the_run(qtbot, make_dialog):
    dialog = make_dialog(LONGER, replace(LONGER, label="Longest", iterations=28))
    dialog.set_name("cancelled")
    with qtbot.waitSignal(dialog.runFinished, timeout=RUN_TIMEOUT_MS) as finished:
        dialog.start()
        qtbot.waitUntil(lambda: dialog.last_step is not None and dialog.last_step["iteration"] >= 2,
                        timeout=RUN_TIMEOUT_MS)
        dialog.cancel()
    assert finished.args == ["interrupted"]
    assert (dialog.run_dir / "checkpoint.pt").is_file() and not dialog.style_path.exists()
    assert "Resume continues it" in dialog.status_label.text()
    assert dialog.resume_button.isEnabled()
    stopped_at = dialog.last_step["iteration"]
    assert stopped_at < 24

    dialog.select_preset(1)  # the same recipe, longer: Resume takes the run on to its length
    with qtbot.waitSignal(dialog.styleTrained, timeout=RUN_TIMEOUT_MS):
        assert dialog.resume()
    assert dialog.last_step["start_iteration"] >= stopped_at > 0
    assert dialog.last_step["iteration"] == 28 and "is in the style list" in dialog.status_label.text()
    assert dialog.loss_curve.points[0][0] == 1  # the cancelled part's history is kept on the curve
    assert dialog.style_path.is_file() and not dialog.resume_button.isEnabled()


def test_closing_while_training_asks_then_stops_with_a_checkpoint(qtbot, make_dialog):
    dialog = make_dialog(LONGER)
    dialog.set_name("closed")
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: dialog.last_step is not None, timeout=RUN_TIMEOUT_MS)

    asked = []

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        asked.append(box.text() if isinstance(box, QMessageBox) else None)
        if isinstance(box, QMessageBox):
            box.button(button).click()

    QTimer.singleShot(300, lambda: answer(QMessageBox.StandardButton.No))
    dialog.close()
    assert dialog.isVisible() and dialog.is_running()  # "No" keeps it training
    QTimer.singleShot(300, lambda: answer(QMessageBox.StandardButton.Yes))
    dialog.close()
    assert len(asked) == 2 and all(text and "checkpoint is kept" in text for text in asked), asked
    assert not dialog.isVisible() and not dialog.is_running()
    assert (dialog.run_dir / "checkpoint.pt").is_file()


def test_an_error_from_the_process_is_shown_in_one_line(qtbot, make_dialog, tmp_path):
    dialog = make_dialog(TINY)
    empty = tmp_path / "no_photos"
    empty.mkdir()
    dialog.set_photos(empty)
    with qtbot.waitSignal(dialog.runFinished, timeout=RUN_TIMEOUT_MS) as finished:
        dialog.start()
    assert finished.args == ["error"]
    message = dialog.message_label.text()
    assert "no_photos has 0 readable image(s)" in message and "\n" not in message
    assert dialog.start_button.isEnabled()
