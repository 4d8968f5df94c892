"""Argument types and options shared by the subcommands."""
from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from ..core.device import DEVICE_CHOICES, RUNTIME_CHOICES
from ..core.stylize import StyleOptions


def names_a_file(path: Path, suffixes: tuple[str, ...]) -> bool:
    """Whether ``-o PATH`` means one output file: it ends in one of ``suffixes`` and is not a folder."""
    return path.suffix.lower() in suffixes and not path.is_dir()


def unit_interval(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def brush_size(text: str) -> float:
    value = float(text)
    if not 1.0 <= value <= 8.0:
        raise argparse.ArgumentTypeError(f"must be between 1 and 8, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help=f"one of {', '.join(DEVICE_CHOICES)} or cuda:N (default: auto)")


def add_runtime(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runtime", choices=RUNTIME_CHOICES, default="auto",
                   help="what runs the style network: auto = openvino int8 on the CPU when installed (pip install "
                        "'nstvideo[fast]'), else torch; openvino-fp32 skips the int8 quantization (default: auto)")


def add_vgg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vgg-weights", type=Path, default=None,
                   help="VGG16 weights (.safetensors with Caffe or torchvision input, or torchvision .pth); "
                        "default: $NSTVIDEO_VGG_WEIGHTS, else torchvision's download")


def add_style_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strength", type=unit_interval, default=1.0, help="0 = the photo, 1 = full style")
    p.add_argument("--preserve-color", action="store_true", help="keep the photo's colours, take the style's luminance")
    p.add_argument("--brush", type=brush_size, default=1.0,
                   help="brush size 1..8: stylize at 1/N size and upsample edge-aware; bigger strokes, faster")




def style_options(args: argparse.Namespace) -> StyleOptions:
    """The StyleOptions that ``add_style_options`` collected: every field with a same-named argument."""
    return StyleOptions(**{f.name: getattr(args, f.name) for f in fields(StyleOptions) if hasattr(args, f.name)})
