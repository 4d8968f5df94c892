"""The frozen VGG16 loss network (Simonyan & Zisserman 2015), built only up to relu4_3.

Two weight sources, each with its own input convention:

* a safetensors file whose metadata says ``input = caffe`` (the original Caffe weights: BGR, 0..255,
  mean subtracted), such as ``../shared/models/vgg16_imagenet_caffe_relu4_3.fp16.safetensors``;
* torchvision's ``VGG16_Weights.IMAGENET1K_V1`` (RGB, 0..1, mean/std normalised), downloaded once.

Both are fed RGB [0, 1] tensors; the network normalises them for its source. Features from the two
sources differ in scale (Caffe activations are about 58x larger), so torchvision features are multiplied by
``TORCHVISION_FEATURE_SCALE`` to keep loss weights tuned on one source roughly right for the other.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from torch import nn

from . import pixels
from .errors import ModelLoadError
from .torch_files import load_weights_only

ENV_VAR = "NSTVIDEO_VGG_WEIGHTS"
CONVENTIONS = ("caffe", "torchvision")
# 255 * mean(IMAGENET_STD): the input scale ratio between the two conventions.
TORCHVISION_FEATURE_SCALE = 57.6

# (block, convs per block); a 2x2 max-pool follows each block but the last.
_BLOCKS = ((1, 2), (2, 2), (3, 3), (4, 3))
CONV_NAMES = tuple(f"conv{b}_{i}" for b, n in _BLOCKS for i in range(1, n + 1))
LAYER_NAMES = tuple(name.replace("conv", "relu") for name in CONV_NAMES)
# Indices into CONV_NAMES of the first conv of blocks 2..4: a max-pool comes before each.
_POOL_BEFORE = frozenset(CONV_NAMES.index(f"conv{b}_1") for b, _ in _BLOCKS[1:])
_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512}
# Index of each conv inside torchvision's ``vgg16().features``.
_TORCHVISION_INDEX = dict(zip(CONV_NAMES, (0, 2, 5, 7, 10, 12, 14, 17, 19, 21)))


def expected_shapes() -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    in_ch = 3
    for b, n in _BLOCKS:
        out = _CHANNELS[b]
        for i in range(1, n + 1):
            shapes[f"conv{b}_{i}.weight"] = (out, in_ch, 3, 3)
            shapes[f"conv{b}_{i}.bias"] = (out,)
            in_ch = out
    return shapes


class VGG16Features(nn.Module):
    """VGG16 conv1_1..conv4_3 returning the requested ReLU outputs by name; frozen, eval mode."""

    def __init__(self, state: dict[str, torch.Tensor], convention: str):
        super().__init__()
        if convention not in CONVENTIONS:
            raise ValueError(f"unknown VGG input convention {convention!r}; expected one of {CONVENTIONS}")
        self.convention = convention
        self.convs = nn.ModuleDict()
        for name in CONV_NAMES:
            out_ch, in_ch = expected_shapes()[f"{name}.weight"][:2]
            self.convs[name] = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.convs.load_state_dict({k: v.float() for k, v in state.items()})
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGG16Features":
        # A loss network never trains: keep it in eval mode whatever the caller's module does.
        return super().train(False)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return pixels.caffe_normalize(x) if self.convention == "caffe" else pixels.imagenet_normalize(x)

    def forward(self, x: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """RGB [0, 1] Nx3xHxW -> {layer name: feature map}; one pass serves every requested layer."""
        wanted = set(layers)
        unknown = wanted - set(LAYER_NAMES)
        if unknown:
            raise ValueError(f"unknown VGG16 layer(s) {sorted(unknown)}; available: {', '.join(LAYER_NAMES)}")
        scale = 1.0 if self.convention == "caffe" else TORCHVISION_FEATURE_SCALE
        last = max(LAYER_NAMES.index(name) for name in wanted)
        out: dict[str, torch.Tensor] = {}
        h = self.normalize(x)
        for idx, conv_name in enumerate(CONV_NAMES[: last + 1]):
            if idx in _POOL_BEFORE:
                h = F.max_pool2d(h, 2)
            h = F.relu(self.convs[conv_name](h))
            if LAYER_NAMES[idx] in wanted:
                out[LAYER_NAMES[idx]] = h * scale if scale != 1.0 else h
        return out


def check_state(state: dict[str, torch.Tensor], path: Path | str) -> dict[str, torch.Tensor]:
    """Refuse missing keys or wrong shapes with a message naming the file."""
    for key, shape in expected_shapes().items():
        if key not in state:
            raise ModelLoadError(f"{path} is not a VGG16 weight file: it has no {key!r}", path)
        if tuple(state[key].shape) != shape:
            raise ModelLoadError(
                f"{path} is not VGG16: {key} has shape {tuple(state[key].shape)}, expected {shape}", path
            )
    return {k: state[k] for k in expected_shapes()}


def from_torchvision_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision ``vgg16().state_dict()`` keys (``features.N.weight``) -> ``convB_I.weight``."""
    out = {}
    for name, idx in _TORCHVISION_INDEX.items():
        for kind in ("weight", "bias"):
            key = f"features.{idx}.{kind}"
            if key in state:
                out[f"{name}.{kind}"] = state[key]
    return out


def load_weight_file(path: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """Read a VGG weight file: safetensors (metadata ``input`` names the convention) or torchvision .pth."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"VGG weight file {path} does not exist; check --vgg-weights or ${ENV_VAR}", path)
    if path.suffix == ".safetensors":
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelLoadError(f"{path} is not a readable safetensors file ({exc}); download it again", path) from exc
        state = from_torchvision_state(state) if "features.0.weight" in state else state
        convention = meta.get("input", "torchvision")
        if convention not in CONVENTIONS:
            raise ModelLoadError(f"{path}: metadata input={convention!r} is not one of {CONVENTIONS}", path)
    else:
        raw = load_weights_only(path, "point --vgg-weights at torchvision's vgg16 .pth or a .safetensors file")
        state, convention = (from_torchvision_state(raw) if "features.0.weight" in raw else raw), "torchvision"
    return check_state(state, path), convention


def _torchvision_weights() -> tuple[dict[str, torch.Tensor], str]:
    from torchvision.models import VGG16_Weights

    try:
        raw = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
    except Exception as exc:  # URLError, SSL errors, HTTP errors...
        raise ModelLoadError(
            "no VGG16 weights: pass --vgg-weights PATH (or set "
            f"{ENV_VAR}) to a VGG16 .safetensors/.pth file, or connect to the internet once so torchvision can "
            f"download VGG16_Weights.IMAGENET1K_V1 ({type(exc).__name__}: {exc})"
        ) from exc
    return from_torchvision_state(raw), "torchvision"


def load_vgg(path: str | Path | None = None, device: torch.device | str = "cpu") -> VGG16Features:
    """The loss network from ``path``, else ``$NSTVIDEO_VGG_WEIGHTS``, else torchvision's download."""
    path = path or os.environ.get(ENV_VAR) or None
    state, convention = load_weight_file(path) if path else _torchvision_weights()
    return VGG16Features(state, convention).to(device)
