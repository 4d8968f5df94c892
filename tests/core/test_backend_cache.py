"""The OpenVINO build of a style is made once, kept per style file, rebuilt when the file changes and
never used for another style. Small untrained networks and small calibration photos keep it quick."""
from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
import torch

from nstvideo.core.backends import OpenVINOBackend, cache_root
from nstvideo.core.device import inference_runtime, openvino_missing
from nstvideo.core.styles import StyleInfo, load_style, save_style
from nstvideo.core.stylize import Stylizer
from nstvideo.core.transformer_net import TransformerNet

pytestmark = pytest.mark.skipif(openvino_missing() is not None,
                                reason=f"openvino is not importable ({openvino_missing()}); "
                                       "pip install 'nstvideo[fast]' to test its cache")


@pytest.fixture(scope="module")
def calibration(data_dir) -> list[np.ndarray]:
    from nstvideo.core.images import read_image
    return [cv2.resize(read_image(data_dir / "content" / name), (96, 64), interpolation=cv2.INTER_AREA)
            for name in ("chicago.jpg", "lion.jpg")]


def _style(path, seed: int):
    torch.manual_seed(seed)
    return save_style(path, TransformerNet(width=0.125), StyleInfo(name="tiny"), overwrite=True)


def _backend(path, calibration) -> OpenVINOBackend:
    model, info = load_style(path)
    return OpenVINOBackend(model, inference_runtime("cpu", "openvino"), style_file=info.path, name=info.name,
                           calibration=calibration, progress=lambda message: None)


def test_int8_is_built_once_then_read_from_the_cache(tmp_path, calibration, photo):
    style = _style(tmp_path / "a.safetensors", seed=1)
    first = _backend(style, calibration)
    assert first.built_seconds > 0 and first.cache_folder.is_relative_to(cache_root())
    assert (first.cache_folder / "model.xml").is_file()
    again = _backend(style, calibration)
    assert again.built_seconds == 0 and again.cache_folder == first.cache_folder
    x = torch.rand(1, 3, 40, 52)
    torch.testing.assert_close(again.run(x), first.run(x))
    # the same network saved again (safetensors' bytes differ between saves) is the same build
    copy = _backend(_style(tmp_path / "copy.safetensors", seed=1), calibration)
    assert copy.built_seconds == 0 and copy.cache_folder == first.cache_folder
    # other calibration images are another build, kept beside this one rather than replacing it
    other = _backend(style, calibration[:1])
    assert other.built_seconds > 0 and other.cache_folder != first.cache_folder and first.cache_folder.is_dir()


def test_a_changed_style_file_is_rebuilt_and_its_old_build_removed(tmp_path, calibration):
    style = _style(tmp_path / "a.safetensors", seed=2)
    old = _backend(style, calibration)
    _style(style, seed=3)  # retrained in place: same path, other weights
    new = _backend(style, calibration)
    assert new.built_seconds > 0 and new.cache_folder != old.cache_folder
    assert not old.cache_folder.exists()
    key = json.loads((new.cache_folder / "key.json").read_text())
    assert key["style_file"] == str(style.resolve())


def test_a_build_is_never_used_for_another_style(tmp_path, calibration):
    a = _backend(_style(tmp_path / "a.safetensors", seed=4), calibration)
    b_style = _style(tmp_path / "b.safetensors", seed=5)
    b = _backend(b_style, calibration)
    assert b.built_seconds > 0 and b.cache_folder != a.cache_folder
    x = torch.rand(1, 3, 32, 32)
    assert (a.run(x) - b.run(x)).abs().max() > 0.01
    # even a's files put where b's build belongs are refused: the recorded key names a's weights
    shutil.rmtree(b.cache_folder)
    shutil.copytree(a.cache_folder, b.cache_folder)
    b_again = _backend(b_style, calibration)
    assert b_again.built_seconds > 0
    torch.testing.assert_close(b_again.run(x), b.run(x))


def test_the_stylizer_names_the_runtime_and_shows_the_build(tmp_path, calibration, photo):
    messages: list[str] = []
    s = Stylizer.from_style(_style(tmp_path / "c.safetensors", seed=6), "cpu", runtime="openvino",
                            calibration=calibration, progress=messages.append)
    assert str(s.runtime) == "openvino int8 (cpu)" and s.notice is None
    assert any("once" in m for m in messages) and any("calibrating" in m and "2 frames" in m for m in messages)
    assert s.stylize_image(photo).shape == photo.shape
    big = Stylizer(s.model, s.runtime, s.info, max_pixels=5_000, calibration=calibration)  # tiles go through torch
    assert big.stylize_image(photo).shape == photo.shape
