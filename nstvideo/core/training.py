"""Training a style network: Johnson et al. 2016 perceptual-loss training, resumable, CLI- and GUI-driven.

``Trainer(config, on_step=..., on_preview=..., should_stop=...).run()`` is the one training loop; the CLI
and the app's training dialog only build a ``TrainConfig`` and pass callbacks. Under ``torchrun`` the
same loop runs data-parallel (DistributedDataParallel, NCCL on GPUs, gloo on CPUs): ``batch_size`` is
per process, every process draws its own crops, and rank 0 writes the files.
"""
from __future__ import annotations

import csv
import dataclasses
import logging
import math
import os
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from . import losses, pixels
from .dataset import PhotoCache
from .device import describe_machine, select_device, training_autocast
from .errors import ConfigError, InputError, ModelLoadError, OutputExistsError, TrainingError
from .images import atomic_output, check_output, read_image, resize_max_side, write_image
from .names import safe_name
from .plot import plot_losses
from .stability_loss import compound_loss
from .styles import SUFFIX, StyleInfo, load_style, resolve_style, save_style, user_style_dir
from .torch_files import load_weights_only
from .transformer_net import ARCHITECTURE, NETWORKS
from .vgg import load_vgg
from .weights_check import check_architecture

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1
_CHECKPOINT_KEYS = {"version", "iteration", "model", "optimizer", "sampler_rng", "torch_rng"}
LOSS_NAMES = ("total", "content", "style", "tv", "distill", "temporal")
PATH_FIELDS = ("style_image", "dataset", "out", "run_dir", "vgg_weights", "preview_image")
# What decides what the network learns: a resumed run must match the checkpoint on all of these.
RECIPE_FIELDS = ("iterations", "batch_size", "image_size", "photo_size", "style_size", "content_weight",
                 "style_weight", "tv_weight", "lr", "network", "width", "residual_blocks", "teacher",
                 "distill_weight", "temporal_weight", "seed", "init")
# Settings that name a trained style, by its name or its file (a recipe keeps only the file's name).
STYLE_FIELDS = ("teacher", "init")
# The VGG layers a student matches its teacher's output on: relu1_2 holds colour and fine strokes,
# relu2_2 (the content layer) their shapes; the same scale as the content loss, so weight 1 = as much.
DISTILL_LAYERS = ("relu1_2", "relu2_2")
# VGG's relu4_3 (the deepest style layer) lies behind three poolings: a painting needs 16 px for 2x2 there.
MIN_PAINTING_SIDE = 16


@dataclass
class TrainConfig:
    """One training job. Defaults follow Johnson et al. 2016: content relu2_2, style relu1_2..relu4_3,
    Adam 1e-3, batch 4, 256 px crops, 40k iterations. The loss weights are in ``losses.py`` conventions."""

    style_image: Path
    dataset: Path
    name: str
    out: Path | None = None
    run_dir: Path | None = None
    iterations: int = 40_000
    batch_size: int = 4
    image_size: int = 256
    photo_size: int | None = None  # photos' short side before crops are cut; default image_size x 1.125
    style_size: int | None = None
    content_weight: float = 1.0
    style_weight: float = 5e-5
    tv_weight: float = 0.0
    lr: float = 1e-3
    network: str = ARCHITECTURE  # a key of transformer_net.NETWORKS
    width: float = 1.0
    residual_blocks: int | None = None  # default: the network's own
    # Distillation: a trained style (name or file) whose outputs the new network also learns to match.
    teacher: str | None = None
    distill_weight: float = 1.0
    # Fine-tuning: a trained style (name or file) of the same network whose weights a new run starts from.
    init: str | None = None
    # Stability: Wang et al. 2020's compound regularization (core/stability_loss.py); 0 = off, as before.
    temporal_weight: float = 0.0
    device: str = "auto"
    vgg_weights: Path | None = None
    seed: int = 0
    checkpoint_every: int = 500
    preview_every: int = 500
    log_every: int = 20
    preview_image: Path | None = None
    overwrite: bool = False
    # What the style file will say about its painting.
    title: str = ""
    artist: str = ""
    year: str = ""
    rights: str = ""

    def __post_init__(self) -> None:
        check_setting_types(dataclasses.asdict(self))
        safe_name(self.name, "--name")
        for name in PATH_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))
        if min(self.iterations, self.batch_size, self.checkpoint_every, self.preview_every, self.log_every) < 1:
            raise ConfigError("iterations, batch size and the checkpoint/preview/log intervals must be at least 1")
        if self.image_size < 16:
            raise ConfigError(f"--image-size must be at least 16 px, got {self.image_size}")
        try:  # before minutes of data loading; the same bounds as a style file's
            check_architecture(self.network, self.width, 1 if self.residual_blocks is None else self.residual_blocks)
        except ConfigError as exc:
            raise ConfigError(f"{exc}; choose another (the pack's recipes use --network lite_net --width 1 "
                              "--residual-blocks 4)") from exc
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"--{_flag(f.name)} must be a finite number, got {value}")
            if f.name.endswith("_weight") and value < 0:
                raise ConfigError(f"--{_flag(f.name)} must be 0 or more, got {value}")
        if not self.lr > 0:
            raise ConfigError(f"--lr must be above 0 (1e-3 is the usual), got {self.lr}")
        if self.style_size is not None and self.style_size < MIN_PAINTING_SIDE:
            raise ConfigError(f"--style-size must be at least {MIN_PAINTING_SIDE} px, got {self.style_size}")

    @property
    def output_path(self) -> Path:
        return self.out or user_style_dir() / f"{self.name}{SUFFIX}"

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir or Path("runs") / self.name

    def recipe(self) -> dict:
        """The settings that decide what the network learns (saved in the style file)."""
        recipe = {k: getattr(self, k) for k in RECIPE_FIELDS} | {
            "style_image": self.style_image.name, "dataset": self.dataset.name}
        for key in STYLE_FIELDS:
            if recipe[key] is not None:
                recipe[key] = Path(recipe[key]).name
        return recipe

    def build_network(self):
        kwargs = {} if self.residual_blocks is None else {"residual_blocks": self.residual_blocks}
        return NETWORKS[self.network](width=self.width, **kwargs)

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


