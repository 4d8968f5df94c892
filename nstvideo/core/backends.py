"""Backends: what runs a style network on a batch, behind one small protocol.

``Stylizer`` (``stylize.py``) does everything around the network (brush, strength, colour, tiling) and
hands each batch to a backend, chosen by ``device.inference_runtime``:

- ``TorchBackend``: eager PyTorch; fp32 on the CPU, fp16 and channels_last on CUDA.
- ``OpenVINOBackend``: OpenVINO on the CPU, fp32 (within a level of 255 of torch) or int8, quantized
  after training with nncf on a few real frames (the shipped demo clip's, or photos the caller gives).

The OpenVINO model is built once per style and cached in ``platformdirs.user_cache_dir("nstvideo")``
under a key made of the SHA-256 of the style's weights, the precision, the calibration and the library
versions, so a changed style file is rebuilt (its stale build removed) and no build serves another style. The cached
model has dynamic height and width; one compiled model per input shape is kept in memory (compiling
takes about 0.2 s, a frame at a fixed shape runs faster than on a dynamic one).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import platformdirs
import torch
from torch import nn

from . import pixels
from .device import Runtime
from .errors import ConfigError, ModelLoadError
from .transformer_net import StyleNetwork, pad_for_body

log = logging.getLogger(__name__)

# Bumped whenever what is cached changes meaning (the exported graph, the calibration frames, nncf's settings).
CACHE_FORMAT = 1
CALIBRATION_FRAMES = 6
CALIBRATION_MAX_SIDE = 640
COMPILED_SHAPES = 4  # compiled models kept per backend: a live view, a preview and a few photo sizes


class Backend(Protocol):
    """Runs one style network on a batch."""

    runtime: Runtime

    def run(self, x: torch.Tensor) -> torch.Tensor:
        """float32 RGB [0, 1] Nx3xHxW on ``runtime.device`` -> the network's output: float32 Nx3xHxW on
        the same device, not clamped."""
        ...


class TorchBackend:
    """Eager PyTorch, in the runtime's dtype and memory format. The model is used in place, not copied."""

    def __init__(self, model: StyleNetwork, runtime: Runtime):
        self.runtime = runtime
        self.model = model.to(device=runtime.device, dtype=runtime.dtype, memory_format=runtime.memory_format).eval()

    @torch.inference_mode()
    def run(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.runtime.device, self.runtime.dtype).contiguous(memory_format=self.runtime.memory_format)
        return self.model(x).float()

    def __str__(self) -> str:
        return str(self.runtime)


class _Body(nn.Module):
    """A style network's layers without its padding and cropping, for export: the traced graph then holds
    no size-dependent branch, and ``OpenVINOBackend.run`` pads and crops instead."""

    def __init__(self, net: StyleNetwork):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.body(x)


def weights_sha256(model: nn.Module) -> str:
    """SHA-256 of a network's weights (names, shapes and float32 values, in order): what the cache is keyed by.

    Not the style file's own SHA-256: safetensors writes its metadata map in an arbitrary order, so the
    same network saved twice gives two different files, and a renamed style is the same network.
    """
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def cache_root() -> Path:
    """Where OpenVINO builds of the styles are kept (``platformdirs.user_cache_dir("nstvideo")/openvino``)."""
    return Path(platformdirs.user_cache_dir("nstvideo")) / "openvino"


def demo_calibration_frames(count: int = CALIBRATION_FRAMES) -> list[np.ndarray]:
    """``count`` frames spread over the shipped demo clip (uint8 BGR 640x360): real footage of a room and
    a person, the default calibration for int8."""
    import av

    from ..assets import demo_clip

    path = demo_clip()
    if not path.is_file():
        raise ModelLoadError(f"the demo clip {path} is missing, so int8 has nothing to calibrate on; "
                             "reinstall nstvideo, pass calibration images, or use --runtime openvino-fp32", path)
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in picks]


