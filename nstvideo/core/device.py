"""Device choice in one place: CUDA (fp16, channels_last) > MPS > CPU (fp32)."""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch

from .errors import DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class Runtime:
    """Where and how a network runs for inference."""

    device: torch.device
    dtype: torch.dtype
    channels_last: bool

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def __str__(self) -> str:
        fmt = ", channels_last" if self.channels_last else ""
        return f"{self.device.type} ({str(self.dtype).removeprefix('torch.')}{fmt})"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def select_device(choice: str = "auto") -> torch.device:
    """The torch device for ``choice`` ("auto", "cpu", "cuda", "cuda:N" or "mps")."""
    base = choice.split(":")[0]
    if base not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {choice!r}; use one of {', '.join(DEVICE_CHOICES)}", choice)
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise DeviceError("CUDA was asked for but no CUDA GPU is visible; use --device cpu or auto", choice)
    if base == "mps" and not _mps_available():
        raise DeviceError("MPS was asked for but is not available; use --device cpu or auto", choice)
    return torch.device(choice)


def inference_runtime(choice: str = "auto") -> Runtime:
    """Half precision and channels_last on CUDA; fp32 elsewhere (CPU fp16 convolutions are slower)."""
    device = select_device(choice)
    if device.type == "cuda":
        return Runtime(device, torch.float16, channels_last=True)
    return Runtime(device, torch.float32, channels_last=False)


def describe_machine(device: torch.device) -> str:
    """One line for benchmark output and style metadata: where a figure was measured."""
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return f"{platform.machine()}, {os.cpu_count()} CPU(s), torch {torch.__version__}, {torch.get_num_threads()} threads{gpu}"
