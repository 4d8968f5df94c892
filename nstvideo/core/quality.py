"""The quality table of BENCHMARKS.md: a style network scored against the Gatys baseline.

Each method's output for a photo is scored with the losses the baseline minimises (``losses.py``): the
style loss against the painting resized to the output's longer side, as ``stylize_gatys`` sees it, and
the content loss against the photo. A network that reaches Gatys' losses paints as well as an optimiser
given minutes per image, in one forward pass.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from .gatys import GatysConfig, style_and_content_losses, stylize_gatys
from .images import resize_short_side
from .stylize import Stylizer
from .vgg import VGG16Features


@dataclass(frozen=True)
class Score:
    photo: str
    method: str  # "model", "gatys" or a reference's label
    style: float
    content: float
    image: np.ndarray  # the scored output, uint8 BGR at the photo's scored size


def score_photo(
    name: str,
    photo: np.ndarray,
    painting: np.ndarray,
    stylizer: Stylizer,
    vgg: VGG16Features,
    short_side: int = 256,
    gatys_steps: int = 300,
    references: Mapping[str, np.ndarray] | None = None,
    gatys: np.ndarray | None = None,
) -> Iterator[Score]:
    """Scores of the model, the Gatys baseline (default weights) and any published outputs of this photo.

    References (label -> image) are resized to the photo's scored size before scoring. ``gatys`` is an
    earlier baseline output of this photo at this size, reused (minutes of optimisation) when given.
    """
    photo = resize_short_side(photo, short_side)
    h, w = photo.shape[:2]
    outputs = {"model": stylizer.stylize_image(photo)}
    if gatys is None or gatys.shape != photo.shape:
        gatys = stylize_gatys(photo, painting, vgg, GatysConfig(size=max(h, w), steps=gatys_steps))
    outputs["gatys"] = gatys
    for label, image in (references or {}).items():
        outputs[label] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    for method, image in outputs.items():
        losses = style_and_content_losses(image, photo, painting, vgg, style_side=max(h, w))
        yield Score(name, method, losses["style"], losses["content"], image)


def scale_ratios(photo: np.ndarray, painting: np.ndarray, stylizer: Stylizer, vgg: VGG16Features, model: Score,
                 large: int = 360) -> tuple[float, float]:
    """The model's (style, content) losses on ``photo`` at ``large`` px short side as multiples of ``model``'s
    (its score at the table's size, from ``score_photo``).

    A network paints strokes of a fixed size in pixels: far above 1 on style, it paints a 640x360 frame
    (360 px) less like the painting than the photos the table scores, and a larger brush is due.
    """
    scaled = resize_short_side(photo, large)
    h, w = scaled.shape[:2]
    losses = style_and_content_losses(stylizer.stylize_image(scaled), scaled, painting, vgg, style_side=max(h, w))
    return (losses["style"] / model.style if model.style else float("inf"),
            losses["content"] / model.content if model.content else float("inf"))
