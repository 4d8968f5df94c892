"""The styles in weights/: within budget, described, reproducible from train/, and they paint."""
from __future__ import annotations

import tomllib
from pathlib import Path

import cv2
import pytest
import torch
from safetensors import safe_open

from nstvideo.core.styles import SHIPPED_DIR, read_info
from nstvideo.core.training import RECIPE_FIELDS

from nstvideo.core.images import read_image, resize_short_side

REPO = Path(__file__).resolve().parents[1]

SHIPPED = sorted(SHIPPED_DIR.glob("*.safetensors"))


def test_the_two_first_styles_ship():
    assert {p.stem for p in SHIPPED} >= {"picasso_selfportrait_1907", "starry_night"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_style_file_is_small_fp16_and_says_what_it_is(path):
    assert path.stat().st_size <= 4 * 2**20
    with safe_open(path, "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    info = read_info(path)
    assert info.name == path.stem
    assert all((info.title, info.artist, info.year, info.rights)), "title, artist, year and rights are required"
    assert info.training["seconds"] > 0 and info.training["machine"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_recipe_in_train_reproduces_the_style(path):
    recipe_file = REPO / "train" / f"{path.stem}.toml"
    assert recipe_file.exists(), f"{path.name} ships without train/{recipe_file.name}"
    recipe = tomllib.loads(recipe_file.read_text())
    info = read_info(path)
    assert (REPO / "train" / recipe["out"]).resolve() == path
    assert {k: recipe[k] for k in RECIPE_FIELDS if k in recipe} == {
        k: info.recipe[k] for k in RECIPE_FIELDS if k in recipe}
    assert info.iterations == recipe["iterations"]
    assert info.recipe["style_image"] == (REPO / "train" / recipe["style_image"]).name


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_style_paints_a_photo_it_was_not_scored_on(path, data_dir, vgg):
    """Nearer the painting's texture than the photo is, and nearer the photo's content than the painting is."""
    from nstvideo.core.gatys import style_and_content_losses
    from nstvideo.core.stylize import Stylizer

    photo = resize_short_side(read_image(data_dir / "content" / "portrait_office.jpg"), 192)
    h, w = photo.shape[:2]
    painting = read_image(data_dir / "styles" / read_info(path).recipe["style_image"])
    out = Stylizer.from_style(path, "cpu").stylize_image(photo)

    def losses(image):
        return style_and_content_losses(image, photo, painting, vgg, style_side=max(h, w))

    ours, of_photo = losses(out), losses(photo)
    of_painting = losses(cv2.resize(painting, (w, h), interpolation=cv2.INTER_AREA))
    assert ours["style"] < 0.5 * of_photo["style"]
    assert ours["content"] < 0.5 * of_painting["content"]