def _flag(field_name: str) -> str:
    return field_name.replace("_", "-")


# What each kind of TrainConfig field accepts (bool is an int in Python, but never a number here).
_ACCEPTS = {int: ((int,), "a whole number"), float: ((int, float), "a number"), str: ((str,), "text"),
            Path: ((str, Path), "a path"), bool: ((bool,), "true or false")}


def check_setting_types(settings: dict, where: str = "") -> None:
    """The one schema of training settings: ConfigError naming the first value whose type does not fit its
    TrainConfig field (``iterations = "abc"``, ``image_size = 32.5``, a table for ``lr``...).

    ``where`` starts the message ("recipe train/x.toml: "). Unknown keys are the caller's to refuse.
    """
    hints = typing.get_type_hints(TrainConfig)
    for key, value in settings.items():
        if key not in hints:
            continue
        kinds = typing.get_args(hints[key]) or (hints[key],)
        if value is None and type(None) in kinds:
            continue
        accepted = [_ACCEPTS[k] for k in kinds if k in _ACCEPTS]
        if not any(isinstance(value, types) and (bool in types or not isinstance(value, bool))
                   for types, _ in accepted):
            wanted = " or ".join(name for _, name in accepted)
            raise ConfigError(f"{where}{key} must be {wanted}, got {value!r}"[:200])


def recipe_defaults() -> dict:
    """What a recipe field meant before it existed (style files and checkpoints from older versions)."""
    return {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name in RECIPE_FIELDS}


@dataclass
class StepReport:
    iteration: int
    iterations: int
    start_iteration: int  # where this run began: 0, or the checkpoint it resumed from
    losses: dict[str, float]
    seconds: float
    iterations_per_second: float


@dataclass
class TrainResult:
    style_path: Path | None
    iteration: int
    stopped: bool
    skipped_images: list[Path] = field(default_factory=list)


