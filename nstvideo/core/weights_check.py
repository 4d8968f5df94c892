"""The one check a style network's weights pass before anything is allocated for them.

A style file or ``.pth`` says which network it holds; its tensors' names, shapes and dtypes are compared
with that network built on the meta device (no memory), so a crafted file can neither make nstvideo
allocate an unbounded network nor load weights that are not numbers.
"""
from __future__ import annotations

import math

import torch

from .errors import ConfigError, ModelLoadError
from .transformer_net import MAX_WIDTH, NETWORKS, build_network

FLOAT_DTYPES = (torch.float16, torch.float32, torch.bfloat16)
MAX_RESIDUAL_BLOCKS = 16


def check_architecture(architecture: object, width: object, residual_blocks: object) -> None:
    """ConfigError unless these describe a network this nstvideo builds, within its bounds."""
    if architecture not in NETWORKS:
        raise ConfigError(f"network {architecture!r} is not one this nstvideo runs ({', '.join(NETWORKS)}); "
                          "upgrade nstvideo to use it")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not math.isfinite(width) \
            or not 0.0 < width <= MAX_WIDTH:
        raise ConfigError(f"width {width!r} is outside (0, {MAX_WIDTH:g}]")
    if isinstance(residual_blocks, bool) or not isinstance(residual_blocks, int) \
            or not 1 <= residual_blocks <= MAX_RESIDUAL_BLOCKS:
        raise ConfigError(f"residual_blocks {residual_blocks!r} is outside 1..{MAX_RESIDUAL_BLOCKS}")


def expected_shapes(architecture: str, width: float, residual_blocks: int) -> dict[str, tuple[int, ...]]:
    check_architecture(architecture, width, residual_blocks)
    with torch.device("meta"):
        model = build_network(architecture, width, residual_blocks)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_tensors(tensors: dict[str, tuple[tuple[int, ...], torch.dtype | None]], architecture: str, width: float,
                  residual_blocks: int) -> None:
    """ModelLoadError (without a path: the caller adds it) unless ``tensors`` (name -> shape, dtype; None for
    a dtype torch has no float for) are exactly the declared network's, in a float dtype."""
    try:
        expected = expected_shapes(architecture, width, residual_blocks)
    except ConfigError as exc:
        raise ModelLoadError(str(exc)) from exc
    declared = f"{architecture}, width {width:g}, {residual_blocks} residual blocks"
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected), key=str)
    if missing or unexpected:
        what = f"lacks {missing[0]!r}" if missing else f"has an unexpected tensor {unexpected[0]!r}"
        raise ModelLoadError(f"it {what} ({len(missing)} missing, {len(unexpected)} unexpected) for {declared}")
    for name, shape in expected.items():
        got_shape, dtype = tensors[name]
        if tuple(got_shape) != shape:
            raise ModelLoadError(f"tensor {name!r} has shape {list(got_shape)}, not {list(shape)} as {declared} needs")
        if dtype not in FLOAT_DTYPES:
            raise ModelLoadError(f"tensor {name!r} is {dtype or 'not a float type'}; weights must be float16, "
                                 "float32 or bfloat16")


def check_finite(state: dict[str, torch.Tensor]) -> None:
    """ModelLoadError naming the first tensor that holds NaN or infinity (they paint black or white)."""
    for name, tensor in state.items():
        if not torch.isfinite(tensor).all():
            raise ModelLoadError(f"tensor {name!r} holds NaN or infinite values; the weights are broken")
