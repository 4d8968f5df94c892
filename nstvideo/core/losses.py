"""Perceptual losses as pure functions (Gatys et al. 2016; Johnson et al. 2016).

Conventions, shared by the Gatys baseline, training and the quality table in BENCHMARKS.md:
Gram matrices are normalised by C*H*W; the style loss is the summed squared error of Gram matrices,
summed over layers; the content loss is the mean squared error of feature maps. Grams are computed in
float32 even under fp16/bf16 autocast, where C*H*W-sized sums would overflow or lose precision.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
import torch.nn.functional as F

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CONTENT_LAYER = "relu2_2"


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """NxCxHxW -> NxCxC, F F^T / (C*H*W), in float32."""
    n, c, h, w = features.shape
    f = features.float().reshape(n, c, h * w)
    with torch.autocast(device_type=f.device.type, enabled=False):
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(features.float(), target.float())


def style_loss(
    grams: Mapping[str, torch.Tensor], target_grams: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """Sum over layers of the squared Frobenius distance of Gram matrices, averaged over the batch.

    ``target_grams`` values may have batch size 1 and broadcast over the batch.
    """
    total = None
    for name, g in grams.items():
        d = (g - target_grams[name]).pow(2).sum(dim=(1, 2)).mean()
        total = d if total is None else total + d
    if total is None:
        raise ValueError("style_loss needs at least one layer")
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Anisotropic total variation: mean absolute difference of neighbouring pixels."""
    dh = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    dw = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    return dh + dw


def perceptual_losses(
    vgg: torch.nn.Module, photos: torch.Tensor, stylized: torch.Tensor, style_grams: Mapping[str, torch.Tensor],
    keep: Iterable[str] = (),
):
    """(content, style, tv) losses of Johnson et al. for a batch: one VGG pass over the stylized images,
    one (without gradients) over the photos for the content targets. With ``keep`` (layer names), also
    the stylized images' features at those layers, as a fourth item, for losses of the caller's own
    (distillation) without another pass."""
    with torch.no_grad():
        target = vgg(photos, [CONTENT_LAYER])[CONTENT_LAYER]
    keep = tuple(keep)
    feats = vgg(stylized, set(STYLE_LAYERS) | {CONTENT_LAYER} | set(keep))
    c = content_loss(feats[CONTENT_LAYER], target)
    s = style_loss({k: gram_matrix(feats[k]) for k in STYLE_LAYERS}, style_grams)
    tv = tv_loss(stylized.float())
    return (c, s, tv, {k: feats[k] for k in keep}) if keep else (c, s, tv)
