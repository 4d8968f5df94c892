"""nstvideo gallery: one row a style (and the originals first), every picture at the same height."""
from __future__ import annotations

import numpy as np

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
