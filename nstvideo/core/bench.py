"""Measured speed of inference and of a training step, for BENCHMARKS.md (``nstvideo bench``)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from . import losses
from .backends import make_backend
from .device import Runtime, training_autocast
from .transformer_net import NETWORKS, TransformerNet
from .vgg import VGG16Features


@dataclass(frozen=True)
class BenchResult:
    what: str
    setting: str
    per_second: float
    unit: str
    ms_p50: float | None = None  # per call, where each call was timed on its own
    ms_p95: float | None = None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device, warmup: int, repeats: int) -> float:
    """Seconds per call, after warm-up calls (cuDNN autotuning, allocator growth)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / repeats


@torch.inference_mode()
def bench_inference(runtime: Runtime, width: float, height: int, frame_width: int, batch: int = 1,
                    repeats: int = 5, network: str = "transformer_net") -> BenchResult:
    """Frames per second of the bare network on ``runtime``'s backend (no decoding or colour conversion).

    An untrained ``network`` of ``width`` (seeded, so OpenVINO's in-memory build is the same every run);
    int8 is calibrated on the demo clip as for a real style.
    """
    torch.manual_seed(0)
    backend = make_backend(NETWORKS[network](width), runtime, name=f"{network} width {width:g}")
    x = torch.rand(batch, 3, height, frame_width, device=runtime.device)
    seconds = _timed(lambda: backend.run(x), runtime.device, warmup=2, repeats=repeats)
    return BenchResult("inference", f"{network} width {width:g}, {frame_width}x{height}, batch {batch}",
                       batch / seconds, "frames/s")


def time_calls(fn, repeats: int, warmup: int = 2) -> tuple[float, float, float]:
    """(calls per second over the timed run, ms p50, ms p95) of ``fn()``, each call timed on its own."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return len(times) / sum(times), float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 95) * 1e3)


class ExamplesBaseline:
    """What pytorch/examples' ``fast_neural_style`` does per image, for the side-by-side bench: Johnson's
    full-width network in eager fp32 (untrained: the weights do not change the time), 0..255 tensors made
    with ``ToTensor()`` then ``mul(255)``, the output clamped and cast back; no runtime, brush or reuse."""

    name = "pytorch/examples (eager fp32, width 1)"

    def __init__(self):
        torch.manual_seed(0)
        self.model = TransformerNet(1.0).eval()

    @torch.inference_mode()
    def __call__(self, image_bgr: np.ndarray) -> np.ndarray:
        rgb = image_bgr[..., ::-1]
        x = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div(255).mul(255).unsqueeze(0)  # ToTensor, x255
        y = self.model(x / 255) * 255  # our network takes [0, 1]; the examples' one folds this into its weights
        return y[0].clamp(0, 255).permute(1, 2, 0).numpy().astype(np.uint8)[..., ::-1]


def bench_training_step(vgg: VGG16Features, runtime: Runtime, width: float, image_size: int, batch: int = 4,
                        repeats: int = 5, network: str = "transformer_net") -> BenchResult:
    """Training iterations per second: the same forward/backward/step as ``training.Trainer``."""
    device = runtime.device
    model = NETWORKS[network](width).to(device, memory_format=runtime.memory_format).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 3, image_size, image_size, device=device).contiguous(memory_format=runtime.memory_format)
    grams = {k: losses.gram_matrix(v) for k, v in vgg(x[:1], losses.STYLE_LAYERS).items()}
    amp = training_autocast(device)

    def step() -> None:
        with torch.autocast(device.type, torch.bfloat16, enabled=amp):
            c, s, tv = losses.perceptual_losses(vgg, x, model(x), grams)
            loss = c + 1e-4 * s + tv
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = _timed(step, device, warmup=2, repeats=repeats)
    return BenchResult("training", f"{network} width {width:g}, {image_size} px, batch {batch}", 1 / seconds, "it/s")
