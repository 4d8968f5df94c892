"""The Convert dialog end to end: a real clip, a shipped style, real PyAV, torch and Qt; no file dialogs."""
from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from nstvideo.app.convert_dialog import COL_PROGRESS, ConvertDialog
from nstvideo.core.errors import DecodeError

STYLE = "starry_night"  # shipped in weights/
SMALL = 96  # longest side for the runs that must finish: about a second for the whole clip on 2 cores
WAIT_MS = 60_000


@pytest.fixture
def clip(data_dir) -> Path:
    """person_walking_room.mp4: 100 frames of 640x360, no audio."""
    path = data_dir / "video" / "person_walking_room.mp4"
    if not path.exists():
        pytest.skip(f"{path} is missing: put the project's shared/ folder beside the checkout (see README)")
    return path


@pytest.fixture
def dialog(qtbot):
    dialog = ConvertDialog(current_style=STYLE)
    qtbot.addWidget(dialog)
    yield dialog
    dialog.close()  # never leave a worker behind, whatever the test did


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(container.streams.video[0])]


def run(qtbot, dialog: ConvertDialog):
    """Start and wait for the summary that ``finished`` carries."""
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS) as blocker:
        assert dialog.start()
    return blocker.args[0]


def wait_for_first_frames(qtbot, dialog: ConvertDialog, row: int = 0) -> None:
    qtbot.waitUntil(lambda: dialog.table.cellWidget(row, COL_PROGRESS).value() > 0, timeout=WAIT_MS)


def test_refuses_to_start_without_videos_and_says_what_to_do(dialog):
    assert not dialog.start()
    assert "Add at least one video" in dialog.status_label.text()
    assert not dialog.is_running()


def test_converts_a_real_clip_end_to_end(qtbot, dialog, clip, tmp_path):
    # Listed by the painting and its painter, as in the live view's dropdown, on one line.
    assert dialog.style_combo.currentData() == STYLE
    assert dialog.style_combo.currentText() == "The Starry Night, Vincent van Gogh"
    dialog.add_files([clip, clip])  # the duplicate is ignored
    assert dialog.files() == [clip]
    assert dialog.out_dir_edit.text() == str(clip.parent)  # the default: beside the first input
    dialog.set_output_folder(tmp_path)
    dialog.max_side_spin.setValue(SMALL)

    summary = run(qtbot, dialog)

    out = tmp_path / f"{clip.stem}_{STYLE}.mp4"
    assert summary.ok and summary.written == {clip: out}
    assert sorted(tmp_path.iterdir()) == [out]
    source, result = frames_of(clip), frames_of(out)  # decoding every frame: the file plays
    assert len(result) == len(source) == 100
    assert max(result[0].shape[:2]) == SMALL
    small = av.VideoFrame.from_ndarray(source[0], format="bgr24").reformat(
        width=result[0].shape[1], height=result[0].shape[0]).to_ndarray(format="bgr24")
    assert np.abs(result[0].astype(int) - small.astype(int)).mean() > 20  # painted, not copied
    bar = dialog.table.cellWidget(0, COL_PROGRESS)
    assert (bar.value(), bar.maximum()) == (100, 100)
    assert dialog.overall.value() == dialog.overall.maximum()
    assert dialog.results.count() == 1 and str(out) in dialog.results.item(0).text()
    assert not dialog.open_folder_button.isHidden()
    assert "Converted 1 of 1" in dialog.status_label.text()


def test_cancel_mid_run_leaves_no_partial_file(qtbot, dialog, clip, tmp_path):
    dialog.add_files([clip])
    dialog.set_output_folder(tmp_path)  # full size: long enough to cancel in the middle
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS) as blocker:
        assert dialog.start()
        wait_for_first_frames(qtbot, dialog)
        dialog.cancel()
    summary = blocker.args[0]

    assert summary.cancelled and not summary.written
    assert list(tmp_path.iterdir()) == []  # neither the output nor a .partial file
    assert dialog.table.item(0, 2).text() == "Cancelled"
    assert "Cancelled" in dialog.status_label.text()
    assert dialog.open_folder_button.isHidden()
    assert dialog.start_button.isEnabled()  # ready to run again


def test_a_broken_input_is_reported_while_the_other_converts(qtbot, dialog, clip, tmp_path):
    broken = tmp_path / "in" / "notes.mp4"
    broken.parent.mkdir()
    broken.write_text("meeting notes, not a video\n")
    out_dir = tmp_path / "out"
    dialog.add_files([broken, clip])  # the broken one first: the next must still be converted
    dialog.set_output_folder(out_dir)
    dialog.max_side_spin.setValue(SMALL)

    summary = run(qtbot, dialog)

    assert isinstance(summary.failed[broken], DecodeError)
    out = out_dir / f"{clip.stem}_{STYLE}.mp4"
    assert summary.written == {clip: out}
    assert sorted(out_dir.iterdir()) == [out]
    assert len(frames_of(out)) == 100
    lines = [dialog.results.item(i).text() for i in range(dialog.results.count())]
    assert len(lines) == 2
    assert str(broken) in lines[0] and "not a video file" in lines[0] and "\n" not in lines[0]
    assert [dialog.table.item(i, 2).text() for i in range(2)] == ["Failed", "Done"]
    assert "1 failed" in dialog.status_label.text()


def test_closing_while_converting_cancels_and_joins_the_worker(qtbot, dialog, clip, tmp_path):
    dialog.add_files([clip])
    dialog.set_output_folder(tmp_path)
    dialog.show()
    with qtbot.waitSignal(dialog.finished, timeout=WAIT_MS) as blocker:
        assert dialog.start()
        wait_for_first_frames(qtbot, dialog)
        dialog.close()
        assert not [t for t in threading.enumerate() if t.name == "nstvideo-convert"]  # joined by close()
        assert list(tmp_path.iterdir()) == []
    assert blocker.args[0].cancelled
    assert not dialog.isVisible()


def test_a_style_that_cannot_load_fails_every_file_with_its_reason(qtbot, dialog, clip, tmp_path):
    gone = tmp_path / "deleted_since.safetensors"  # listed when the dialog opened, removed before Start
    dialog.style_combo.addItem("deleted_since", gone)
    dialog.style_combo.setCurrentIndex(dialog.style_combo.count() - 1)
    dialog.add_files([clip])
    dialog.set_output_folder(tmp_path / "out")

    summary = run(qtbot, dialog)

    assert list(summary.failed) == [clip] and not summary.written
    assert str(gone) in dialog.results.item(0).text()
    assert dialog.table.item(0, 2).text() == "Failed"
    assert dialog.start_button.isEnabled()
