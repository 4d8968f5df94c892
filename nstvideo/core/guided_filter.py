"""Edge-aware upsampling with the fast guided filter (He & Sun 2015, arXiv:1505.00996; He et al. 2013).

Stylizing a frame at a reduced size paints larger strokes (the "brush size") and is faster, but plain
upsampling blurs the edges. The guided filter fits, in every window of the small images, a linear map
from the photo's luminance to each stylized channel; the maps are upsampled and applied to the
full-resolution photo, so edges come back sharp where the photo has them. What the map cannot explain
is the painting's own texture (strokes the photo does not have): that residual is upsampled and added
back, or a brush of 2 would look like a blurred photo instead of a painting with larger strokes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .pixels import luminance


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, shrinking at the borders."""
    return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False)


def guided_upsample(
    small_output: torch.Tensor, small_guide: torch.Tensor, guide: torch.Tensor, radius: int = 2, eps: float = 1e-3
) -> torch.Tensor:
    """``small_output`` (Nx3xhxw) brought to ``guide``'s size (Nx3xHxW RGB), steered by its edges, with
    the residual texture the guide cannot explain upsampled bicubically and added back.

    ``small_guide`` is ``guide`` resized to hxw. ``eps`` (in [0,1]^2 intensity units) sets how strong an
    edge must be to be kept; larger values smooth more.
    """
    g_small = luminance(small_guide)
    mean_g = _box(g_small, radius)
    var_g = _box(g_small * g_small, radius) - mean_g * mean_g
    mean_y = _box(small_output, radius)
    cov_gy = _box(g_small * small_output, radius) - mean_g * mean_y
    a = cov_gy / (var_g + eps)
    b = mean_y - a * mean_g
    a, b = _box(a, radius), _box(b, radius)
    texture = small_output - (a * g_small + b)
    size = guide.shape[-2:]
    up = lambda t, mode: F.interpolate(t, size=size, mode=mode, align_corners=False)  # noqa: E731
    return up(a, "bilinear") * luminance(guide) + up(b, "bilinear") + up(texture, "bicubic")
