"""Every backend paints what torch eager fp32 paints: OpenVINO fp32 within a level, int8 close on average."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from nstvideo.core.device import RUNTIME_CHOICES, inference_runtime, openvino_missing
from nstvideo.core.errors import ConfigError
from nstvideo.core.stylize import StyleOptions, Stylizer

needs_openvino = pytest.mark.skipif(openvino_missing() is not None,
                                    reason=f"openvino is not importable ({openvino_missing()}); "
                                           "pip install 'nstvideo[fast]' to test its backend")
STYLE = "picasso_selfportrait_1907"  # shipped, trained: its outputs have real strokes to get wrong


@pytest.fixture(scope="module")
def frames(data_dir) -> np.ndarray:
    """Two real photos at the live size; neither is a calibration frame (those come from the demo clip)."""
    from nstvideo.core.images import read_image
    return np.stack([cv2.resize(read_image(data_dir / "content" / name), (640, 360), interpolation=cv2.INTER_AREA)
                     for name in ("tubingen.jpg", "portrait_street.jpg")])


@pytest.fixture(scope="module")
def reference(frames) -> dict[float, np.ndarray]:
    """torch eager fp32, brush 1 and 2."""
    torch_stylizer = Stylizer.from_style(STYLE, "cpu", runtime="torch")
    assert str(torch_stylizer.runtime) == "torch float32 (cpu)" and torch_stylizer.notice is None
    return {brush: torch_stylizer.stylize_images(frames, StyleOptions(brush=brush)) for brush in (1.0, 2.0)}


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


@needs_openvino
def test_openvino_fp32_is_within_one_level_of_torch(frames, reference):
    s = Stylizer.from_style(STYLE, "cpu", runtime="openvino-fp32")
    assert str(s.runtime) == "openvino fp32 (cpu)"
    for brush, expected in reference.items():
        assert _diff(s.stylize_images(frames, StyleOptions(brush=brush)), expected).max() <= 1
    odd = frames[0, :199, :333]  # padded to a multiple of 4 for OpenVINO and cropped back, as torch does
    torch_odd = Stylizer.from_style(STYLE, "cpu", runtime="torch").stylize_image(odd)
    assert _diff(s.stylize_image(odd), torch_odd).max() <= 1


@needs_openvino
def test_openvino_int8_looks_like_fp32_on_real_photos(frames, reference, tmp_path):
    """Calibrated on six frames of the demo clip, tested on two photos it never saw: mean difference at
    most 7 levels of 255 (measured 4.5-5.6 on this style and the Starry Night), 99% of values within 25
    (measured 17-19). By eye the strokes and colours are the same (BENCHMARKS.md)."""
    s = Stylizer.from_style(STYLE, "cpu", runtime="openvino")
    assert str(s.runtime) == "openvino int8 (cpu)"
    for brush, expected in reference.items():
        d = _diff(s.stylize_images(frames, StyleOptions(brush=brush)), expected)
        per_photo = d.reshape(len(frames), -1).mean(axis=1)
        assert per_photo.max() < 7, (brush, per_photo)
        assert np.percentile(d, 99) < 25, brush
    # A batch of one is compiled separately and rounds differently (values move by up to 40 between the
    # two compiled models, the mean by 5): just as close to torch, not equal to the batch of two.
    assert _diff(s.stylize_image(frames[1]), reference[1.0][1]).mean() < 7


def test_auto_picks_openvino_int8_on_the_cpu_where_it_imports():
    rt = inference_runtime("cpu", "auto")
    if openvino_missing() is None:
        assert (rt.engine, rt.precision, rt.notice) == ("openvino", "int8", None)
    else:
        assert rt.engine == "torch" and "pip install" in rt.notice
    assert inference_runtime("cpu", "torch").engine == "torch"


def test_an_unknown_runtime_is_a_one_line_config_error():
    with pytest.raises(ConfigError) as info:
        inference_runtime("cpu", "onnxruntime")
    message = str(info.value)
    assert "\n" not in message and "onnxruntime" in message
    assert all(choice in message for choice in RUNTIME_CHOICES)


@pytest.mark.skipif(openvino_missing() is None,
                    reason="openvino is installed here: the fallback is tested only where it is really missing")
def test_openvino_asked_for_where_it_is_missing_falls_back_to_torch_with_a_notice(random_style, photo):
    s = Stylizer.from_style(random_style, "cpu", runtime="openvino")
    assert str(s.runtime) == "torch float32 (cpu)"
    assert s.notice and "\n" not in s.notice and "pip install 'nstvideo[fast]'" in s.notice
    assert s.stylize_image(photo).shape == photo.shape


@needs_openvino
def test_stylize_and_convert_pass_the_runtime_through(random_style, photo, tmp_path):
    """The runtime asked for on the command line is the one built: its OpenVINO build appears in the cache."""
    from nstvideo.cli import main
    from nstvideo.core.backends import cache_root
    from nstvideo.core.images import write_image
    from nstvideo.video.convert import ConvertConfig, convert_files
    from nstvideo.video.frame import Frame
    from nstvideo.video.writer import VideoWriter

    builds = lambda precision: sorted(cache_root().glob(f"random-{precision}-*"))  # noqa: E731
    for folder in builds("fp32"):
        shutil.rmtree(folder)
    src = write_image(tmp_path / "in.png", photo)
    assert main(["stylize", str(src), "--style", str(random_style), "-o", str(tmp_path / "out.png"),
                 "--device", "cpu", "--runtime", "openvino-fp32"]) == 0
    assert len(builds("fp32")) == 1 and (tmp_path / "out.png").is_file()
    clip = tmp_path / "clip.mp4"
    with VideoWriter(clip, size=(64, 48), crf=20, preset="ultrafast") as writer:
        for i in range(3):
            writer.write(Frame(photo[:48, :64].copy(), i / 10, i))
    config = ConvertConfig(inputs=(clip,), style=random_style, output=tmp_path / "out.mp4", preset="ultrafast",
                           device="cpu", runtime="openvino-fp32")
    shutil.rmtree(builds("fp32")[0])
    assert convert_files(config).ok and len(builds("fp32")) == 1
