"""nstvideo gallery: one row a style (and the originals first), every picture at the same height."""
from __future__ import annotations

import numpy as np
import pytest

from nstvideo.cli import main
from nstvideo.core.gallery import GAP, LABEL_HEIGHT
from nstvideo.core.images import read_image


def test_the_gallery_paints_photos_and_a_video_frame_in_every_style_named(tmp_path, data_dir, video_dir,
                                                                         random_style, capsys):
    out = tmp_path / "gallery.png"
    photo = data_dir / "content" / "lion.jpg"
    assert main(["gallery", str(photo), str(video_dir / "fox_indoor.mp4"), "--styles",
                 f"starry_night,{random_style}", "--height", "64", "--device", "cpu", "--runtime", "torch",
                 "-o", str(out)]) == 0
    sheet = read_image(out)
    rows = 3  # the originals, starry_night, the random style
    assert sheet.shape[0] == rows * (LABEL_HEIGHT + 64) + (rows - 1) * GAP
    assert sheet.shape[1] == 64 + GAP + 64  # both inputs are square
    original, starry = (sheet[LABEL_HEIGHT + i * (LABEL_HEIGHT + 64 + GAP):][:64, :64] for i in (0, 1))
    assert np.abs(original.astype(int) - starry).mean() > 20  # painted, not copied
    assert main(["gallery", str(photo), "-o", str(out), "--styles", "starry_night", "--runtime", "torch"]) == 1
    assert "exists" in capsys.readouterr().err


def test_a_video_gallery_keeps_the_clips_timestamps_and_paints_every_cell(tmp_path, video_dir, random_style, capsys):
    import av

    from nstvideo.video.temporal import read_frames

    clip, out = video_dir / "chaplin_street.mp4", tmp_path / "styles.mp4"
    assert main(["gallery", str(clip), "-o", str(out), "--styles", f"starry_night,{random_style}",
                 "--seconds", "0.5", "--height", "72", "--device", "cpu", "--runtime", "torch"]) == 0
    with av.open(str(clip)) as c:
        source = [f.time for f in c.decode(video=0)][:13]  # 25 fps: 0.48 s is the last frame under 0.5
    with av.open(str(out)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert times == pytest.approx([t - source[0] for t in source], abs=1e-6)
    frame = next(read_frames(out))
    cell_w = 128  # 640x360 at 72 px high
    assert frame.shape[1] == 2 * cell_w + GAP
    original = frame[LABEL_HEIGHT:LABEL_HEIGHT + 72, :cell_w].astype(int)
    starry = frame[LABEL_HEIGHT:LABEL_HEIGHT + 72, cell_w + GAP:].astype(int)
    assert np.abs(original - starry).mean() > 20
    assert frame.shape[0] == 2 * (LABEL_HEIGHT + 72) + GAP
    assert frame[-60:, cell_w + GAP + 4:].min() > 240  # three cells: the fourth is left white
    assert main(["gallery", str(clip), str(clip), "-o", str(tmp_path / "two.mp4")]) == 1
    assert "one video" in capsys.readouterr().err
