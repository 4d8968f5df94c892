"""The optimisation baseline of Gatys, Ecker & Bethge 2016 ("Image Style Transfer Using CNNs", CVPR).

Slow (hundreds of VGG passes per image) but needs no training: the reference the fast networks are
scored against, and a way to preview a painting as a style before training a network for it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import losses, pixels
from .errors import ConfigError
from .images import resize_max_side
from .vgg import VGG16Features

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")


@dataclass(frozen=True)
class GatysConfig:
    """Weights are tuned for the Caffe VGG16 weights and the loss conventions of ``losses.py``.

    ``style_weight`` 5e-5 at 256-512 px keeps the subject and takes the painting's palette and strokes;
    1e-4 paints over japanese_garden's temple, while tubingen x starry_night takes more style before it
    loses its houses (looked at on ../shared/data at 256 and 384 px).
    """

    size: int = 512
    steps: int = 300
    optimizer: str = "lbfgs"
    content_weight: float = 1.0
    style_weight: float = 5e-5
    tv_weight: float = 0.0
    init: str = "content"
    preserve_color: bool = False
    style_scale: float = 1.0
    adam_lr: float = 5.0  # in 0..255 pixel units, like every parameter of the optimisation
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.init not in INITS:
            raise ConfigError(f"init must be one of {INITS}, got {self.init!r}")
        if self.size < 16 or self.steps < 1:
            raise ConfigError(f"--size must be at least 16 px and --steps at least 1, got {self.size} and {self.steps}")


StepCallback = Callable[[int, dict[str, float]], None]


def _match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Grey style image whose luma has the content's mean and std (Gatys et al. 2016, sec. 'colour')."""
    ls, lc = pixels.luminance(style), pixels.luminance(content)
    ls = (ls - ls.mean()) / (ls.std() + 1e-6) * lc.std() + lc.mean()
    return ls.clamp(0, 1).expand(-1, 3, -1, -1)


def stylize_gatys(
    content_image: np.ndarray,
    style_image: np.ndarray,
    vgg: VGG16Features,
    config: GatysConfig = GatysConfig(),
    on_step: StepCallback | None = None,
) -> np.ndarray:
    """Optimise an image's pixels so its VGG features match the content and its Grams the style.

    Images are uint8 BGR; the result has the content's size after ``config.size`` (longer side).
    """
    device = next(vgg.parameters()).device
    content = pixels.to_tensor(resize_max_side(content_image, config.size), device)
    style_side = max(16, round(config.size * config.style_scale))
    style = pixels.to_tensor(resize_max_side(style_image, style_side), device)
    if config.preserve_color:
        original = content
        content = pixels.luminance(content).expand(-1, 3, -1, -1)
        style = _match_luminance(style, original)

    layers = set(losses.STYLE_LAYERS) | {losses.CONTENT_LAYER}
    with torch.no_grad():
        content_target = vgg(content, [losses.CONTENT_LAYER])[losses.CONTENT_LAYER]
        style_feats = vgg(style, losses.STYLE_LAYERS)
        style_targets = {k: losses.gram_matrix(v) for k, v in style_feats.items()}

    # The optimiser works in 0..255 pixel units with L-BFGS' plain unit step, as jcjohnson/neural-style
    # did. torch's strong-Wolfe line search extrapolates up to 10x per trial and, on tubingen x
    # starry_night, leapt to a far point where VGG's ReLUs are dead and stalled there for good.
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    start = content if config.init == "content" else torch.rand(content.shape, generator=generator).to(device)
    param = (start * pixels.MAX_U8).requires_grad_(True)

    step = 0
    last: dict[str, float] = {}

    def objective() -> torch.Tensor:
        x = param / pixels.MAX_U8
        feats = vgg(x, layers)
        c = losses.content_loss(feats[losses.CONTENT_LAYER], content_target)
        s = losses.style_loss({k: losses.gram_matrix(feats[k]) for k in losses.STYLE_LAYERS}, style_targets)
        total = config.content_weight * c + config.style_weight * s
        if config.tv_weight:
            total = total + config.tv_weight * losses.tv_loss(x)
        last.update(content=c.item(), style=s.item(), total=total.item())
        return total

    if config.optimizer == "lbfgs":
        optimizer = torch.optim.LBFGS([param], lr=1.0, max_iter=1, history_size=50)
    else:
        optimizer = torch.optim.Adam([param], lr=config.adam_lr)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = objective()
        loss.backward()
        return loss

    for step in range(1, config.steps + 1):
        optimizer.step(closure)
        if config.optimizer == "adam":
            # Not for L-BFGS: clamping between its steps breaks its curvature history and stalls it.
            with torch.no_grad():
                param.clamp_(0.0, pixels.MAX_U8)
        if on_step is not None:
            on_step(step, dict(last))

    result = (param.detach() / pixels.MAX_U8).clamp(0.0, 1.0)
    if config.preserve_color:
        result = pixels.keep_colors(result, original)
    return pixels.to_image(result)


def style_and_content_losses(
    image: np.ndarray, content_image: np.ndarray, style_image: np.ndarray, vgg: VGG16Features, style_side: int
) -> dict[str, float]:
    """Score an image against a photo and a painting with the same losses the baseline minimises.

    ``image`` and ``content_image`` must have the same size; the painting is resized to ``style_side``.
    """
    device = next(vgg.parameters()).device
    x = pixels.to_tensor(image, device)
    c = pixels.to_tensor(content_image, device)
    s = pixels.to_tensor(resize_max_side(style_image, style_side), device)
    with torch.no_grad():
        fx = vgg(x, set(losses.STYLE_LAYERS) | {losses.CONTENT_LAYER})
        fc = vgg(c, [losses.CONTENT_LAYER])
        fs = vgg(s, losses.STYLE_LAYERS)
        style = losses.style_loss(
            {k: losses.gram_matrix(fx[k]) for k in losses.STYLE_LAYERS},
            {k: losses.gram_matrix(fs[k]) for k in losses.STYLE_LAYERS},
        )
        content = losses.content_loss(fx[losses.CONTENT_LAYER], fc[losses.CONTENT_LAYER])
    return {"style": style.item(), "content": content.item()}
