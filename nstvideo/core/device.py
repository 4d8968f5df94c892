"""Device and runtime choice in one place.

Device: CUDA (fp16, channels_last) > MPS > CPU (fp32). Runtime, on the CPU: OpenVINO int8 when the
``fast`` extra is installed (``pip install 'nstvideo[fast]'``), else torch; ``--runtime`` overrides it
(``backends.py`` runs what is chosen here).
"""
from __future__ import annotations

import functools
import importlib
import logging
import os
import platform
from dataclasses import dataclass, field

import torch

from .errors import ConfigError, DeviceError

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
# auto: OpenVINO int8 on the CPU where it imports, torch elsewhere; openvino: int8 (post-training
# quantized with nncf, once per style); openvino-fp32: the unquantized network, within a level of torch.
RUNTIME_CHOICES = ("auto", "torch", "openvino", "openvino-fp32")
FAST_EXTRA_HINT = "pip install 'nstvideo[fast]'"


@dataclass(frozen=True)
class Runtime:
    """Where and how a network runs for inference.

    ``engine`` is "torch" or "openvino"; ``precision`` is OpenVINO's "fp32" or "int8" ("" for torch,
    whose precision is ``dtype``). ``dtype`` and ``memory_format`` are what the network's input is given
    in. ``notice``: one line for the user when the runtime asked for could not be had (see
    ``inference_runtime``), else None.
    """

    device: torch.device
    dtype: torch.dtype
    channels_last: bool
    engine: str = "torch"
    precision: str = ""
    notice: str | None = field(default=None, compare=False)

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def __str__(self) -> str:
        if self.engine != "torch":
            return f"{self.engine} {self.precision} ({self.device.type})"
        fmt = ", channels_last" if self.channels_last else ""
        return f"torch {str(self.dtype).removeprefix('torch.')}{fmt} ({self.device.type})"


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


@functools.cache
def openvino_missing() -> str | None:
    """Why OpenVINO cannot be used here (one line), or None when it imports."""
    try:
        importlib.import_module("openvino")
    except (ImportError, OSError) as exc:  # OSError: a wheel whose shared libraries do not load
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


@functools.cache
def _fallback_notice(reason: str) -> str:
    """Logged once a process, however many stylizers fall back."""
    notice = f"openvino is not available ({reason}): running on torch; {FAST_EXTRA_HINT} for the faster CPU runtime"
    log.warning(notice)
    return notice


def inference_runtime(choice: str = "auto", runtime: str = "auto") -> Runtime:
    """The runtime for device ``choice`` and runtime ``runtime`` (one of ``RUNTIME_CHOICES``).

    torch: half precision and channels_last on CUDA, fp32 elsewhere (CPU fp16 convolutions are slower).
    openvino / openvino-fp32: the CPU only. auto: OpenVINO int8 on the CPU, torch on a GPU. Where
    OpenVINO does not import, the CPU gets torch and a one-line ``notice`` (logged once a process).
    """
    if runtime not in RUNTIME_CHOICES:
        raise ConfigError(f"unknown runtime {runtime!r}; use one of {', '.join(RUNTIME_CHOICES)}")
    device = select_device(choice)
    if device.type == "cuda":
        torch_runtime = Runtime(device, torch.float16, channels_last=True)
    else:
        torch_runtime = Runtime(device, torch.float32, channels_last=False)
    if runtime == "torch" or (runtime == "auto" and device.type != "cpu"):
        return torch_runtime
    if device.type != "cpu":
        raise ConfigError(f"--runtime {runtime} runs on the CPU; use --device cpu, or --runtime torch on {device.type}")
    reason = openvino_missing()
    if reason is not None:
        return Runtime(device, torch.float32, False, notice=_fallback_notice(reason))
    return Runtime(device, torch.float32, False, engine="openvino", precision="fp32" if runtime == "openvino-fp32" else "int8")


@functools.cache
def _cpu_flags() -> frozenset[str] | None:
    try:
        with open("/proc/cpuinfo") as f:
            return frozenset(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:
        return None


def cpu_bf16_native() -> bool:
    """Whether this CPU computes bf16 dot products in hardware (AVX512-BF16 or AMX): there bf16 autocast
    trains a style about 1.5x faster (BENCHMARKS.md); elsewhere it is emulated and slower than fp32."""
    flags = _cpu_flags() or frozenset()
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def training_autocast(device: torch.device) -> bool:
    """Whether training steps run under bf16 autocast on ``device``: on GPUs (tensor cores) and on CPUs with
    bf16 in hardware. The losses keep their Grams in fp32 (``losses.gram_matrix``)."""
    return device.type == "cuda" or (device.type == "cpu" and cpu_bf16_native())


def cpu_features() -> str:
    """The vector extensions that decide CPU inference speed ("avx2", "avx512", "amx"), from /proc/cpuinfo.

    Machines that look alike (2 cores, x86_64) differ here by several times in int8 and bf16 throughput.
    """
    flags = _cpu_flags()
    if flags is None:
        return platform.processor() or "unknown CPU"
    names = [("avx2", "avx2"), ("avx512f", "avx512"), ("avx512_vnni", "vnni"), ("avx_vnni", "avx-vnni"),
             ("avx512_bf16", "bf16"), ("amx_int8", "amx")]
    found = [label for flag, label in names if flag in flags]
    return "+".join(found) if found else "no avx2"


def describe_machine(device: torch.device) -> str:
    """One line for benchmark output and style metadata: where a figure was measured."""
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return (f"{platform.machine()} ({cpu_features()}), {os.cpu_count()} CPU(s), torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads{gpu}")