def _distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun, else (0, 1); starts the process group once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        *,
        on_step: Callable[[StepReport], None] | None = None,
        on_preview: Callable[[int, np.ndarray], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        resume: bool = False,
    ):
        self.config = config
        self.on_step = on_step
        self.on_preview = on_preview
        self.should_stop = should_stop or (lambda: False)
        self.resume = resume
        self.rank, self.world = _distributed()
        self.device = select_device(config.device)
        if self.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(self.device)
        # 1.5x a CPU step where bf16 is in hardware (BENCHMARKS.md "Training step on the CPU: bf16").
        self.amp = training_autocast(self.device)
        # channels_last also on the CPU, where it measured faster (BENCHMARKS.md); MPS left as is.
        self.memory_format = torch.channels_last if self.device.type in ("cuda", "cpu") else torch.contiguous_format
        self.elapsed = 0.0
        self.looping = False  # inside the training loop, where request_stop() takes effect
        self._stop_requested = False
        self._batch_rng: tuple[int, torch.Tensor] | None = None  # (iteration, sampler state before its batch)
        self._stepping = False  # inside optimizer.step() and the count that follows it

    def request_stop(self) -> None:
        """Stop after the iteration under way, with a checkpoint that resumes exactly (a signal handler's call)."""
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    # -- files -----------------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.config.checkpoint_dir / "checkpoint.pt"

    def _sampler_states(self) -> list[torch.Tensor]:
        """Every rank's crop sampler state (gathered to all ranks), so each resumes its own sequence."""
        state = self.generator.get_state()
        if self.world == 1:
            return [state]
        states: list = [None] * self.world
        dist.all_gather_object(states, state)
        return states

    def _save_checkpoint(self, iteration: int) -> None:
        samplers = self._sampler_states()
        if self.rank != 0:
            return
        state = {
            "version": CHECKPOINT_VERSION,
            "iteration": iteration,
            "model": self._model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "sampler_rng": samplers,
            "torch_rng": torch.get_rng_state(),
            "config": self.config.to_dict(),
            "processes": self.world,
            "elapsed": self.elapsed,
        }
        with atomic_output(self.checkpoint_path, overwrite=True) as tmp:
            torch.save(state, tmp)

    def _load_checkpoint(self) -> int:
        path = self.checkpoint_path
        if not path.is_file():
            raise InputError(f"nothing to resume: {path} does not exist; start without --resume", path)
        state = load_weights_only(path, "delete it and start again with --overwrite", self.device)
        if not isinstance(state, dict) or not isinstance(state.get("config"), dict) \
                or not _CHECKPOINT_KEYS <= set(state):
            raise ModelLoadError(f"{path} is not an nstvideo training checkpoint; start again with --overwrite or "
                                 "another --run-dir", path)
        if state.get("version") != CHECKPOINT_VERSION:
            raise ModelLoadError(f"checkpoint {path} has version {state.get('version')}; start a new run", path)
        saved = state["config"]
        defaults = recipe_defaults()
        for key in RECIPE_FIELDS:  # a field newer than the checkpoint had its default then
            if key != "iterations" and saved.get(key, defaults[key]) != getattr(self.config, key):
                raise TrainingError(
                    f"checkpoint {path} was trained with {key}={saved.get(key)}, not {getattr(self.config, key)}; "
                    "resume with the same settings, or use another --run-dir to start again", path)
        if state.get("processes", 1) != self.world:
            raise TrainingError(f"checkpoint {path} comes from {state.get('processes', 1)} process(es), not "
                                f"{self.world}; resume with the same torchrun --nproc_per_node", path)
        try:
            self._model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            samplers = state["sampler_rng"]
            samplers = [samplers] if isinstance(samplers, torch.Tensor) else samplers  # single-process format
            self.generator.set_state(samplers[self.rank].cpu())
            torch.set_rng_state(state["torch_rng"].cpu())
            self.elapsed = float(state.get("elapsed", 0.0))
            return int(state["iteration"])
        except (RuntimeError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:100]
            raise ModelLoadError(f"checkpoint {path} is damaged ({detail}); start again with --overwrite or "
                                 "another --run-dir", path) from exc

    def _iteration_after_interrupt(self, iteration: int) -> int | None:
        """The last whole iteration when an interrupt cut one short, with the sampler put back to match it;
        None if it came during an optimizer step (the weights may be half updated: the previous checkpoint
        then stays). An iteration whose batch was drawn but not stepped gets its batch back, so the resumed
        run draws it again (resuming with the batch already drawn skipped one)."""
        if self._stepping:
            log.warning("interrupted in the middle of an optimizer step; the last checkpoint is kept")
            return None
        if self._batch_rng is not None and self._batch_rng[0] == iteration:
            self.generator.set_state(self._batch_rng[1])
        return iteration

    def _start_history(self, start: int) -> Path:
        """losses.csv with its header, or the existing one cut back to the checkpoint we resume from."""
        path = self.config.checkpoint_dir / "losses.csv"
        header = ("iteration", *LOSS_NAMES, "seconds")
        rows: list[dict] = []
        if start and path.exists():  # rewritten under today's header: a loss an older run lacked stays empty
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["iteration"]) <= start]
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, header, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        return path

    def _append_history(self, path: Path, iteration: int, values: dict[str, float]) -> None:
        with path.open("a", newline="") as f:
            csv.writer(f).writerow((iteration, *(f"{values[k]:.6g}" for k in LOSS_NAMES), f"{self.elapsed:.1f}"))

    def _preview(self, iteration: int, image: torch.Tensor) -> None:
        self._model.eval()
        with torch.no_grad():
            out = pixels.to_image(self._model(image).float().clamp(0, 1))
        self._model.train()
        write_image(self.config.checkpoint_dir / "previews" / f"iter_{iteration:06d}.jpg", out, overwrite=True)
        if self.on_preview:
            self.on_preview(iteration, out)

    def _check_outputs(self) -> None:
        """Refuse, on every rank, to clobber a finished style or another run's checkpoint."""
        cfg = self.config
        if cfg.checkpoint_dir.exists() and not cfg.checkpoint_dir.is_dir():
            raise ConfigError(f"--run-dir {cfg.checkpoint_dir} is a file; name a folder for the checkpoints")
        check_output(cfg.output_path, overwrite=True)  # a folder there is refused now, not after the run
        if self.resume or cfg.overwrite:
            return
        if cfg.output_path.exists():
            raise OutputExistsError(cfg.output_path)
        if self.checkpoint_path.exists():
            raise TrainingError(f"{self.checkpoint_path} holds an unfinished run; pass --resume to continue it, "
                                "--overwrite to start again, or another --run-dir", self.checkpoint_path)

    def _start_from(self, spec: str) -> None:
        """Load a trained style's weights into the new network (``init``): same network, width and blocks."""
        trained, info = load_style(resolve_style(spec))
        mine = self._model.state_dict()
        theirs = trained.state_dict()
        if {k: v.shape for k, v in mine.items()} != {k: v.shape for k, v in theirs.items()}:
            raise ConfigError(f"--init {spec} is a {info.architecture} network of another size; fine-tune a style "
                              "with the same --network, --width and --residual-blocks")
        self._model.load_state_dict(theirs)

    def _load_teacher(self):
        """The trained style a distilled network learns from (frozen), or None."""
        if self.config.teacher is None:
            return None
        teacher, _ = load_style(resolve_style(self.config.teacher))
        for p in teacher.parameters():
            p.requires_grad_(False)
        return teacher.to(self.device, memory_format=self.memory_format).eval()

    @staticmethod
    def _distill_loss(vgg, teacher, photos: torch.Tensor, feats: dict[str, torch.Tensor]) -> torch.Tensor:
        """How far the network's VGG features (from the perceptual losses' pass) are from its teacher's on
        the same photos; the teacher's pass needs no gradients."""
        with torch.no_grad():
            target = vgg(teacher(photos).clamp(0.0, 1.0), DISTILL_LAYERS)
        return sum(losses.content_loss(feats[k], target[k]) for k in DISTILL_LAYERS)

    # -- the loop --------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        try:
            return self._run()
        finally:
            if self.world > 1 and dist.is_initialized():
                dist.destroy_process_group()

    def _run(self) -> TrainResult:
        cfg = self.config
        self._check_outputs()
        style_photo = resize_max_side(read_image(cfg.style_image), cfg.style_size or cfg.image_size)
        if min(style_photo.shape[:2]) < MIN_PAINTING_SIDE:
            h, w = style_photo.shape[:2]
            raise InputError(f"the painting {cfg.style_image} comes to {w}x{h} px; training needs at least "
                             f"{MIN_PAINTING_SIDE} px on each side: use a larger painting or raise --style-size",
                             cfg.style_image)
        preview_photo = read_image(cfg.preview_image) if cfg.preview_image else None
        torch.manual_seed(cfg.seed)
        self.generator = torch.Generator().manual_seed(cfg.seed + self.rank)
        # On a GPU the whole uint8 set lives in device memory and crops are cut there.
        data = PhotoCache(cfg.dataset, cfg.image_size, self.device if self.device.type == "cuda" else "cpu",
                          side=cfg.photo_size)
        if self.rank == 0 and data.skipped:
            log.warning("skipped %d unreadable image(s) in %s", len(data.skipped), cfg.dataset)
        vgg = load_vgg(cfg.vgg_weights, self.device).to(memory_format=self.memory_format)

        self._model = cfg.build_network()
        if cfg.init is not None and not self.resume:
            self._start_from(cfg.init)
        self._model.to(self.device, memory_format=self.memory_format)
        teacher = self._load_teacher()
        self.optimizer = torch.optim.Adam(self._model.parameters(), lr=cfg.lr)
        start = self._load_checkpoint() if self.resume else 0
        train_model = self._model
        if self.world > 1:
            train_model = torch.nn.parallel.DistributedDataParallel(
                self._model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

        style = pixels.to_tensor(resize_max_side(style_photo, cfg.style_size or cfg.image_size), self.device)
        with torch.no_grad(), torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
            style_grams = {k: losses.gram_matrix(v) for k, v in vgg(style, losses.STYLE_LAYERS).items()}
        if preview_photo is None:
            preview_photo = data.images[0].permute(1, 2, 0).flip(-1).cpu().numpy()
        preview = pixels.to_tensor(resize_max_side(preview_photo, 2 * data.side), self.device)
        if self.rank == 0:
            cfg.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            history = self._start_history(start)

        running = torch.zeros(len(LOSS_NAMES), device=self.device)
        count, iteration, stopped = 0, start, False
        t0, elapsed0 = time.perf_counter(), self.elapsed
        self._model.train()
        self.looping = True
        try:
            while iteration < cfg.iterations:
                if self.should_stop() or self._stop_requested:
                    stopped = True
                    break
                self._batch_rng = (iteration, self.generator.get_state())
                x = pixels.uint8_to_unit(data.sample(cfg.batch_size, self.generator).to(self.device))
                x = x.contiguous(memory_format=self.memory_format)
                with torch.autocast(self.device.type, torch.bfloat16, enabled=self.amp):
                    y = train_model(x)
                    c, s, tv, feats = losses.perceptual_losses(vgg, x, y, style_grams, keep=DISTILL_LAYERS)
                    d = self._distill_loss(vgg, teacher, x, feats) if teacher is not None else torch.zeros_like(c)
                    t = (compound_loss(train_model, x, y, self.generator, memory_format=self.memory_format)
                         if cfg.temporal_weight else torch.zeros_like(c))
                    total = (cfg.content_weight * c + cfg.style_weight * s + cfg.tv_weight * tv + cfg.distill_weight * d
                             + cfg.temporal_weight * t)
                self.optimizer.zero_grad(set_to_none=True)
                total.backward()
                self._stepping = True  # from here to the count, the weights may be half updated
                self.optimizer.step()
                iteration += 1
                self._stepping = False
                running += torch.stack([total.detach(), c.detach(), s.detach(), tv.detach(), d.detach(), t.detach()]).float()
                count += 1
                self.elapsed = elapsed0 + time.perf_counter() - t0

                if iteration % cfg.log_every == 0 or iteration == cfg.iterations:
                    values = dict(zip(LOSS_NAMES, (running / count).tolist()))  # the only host sync
                    if not math.isfinite(values["total"]):
                        raise TrainingError("training diverged (the loss is not finite); lower --lr or --style-weight")
                    running.zero_()
                    count = 0
                    if self.rank == 0:
                        self._append_history(history, iteration, values)
                        if self.on_step:
                            rate = (iteration - start) / max(self.elapsed - elapsed0, 1e-9)
                            self.on_step(StepReport(iteration, cfg.iterations, start, values, self.elapsed, rate))
                if self.rank == 0 and (iteration % cfg.preview_every == 0 or iteration == cfg.iterations):
                    self._preview(iteration, preview)
                if iteration % cfg.checkpoint_every == 0 and iteration < cfg.iterations:
                    self._save_checkpoint(iteration)
        except KeyboardInterrupt:
            self.looping = False
            done = self._iteration_after_interrupt(iteration)
            if done is not None:
                self._save_checkpoint(done)
            raise
        self.looping = False
        self._save_checkpoint(iteration)
        if self.rank != 0:
            return TrainResult(None, iteration, stopped, data.skipped)
        plot_losses(history, cfg.checkpoint_dir / "losses.png")
        if stopped:
            return TrainResult(None, iteration, stopped, data.skipped)
        info = StyleInfo(
            name=cfg.name, title=cfg.title, artist=cfg.artist, year=cfg.year, rights=cfg.rights,
            iterations=iteration, recipe=cfg.recipe(),
            training={"seconds": round(self.elapsed), "device": str(self.device), "processes": self.world,
                      "precision": "bf16 autocast" if self.amp else "fp32",
                      "machine": describe_machine(self.device)},
        )
        self._model.eval()
        path = save_style(cfg.output_path, self._model.cpu(), info, overwrite=True)
        return TrainResult(path, iteration, False, data.skipped)
