"""Style files: one fp16 safetensors file per style, its description in JSON-valued metadata.

Where styles are found: the shipped ones (package data of ``nstvideo.weights``: the checkout's ``weights/``
folder, ``nstvideo/weights/`` in an installed wheel), then the user's data folder
(``platformdirs.user_data_dir("nstvideo")/styles``); a user style shadows a shipped one of the same name.
``--style`` takes a name or a path everywhere.
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import platformdirs
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .errors import InputError, ModelLoadError, StyleNotFoundError
from .images import atomic_output, check_regular_file
from .names import safe_name
from .torch_files import load_weights_only
from .transformer_net import ARCHITECTURE, NETWORKS, StyleNetwork, TransformerNet, build_network, channels_for
from .weights_check import MAX_WIDTH, check_architecture, check_finite, check_tensors

FORMAT = "nstvideo-style"
FORMAT_VERSION = 1
SUFFIX = ".safetensors"
SHIPPED_DIR = Path(str(files("nstvideo.weights")))  # a real folder: pip installs packages unzipped
_INT_KEYS = ("format_version", "iterations", "residual_blocks")
_SAFETENSORS_DTYPES = {"F16": torch.float16, "F32": torch.float32, "BF16": torch.bfloat16}


@dataclass
class StyleInfo:
    """What a style file says about itself. ``recipe`` and ``training`` are free-form JSON objects."""

    name: str
    architecture: str = ARCHITECTURE  # a key of ``transformer_net.NETWORKS``
    width: float = 1.0
    residual_blocks: int = 5
    title: str = ""
    artist: str = ""
    year: str = ""
    rights: str = ""
    iterations: int = 0
    recipe: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def description(self) -> str:
        painting = ", ".join(p for p in (self.title, self.artist, self.year) if p)
        return painting or self.recipe.get("style_image") or "(no painting recorded)"

    def to_metadata(self) -> dict[str, str]:
        meta = {"format": FORMAT, "format_version": str(FORMAT_VERSION)}
        for key, value in asdict(self).items():
            if key == "path":
                continue
            meta[key] = json.dumps(value) if isinstance(value, dict) else str(value)
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, str], path: Path) -> "StyleInfo":
        """ModelLoadError for metadata out of bounds: an unsafe name, an unknown or unbounded network,
        a recipe or training record that is not a JSON object."""
        try:
            info = cls(
                name=safe_name(meta.get("name") or path.stem, "its style name"),
                architecture=meta.get("architecture", ARCHITECTURE),
                width=float(meta.get("width", 1.0)),
                residual_blocks=int(meta.get("residual_blocks", 5)),
                title=meta.get("title", ""),
                artist=meta.get("artist", ""),
                year=meta.get("year", ""),
                rights=meta.get("rights", ""),
                iterations=int(meta.get("iterations", 0)),
                recipe=json.loads(meta.get("recipe", "{}")),
                training=json.loads(meta.get("training", "{}")),
                path=path,
            )
            check_architecture(info.architecture, info.width, info.residual_blocks)
            for key in ("recipe", "training"):
                if not isinstance(getattr(info, key), dict):
                    raise ValueError(f"{key} is not a JSON object")
        except (ValueError, TypeError, OverflowError) as exc:  # ConfigError is a ValueError
            raise ModelLoadError(f"{path} has unusable style metadata ({exc}); re-export or train the style again",
                                 path) from exc
        return info


def user_style_dir() -> Path:
    return Path(platformdirs.user_data_dir("nstvideo")) / "styles"


def style_dirs() -> list[Path]:
    return [SHIPPED_DIR, user_style_dir()]


def _read_header(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise InputError(f"style file {path} does not exist; check the path or run 'nstvideo styles'", path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"{path} is not a readable style file (corrupt or truncated: {exc}); copy or train it again", path
        ) from exc
    if meta.get("format") != FORMAT:
        raise ModelLoadError(
            f"{path} is not an nstvideo style file; convert a pytorch/examples model with "
            "'nstvideo import-pth FILE --name NAME'",
            path,
        )
    version = meta.get("format_version", str(FORMAT_VERSION))
    if not (version.isascii() and version.isdigit()) or int(version) < 1:
        raise ModelLoadError(f"{path} has an invalid format version {version!r}; copy or train the style again", path)
    if int(version) > FORMAT_VERSION:
        raise ModelLoadError(f"{path} has format version {version}, newer than this nstvideo reads; upgrade "
                             "nstvideo to use it", path)
    if meta.get("architecture") not in NETWORKS:
        raise ModelLoadError(
            f"{path} holds a {meta.get('architecture')!r} network; this version of nstvideo runs "
            f"{' and '.join(map(repr, NETWORKS))} styles only; upgrade nstvideo to use it",
            path,
        )
    return meta


def read_info(path: str | Path) -> StyleInfo:
    path = Path(path)
    return StyleInfo.from_metadata(_read_header(path), path)


def load_style(path: str | Path) -> tuple[StyleNetwork, StyleInfo]:
    """The network (float32, eval mode, on the CPU) and its description."""
    info = read_info(path)
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            shapes = {k: (tuple(f.get_slice(k).get_shape()), _SAFETENSORS_DTYPES.get(f.get_slice(k).get_dtype()))
                      for k in f.keys()}
            try:
                check_tensors(shapes, info.architecture, info.width, info.residual_blocks)  # before allocating
            except ModelLoadError as exc:
                raise ModelLoadError(f"{path} does not match its declared architecture: {exc}; copy or train the "
                                     "style again", path) from exc
            state = {k: f.get_tensor(k).float() for k in f.keys()}
        try:
            check_finite(state)
        except ModelLoadError as exc:
            raise ModelLoadError(f"{path} cannot be used: {exc}; copy or train the style again", path) from exc
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{path} is corrupt or truncated ({exc}); copy or train it again", path) from exc
    model = build_network(info.architecture, info.width, info.residual_blocks)
    model.load_state_dict(state)
    return model.eval(), info


def save_style(path: str | Path, model: StyleNetwork, info: StyleInfo, overwrite: bool = False) -> Path:
    """fp16 weights (half the size, no visible change) plus metadata, written atomically."""
    path = Path(path)
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in model.state_dict().items()}
    info = StyleInfo(**{**asdict(info), "architecture": model.architecture, "width": model.width,
                        "residual_blocks": model.residual_blocks, "path": None})
    with atomic_output(path, overwrite) as tmp:
        save_file(state, str(tmp), metadata=info.to_metadata())
    return path


def installed_styles() -> dict[str, StyleInfo]:
    """Name -> info for every readable style; later folders shadow earlier ones, broken files are skipped."""
    found: dict[str, StyleInfo] = {}
    for folder in style_dirs():
        for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
            try:
                info = read_info(path)
            except (ModelLoadError, InputError):
                continue
            found[info.name] = info
    return found


def looks_like_path(spec: str) -> bool:
    return any(sep in spec for sep in ("/", "\\")) or spec.endswith((SUFFIX, ".pth", ".pt"))


def resolve_style(spec: str | Path) -> Path:
    """A style name or path -> the path of its file; unknown names suggest the closest installed ones."""
    if isinstance(spec, Path) or looks_like_path(spec) or Path(spec).is_file():
        path = Path(spec)
        if path.suffix in (".pth", ".pt"):
            raise ModelLoadError(
                f"{path} is a PyTorch checkpoint; convert it first with 'nstvideo import-pth {path} --name NAME'",
                path,
            )
        if not path.is_file():
            raise InputError(f"style file {path} does not exist; check the path or run 'nstvideo styles'", path)
        return path
    styles = installed_styles()
    if spec in styles and styles[spec].path is not None:
        return styles[spec].path  # type: ignore[return-value]
    names = sorted(styles)
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(spec.lower(), list(lowered), n=3, cutoff=0.5)
    raise StyleNotFoundError(spec, names, [lowered[c] for c in close])


# pytorch/examples' fast_neural_style saved InstanceNorm2d running statistics in old PyTorch versions.
_LEGACY_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def convert_examples_state(state: dict[str, torch.Tensor]) -> TransformerNet:
    """pytorch/examples fast_neural_style state dict (0..255 pixels) -> our TransformerNet ([0, 1] pixels).

    The networks are identical but for the pixel range, so the range is folded into the weights:
    conv1 sees x/255 instead of x (its weights are multiplied by 255) and deconv3 must output y/255
    (its weights and bias are divided by 255). Outputs match the original to float precision.
    """
    if not all(isinstance(k, str) for k in state):
        raise ModelLoadError("not a fast_neural_style state dict: its keys are not layer names")
    state = {k: v for k, v in state.items() if not k.endswith(_LEGACY_SUFFIXES)}
    conv1 = state.get("conv1.conv2d.weight")
    if conv1 is None:
        raise ModelLoadError("not a fast_neural_style state dict: it has no 'conv1.conv2d.weight'")
    c1 = conv1.shape[0] if conv1.dim() == 4 else 0
    width = c1 / 32
    if not 0 < width <= MAX_WIDTH or channels_for(width)[0] != c1:
        raise ModelLoadError(f"its first layer has {c1 or 'no'} filters; fast_neural_style networks have 32 "
                             f"(4 to {int(32 * MAX_WIDTH)} for other widths)")
    blocks = len({k.split(".")[0] for k in state if re.fullmatch(r"res\d+", k.split(".")[0])})
    check_tensors({k: (tuple(v.shape), v.dtype) for k, v in state.items()}, ARCHITECTURE, width, blocks)
    check_finite(state)
    state = {k: v.float() for k, v in state.items()}
    state["conv1.conv2d.weight"] = state["conv1.conv2d.weight"] * 255.0
    state["deconv3.conv2d.weight"] = state["deconv3.conv2d.weight"] / 255.0
    state["deconv3.conv2d.bias"] = state["deconv3.conv2d.bias"] / 255.0
    model = TransformerNet(width=width, residual_blocks=blocks)
    model.load_state_dict(state)
    return model.eval()


def import_pth(path: str | Path, name: str, out: str | Path | None = None, overwrite: bool = False) -> Path:
    """Convert a pytorch/examples ``.pth`` to a style file (in the user folder unless ``out`` is given).

    Loaded with ``weights_only=True``: a file that needs arbitrary pickled objects is refused, never run.
    """
    path = Path(path)
    name = safe_name(name, "--name")
    check_regular_file(path, "a .pth file")
    raw = load_weights_only(path, "export a plain state dict (torch.save(model.state_dict(), path))")
    if isinstance(raw, dict) and "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise ModelLoadError(f"{path} does not hold a state dict of tensors; export one with "
                             "torch.save(model.state_dict(), path)", path)
    try:
        model = convert_examples_state(raw)
    except ModelLoadError as exc:
        raise ModelLoadError(f"{path}: {exc}; only pytorch/examples fast_neural_style models can be imported",
                             path) from exc
    target = Path(out) if out else user_style_dir() / f"{name}{SUFFIX}"
    info = StyleInfo(name=name, recipe={"imported_from": path.name, "source": "pytorch/examples fast_neural_style"})
    return save_style(target, model, info, overwrite=overwrite)