def _calibration_inputs(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """uint8 BGR images -> the network's padded float inputs (1x3xHxW), the longer side at most 640."""
    inputs = []
    for image in images:
        scale = CALIBRATION_MAX_SIDE / max(image.shape[:2])
        if scale < 1:
            size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        inputs.append(pad_for_body(pixels.to_tensor(image)).numpy())
    return inputs


def _images_sha256(images: Sequence[np.ndarray]) -> str:
    digest = hashlib.sha256()
    for image in images:
        digest.update(str(image.shape).encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _quiet_export():
    """torch.jit.trace's deprecation and tracer warnings say nothing about this model, and the test
    suite turns warnings into errors; torch's "no CUDA runtime" log line says nothing either."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


class OpenVINOBackend:
    """OpenVINO on the CPU, fp32 or int8 (``runtime.precision``).

    ``style_file``: the style the model was loaded from; with one, the build is cached on disk (keyed by
    the weights' SHA-256, see ``weights_sha256``), without one it is kept in memory only. ``calibration``: uint8 BGR images for int8 (default: frames of the
    demo clip); a build from given images is cached under their hash, so it never stands in for the
    default one. ``progress(message)`` hears about the one-time build (default: a log warning, as the
    build takes seconds to a minute). ``cache_dir`` overrides ``cache_root()``.
    """

    def __init__(self, model: StyleNetwork, runtime: Runtime, *, style_file: str | Path | None = None,
                 name: str = "", calibration: Sequence[np.ndarray] | None = None,
                 progress: Callable[[str], None] | None = None, cache_dir: Path | None = None):
        if runtime.engine != "openvino" or runtime.precision not in ("fp32", "int8"):
            raise ConfigError(f"OpenVINOBackend runs openvino fp32 or int8, not {runtime}")
        import openvino as ov

        self._ov = ov
        self.runtime = runtime
        self.name = name or (Path(style_file).stem if style_file else "unnamed")
        self._progress = progress or log.warning
        self._core = ov.Core()
        # Strict fp32 where the rest of the graph is not int8: the CPU plugin's default on bf16-capable
        # processors (AVX512-BF16, AMX) is bf16, which moves fp32 outputs by up to 4 levels of 255.
        self._config = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                        "INFERENCE_NUM_THREADS": torch.get_num_threads()}
        self._compiled: OrderedDict[tuple[int, ...], object] = OrderedDict()
        self.built_seconds = 0.0  # time spent converting and quantizing now (0 when the cache had it)
        key = self._key(model, style_file, calibration)
        folder = None
        if style_file is not None:
            root = cache_dir or cache_root()
            folder = root / f"{self.name}-{runtime.precision}-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]}"
        self.cache_folder = folder
        self._model = self._load(folder, key) if folder is not None else None
        if self._model is None:
            t0 = time.perf_counter()
            self._model = self._build(model, calibration, where=folder)
            self.built_seconds = time.perf_counter() - t0
            if folder is not None:
                self._save(folder, key, style_file)

    def _key(self, model: StyleNetwork, style_file, calibration) -> dict:
        import openvino as ov

        key = {"format": CACHE_FORMAT, "precision": self.runtime.precision, "openvino": ov.__version__,
               "weights_sha256": weights_sha256(model)}
        if self.runtime.precision == "int8":
            import nncf

            key["nncf"] = nncf.__version__
            key["calibration"] = "demo" if calibration is None else _images_sha256(calibration)
        return key

    def _load(self, folder: Path, key: dict):
        try:
            recorded = json.loads((folder / "key.json").read_text())
        except (OSError, ValueError):
            return None
        if recorded.get("key") != key:  # another style, precision or library version: never used
            return None
        try:
            return self._core.read_model(folder / "model.xml")
        except RuntimeError as exc:
            log.info("rebuilding %s: %s", folder, str(exc).splitlines()[0] if str(exc) else exc)
            return None

    def _save(self, folder: Path, key: dict, style_file) -> None:
        """Written to a temporary folder and renamed, so a crash never leaves half a model to be read."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            self._ov.save_model(self._model, tmp / "model.xml", compress_to_fp16=False)
            (tmp / "key.json").write_text(json.dumps(
                {"key": key, "style_file": str(Path(style_file).resolve()), "name": self.name,
                 "created": time.strftime("%Y-%m-%d %H:%M:%S"), "build_seconds": round(self.built_seconds, 1)},
                indent=1))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        except OSError as exc:  # a read-only or full cache costs a rebuild next time, nothing else
            log.warning("could not cache the %s build in %s (%s); it will be rebuilt next time", self.runtime, folder, exc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._remove_stale(folder, key, style_file)

    def _remove_stale(self, folder: Path, key: dict, style_file) -> None:
        """Builds of an earlier version of the same style file (same path and precision, other weights)."""
        path = str(Path(style_file).resolve())
        for other in folder.parent.glob(f"*-{self.runtime.precision}-*"):
            if other == folder:
                continue
            try:
                recorded = json.loads((other / "key.json").read_text())
            except (OSError, ValueError):
                continue
            if recorded.get("style_file") == path and recorded.get("key", {}).get("weights_sha256") != key["weights_sha256"]:
                shutil.rmtree(other, ignore_errors=True)

    def _build(self, model: StyleNetwork, calibration, where: Path | None):
        ov = self._ov
        cached = f"; cached in {where}" if where else ""
        self._progress(f"openvino {self.runtime.precision}: preparing style {self.name!r} once (seconds to a "
                       f"minute){cached}")
        body = _Body(model.float().cpu().eval())
        with _quiet_export(), torch.no_grad():
            example = torch.rand(1, 3, 64, 64)
            ov_model = ov.convert_model(body, example_input=example, input=[(-1, 3, -1, -1)])
        if self.runtime.precision == "fp32":
            return ov_model
        import nncf

        images = demo_calibration_frames() if calibration is None else list(calibration)
        if not images:
            raise ConfigError("int8 calibration needs at least one image; pass some or use --runtime openvino-fp32")
        source = "the demo clip" if calibration is None else "the given images"
        self._progress(f"openvino int8: calibrating {self.name!r} on {len(images)} frames of {source}")
        inputs = _calibration_inputs(images)
        # nncf draws its own progress bars on stdout; ``progress`` above already said what is happening.
        with _quiet_export(), contextlib.redirect_stdout(io.StringIO()):
            return nncf.quantize(ov_model, nncf.Dataset(inputs), subset_size=len(inputs),
                                 target_device=nncf.TargetDevice.CPU)

    def _compiled_for(self, shape: tuple[int, ...]):
        request = self._compiled.get(shape)
        if request is None:
            model = self._model.clone()
            model.reshape({0: list(shape)})
            request = self._core.compile_model(model, "CPU", self._config).create_infer_request()
            self._compiled[shape] = request
            if len(self._compiled) > COMPILED_SHAPES:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(shape)
        return request

    @torch.inference_mode()
    def run(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        padded = pad_for_body(x.to("cpu", torch.float32)).contiguous()
        request = self._compiled_for(tuple(padded.shape))
        out = request.infer({0: padded.numpy()}, share_inputs=True)[0]
        return torch.from_numpy(out[..., :h, :w])

    def __str__(self) -> str:
        return str(self.runtime)


def make_backend(model: StyleNetwork, runtime: Runtime, *, style_file: str | Path | None = None, name: str = "",
                 calibration: Sequence[np.ndarray] | None = None,
                 progress: Callable[[str], None] | None = None) -> Backend:
    """The backend ``runtime`` names, around ``model`` (see ``OpenVINOBackend`` for the other arguments)."""
    if runtime.engine == "torch":
        return TorchBackend(model, runtime)
    if runtime.engine == "openvino":
        return OpenVINOBackend(model, runtime, style_file=style_file, name=name, calibration=calibration,
                               progress=progress)
    raise ConfigError(f"unknown engine {runtime.engine!r} in {runtime}")
