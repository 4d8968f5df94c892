"""Applying a trained style network to images and frames: strength, colour preservation, tiling."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import pixels
from .backends import Backend, make_backend
from .device import Runtime, inference_runtime
from .errors import ConfigError, DeviceError
from .guided_filter import guided_upsample, guided_upsample_torch
from .styles import StyleInfo, load_style, resolve_style
from .transformer_net import StyleNetwork

# Peak inference memory of the full-width network is a few hundred bytes per pixel; above this many
# pixels an image is cut into overlapping tiles instead (CPU RAM is cheap to exhaust with 50 MP scans).
CPU_TILE_PIXELS = 8_000_000
TILE_SIDE = 1024
TILE_OVERLAP = 128


@dataclass(frozen=True)
class StyleOptions:
    """What may change between two frames without reloading anything."""

    strength: float = 1.0
    preserve_color: bool = False
    # Brush size: the frame is stylized at 1/brush of its size and brought back with an edge-aware
    # upsampler, so strokes grow by this factor (and inference gets about brush^2 times cheaper).
    brush: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ConfigError(f"strength must be between 0 and 1, got {self.strength}")
        if not 1.0 <= self.brush <= 8.0:
            raise ConfigError(f"brush must be between 1 and 8, got {self.brush}")


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    """1-D blending weights: linear ramps over the overlaps that touch a neighbouring tile."""
    w = torch.ones(length)
    ramp = torch.linspace(0.0, 1.0, overlap + 2)[1:-1]
    if not at_start:
        w[:overlap] = ramp
    if not at_end:
        w[-overlap:] = ramp.flip(0)
    return w


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step))
    return starts + [size - tile]


class Stylizer:
    """One style network ready for frames, on the backend its runtime names (``backends.py``).

    Not thread-safe: one per worker. ``runtime``'s ``str()`` says what runs ("openvino int8 (cpu)",
    "torch float16, channels_last (cuda)"); ``runtime.notice`` says why, when it is not what was asked
    for. Images too large to run whole go through torch in tiles, whatever the backend.
    """

    def __init__(self, model: StyleNetwork, runtime: Runtime, info: StyleInfo | None = None,
                 max_pixels: int | None = None, *, calibration: Sequence[np.ndarray] | None = None,
                 progress: Callable[[str], None] | None = None):
        self.runtime = runtime
        self.info = info
        torch_dtype = runtime.dtype if runtime.engine == "torch" else torch.float32
        self.model = model.to(device=runtime.device, dtype=torch_dtype, memory_format=runtime.memory_format).eval()
        self.backend: Backend = make_backend(self.model, runtime, style_file=info.path if info else None,
                                             name=info.name if info else "", calibration=calibration,
                                             progress=progress)
        self.max_pixels = max_pixels or (CPU_TILE_PIXELS if runtime.device.type == "cpu" else 4 * CPU_TILE_PIXELS)

    @classmethod
    def from_style(cls, style: str | Path, device: str = "auto", *, runtime: str = "auto",
                   calibration: Sequence[np.ndarray] | None = None,
                   progress: Callable[[str], None] | None = None) -> "Stylizer":
        """``style``: a name or a .safetensors path; ``runtime``: one of ``device.RUNTIME_CHOICES``.

        With OpenVINO, the first use of a style file converts (and for int8 quantizes) it, which takes
        seconds to a minute and is cached; ``calibration`` (uint8 BGR images) replaces the demo clip's
        frames for int8, ``progress(message)`` hears about the build.
        """
        model, info = load_style(resolve_style(style))
        return cls(model, inference_runtime(device, runtime), info, calibration=calibration, progress=progress)

    @property
    def name(self) -> str:
        return self.info.name if self.info else "unnamed"

    @property
    def notice(self) -> str | None:
        """One line for the user when the runtime is not the one asked for (OpenVINO missing), else None."""
        return self.runtime.notice

    @torch.inference_mode()
    def run(self, x: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] Nx3xHxW (any device/dtype) -> stylized, same shape, float32, on the runtime's device."""
        if x.shape[0] * x.shape[-1] * x.shape[-2] > self.max_pixels:
            return self._run_tiled(self._torch_input(x))
        try:
            return self.backend.run(x.to(self.runtime.device))
        except torch.OutOfMemoryError:
            if self.runtime.device.type == "cuda":
                torch.cuda.empty_cache()
            return self._run_tiled(self._torch_input(x))

    def _torch_input(self, x: torch.Tensor) -> torch.Tensor:
        dtype = next(self.model.parameters()).dtype
        return x.to(self.runtime.device, dtype).contiguous(memory_format=self.runtime.memory_format)

    def _run_tiled(self, x: torch.Tensor) -> torch.Tensor:
        """Overlapping tiles blended with linear ramps, so seams do not show as lines.

        Every tile is normalised with instance-norm statistics recorded on the whole image at a size
        that fits (one image at a time), so tiles keep the tone of an untiled run instead of each
        taking its own.
        """
        if x.shape[0] > 1:
            return torch.cat([self._run_tiled(x[i:i + 1]) for i in range(x.shape[0])])
        _, _, h, w = x.shape
        scale = min(1.0, (self.max_pixels / (h * w)) ** 0.5)
        overview = F.interpolate(x, scale_factor=scale, mode="area") if scale < 1 else x
        try:
            self.model.set_norm_mode("record")
            self.model(overview)
            self.model.set_norm_mode("fixed")
            return self._blend_tiles(x)
        finally:
            self.model.set_norm_mode("instance")

    def _blend_tiles(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        out = torch.zeros((n, 3, h, w), dtype=torch.float32, device=x.device)
        weight = torch.zeros((1, 1, h, w), dtype=torch.float32, device=x.device)
        ys, xs = _starts(h, TILE_SIDE, TILE_OVERLAP), _starts(w, TILE_SIDE, TILE_OVERLAP)
        for y0 in ys:
            for x0 in xs:
                tile = x[..., y0:y0 + TILE_SIDE, x0:x0 + TILE_SIDE]
                th, tw = tile.shape[-2:]
                try:
                    result = self.model(tile).float()
                except torch.OutOfMemoryError as exc:
                    raise DeviceError(
                        f"out of memory on {self.runtime.device} even for {TILE_SIDE}px tiles; use --device cpu",
                        str(self.runtime.device),
                    ) from exc
                wy = _ramp(th, TILE_OVERLAP, y0 == 0, y0 == ys[-1]).to(x.device)
                wx = _ramp(tw, TILE_OVERLAP, x0 == 0, x0 == xs[-1]).to(x.device)
                m = (wy[:, None] * wx[None, :])[None, None]
                out[..., y0:y0 + th, x0:x0 + tw] += result * m
                weight[..., y0:y0 + th, x0:x0 + tw] += m
        return out / weight

    def apply(self, x: torch.Tensor, options: StyleOptions) -> torch.Tensor:
        """Stylize and apply strength and colour preservation; RGB [0, 1] in and out (float32)."""
        original = x.to(self.runtime.device, torch.float32)
        if options.brush > 1.0:
            h, w = original.shape[-2:]
            size = (max(1, round(h / options.brush)), max(1, round(w / options.brush)))
            small = F.interpolate(original, size=size, mode="area")
            painted = self.run(small).clamp(0.0, 1.0)
            if original.device.type == "cpu":  # OpenCV on the host: about 6 ms a 640x360 frame on one core
                y = torch.from_numpy(guided_upsample(painted.numpy(), small.numpy(), original.numpy())).clamp_(0.0, 1.0)
            else:  # on the GPU, where the frames already are
                y = guided_upsample_torch(painted, small, original).clamp(0.0, 1.0)
        else:
            y = self.run(x).clamp(0.0, 1.0)
        if options.preserve_color:
            y = pixels.keep_colors(y, original)
        return pixels.blend(y, original, options.strength)

    def stylize_image(self, image: np.ndarray, options: StyleOptions = StyleOptions()) -> np.ndarray:
        """uint8 BGR HxWx3 -> stylized uint8 BGR of the same size."""
        return pixels.to_image(self.apply(pixels.to_tensor(image, self.runtime.device), options))

    def stylize_images(self, images: np.ndarray, options: StyleOptions = StyleOptions()) -> np.ndarray:
        """A batch of same-sized frames, uint8 BGR NxHxWx3, in one network call."""
        return pixels.to_images(self.apply(pixels.to_tensor(images, self.runtime.device), options))
