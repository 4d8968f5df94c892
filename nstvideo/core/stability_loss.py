"""A training loss for temporal stability that needs no video: Wang et al. 2020's compound regularization.

W. Wang et al., "Consistent Video Style Transfer via Compound Regularization", AAAI 2020: a network
that flickers answers a small motion or a little noise of its input with different strokes. So each
training crop x is moved by a random smooth flow W (Gaussian offsets on a coarse grid, upsampled and
blurred, plus a small global shift) and given slight noise, and the loss is L1(W(S(x)), S(W(x) + noise)):
zero for a network whose output moves with its input. Images are float RGB Nx3xHxW in [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

FLOW_STD_PX = 8.0  # the coarse grid's offsets (Wang et al.: "about 8 px")
GRID_CELL_PX = 32  # one random offset per cell of this size
SHIFT_STD_PX = 2.0  # the global shift
NOISE_STD = 0.02  # the added noise (0..1 scale)


def random_flow(n: int, h: int, w: int, generator: torch.Generator, *, std: float = FLOW_STD_PX,
                cell: int = GRID_CELL_PX, shift: float = SHIFT_STD_PX) -> torch.Tensor:
    """Nx2xHxW smooth random flows in pixels (dx, dy), drawn on the CPU from ``generator`` (reproducible)."""
    gh, gw = max(2, h // cell + 1), max(2, w // cell + 1)
    coarse = torch.randn(n, 2, gh, gw, generator=generator) * std
    flow = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=True)
    sigma = cell / 4
    radius = int(2 * sigma)
    kernel = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2) / (2 * sigma ** 2))
    kernel = (kernel / kernel.sum()).view(1, 1, 1, -1).repeat(2, 1, 1, 1)
    flow = F.conv2d(F.pad(flow, (radius, radius, 0, 0), mode="replicate"), kernel, groups=2)
    flow = F.conv2d(F.pad(flow, (0, 0, radius, radius), mode="replicate"), kernel.transpose(2, 3), groups=2)
    return flow + torch.randn(n, 2, 1, 1, generator=generator) * shift


def warp(images: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """out(x) = images(x + flow(x)), bilinear, borders repeated (as ``temporal.warp`` does with OpenCV)."""
    n, _, h, w = images.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=flow.device, dtype=flow.dtype),
                            torch.arange(w, device=flow.device, dtype=flow.dtype), indexing="ij")
    gx = (xs + flow[:, 0]) * (2 / max(w - 1, 1)) - 1
    gy = (ys + flow[:, 1]) * (2 / max(h - 1, 1)) - 1
    grid = torch.stack([gx, gy], dim=-1).to(images.dtype)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)


def compound_loss(network, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, *,
                  noise: float = NOISE_STD, memory_format: torch.memory_format = torch.contiguous_format) -> torch.Tensor:
    """L1(warp(S(x)), S(warp(x) + noise)); ``y`` is S(x), already computed for the other losses."""
    n, _, h, w = x.shape
    flow = random_flow(n, h, w, generator).to(x.device)
    moved = warp(x, flow)
    if noise:
        moved = moved + torch.randn(moved.shape, generator=generator).to(x.device) * noise
    return F.l1_loss(network(moved.clamp(0.0, 1.0).contiguous(memory_format=memory_format)), warp(y, flow))
