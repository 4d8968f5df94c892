"""``nstvideo train``: flags or a TOML recipe -> TrainConfig -> Trainer.

Progress goes to a person (``--progress bar``, the default: a tqdm bar) or to a program
(``--progress jsonl``: one JSON object per line on stdout, nothing else there; the app's training dialog
reads it). The JSON events, each with an ``event`` key:

- ``start``: ``name``, ``iterations``, ``resume``, ``run_dir``, ``style`` (the file it will write);
- ``step``: ``iteration``, ``iterations``, ``start_iteration``, ``losses`` (name -> value), ``seconds``,
  ``iterations_per_second`` and ``eta`` (seconds left at that rate), every ``--log-every`` iterations;
- ``preview``: ``iteration`` and ``path``, the preview image written in the run folder;
- ``end``: ``status`` "done" (with ``style``, ``iteration``, ``skipped_images``), "interrupted" (with
  ``checkpoint``: whether one exists to ``--resume`` from, and ``run_dir``) or "error" (with ``message``,
  which also goes to stderr as ``error: ...``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import tomllib
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from ..core.errors import InputError, NstVideoError
from ..core.images import check_regular_file
from ..core.styles import looks_like_path
from ..core.transformer_net import NETWORKS
from ..core.training import (PATH_FIELDS, STYLE_FIELDS, StepReport, TrainConfig, Trainer, TrainResult,
                             check_setting_types)
from .common import add_device, add_vgg, positive_int

# A recipe may set any TrainConfig field; so may the flag of the same name.
_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def load_recipe(path: Path) -> dict:
    """A recipe's keys are TrainConfig fields; relative paths are relative to the recipe file."""
    check_regular_file(path, "a TOML recipe (see train/ for the shipped ones)")
    try:
        recipe = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read recipe {path} ({exc.strerror}); check its permissions", path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"recipe {path} is not text (TOML is UTF-8); name a .toml recipe", path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"recipe {path} is not valid TOML ({exc}); fix it there", path) from exc
    unknown = set(recipe) - _FIELDS
    if unknown:
        raise InputError(f"recipe {path} has unknown key(s) {', '.join(sorted(unknown))[:80]}; a recipe's keys are "
                         "the train flags' names with _ for - (see 'nstvideo train --help')", path)
    check_setting_types(recipe, f"recipe {path}: ")
    for key in set(PATH_FIELDS) & set(recipe):
        recipe[key] = (path.parent / recipe[key]).resolve()
    for key in STYLE_FIELDS:
        if isinstance(recipe.get(key), str) and looks_like_path(recipe[key]):  # else a style's name
            recipe[key] = str((path.parent / recipe[key]).resolve())
    return recipe


def build_config(args: argparse.Namespace) -> TrainConfig:
    settings = load_recipe(args.recipe) if args.recipe else {}
    settings.update({k: v for k, v in vars(args).items() if k in _FIELDS and v is not None})
    missing = [k for k in ("style_image", "dataset", "name") if k not in settings]
    if missing:
        raise InputError("train needs " + ", ".join("--" + m.replace("_", "-") for m in missing) + " (or --recipe)")
    return TrainConfig(**settings)


class BarProgress:
    """For a person: a tqdm bar with the losses, then where the files went."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.bar = tqdm(total=config.iterations, desc=f"train {config.name}", unit="it", dynamic_ncols=True)

    def start(self, resume: bool) -> None:
        pass

    def step(self, report: StepReport) -> None:
        if self.bar.n == 0 and report.start_iteration:
            self.bar.initial = report.start_iteration  # resumed: the rate and ETA count from here
        self.bar.n = report.iteration
        self.bar.set_postfix({k: f"{v:.3g}" for k, v in report.losses.items()}, refresh=False)
        self.bar.refresh()

    def preview(self, iteration: int) -> None:
        pass

    def interrupted(self, has_checkpoint: bool) -> None:
        self.bar.close()
        if has_checkpoint:
            print(f"interrupted; the checkpoint in {self.config.checkpoint_dir} continues with the same command "
                  "and --resume", file=sys.stderr)
        else:
            print("interrupted before the first checkpoint; nothing to resume", file=sys.stderr)

    def finished(self, result: TrainResult) -> None:
        self.bar.close()
        if result.skipped_images:
            print(f"skipped {len(result.skipped_images)} unreadable image(s), e.g. {result.skipped_images[0]}")
        print(f"checkpoints, previews and losses: {self.config.checkpoint_dir}")
        print(result.style_path)

    def close(self) -> None:
        self.bar.close()


def emit_event(out: TextIO, event: str, **fields) -> None:
    """One JSON line; one write per line, so a SIGTERM handled between writes never leaves half an object."""
    out.write(json.dumps({"event": event, **fields}) + "\n")
    out.flush()


class JsonlProgress:
    """For a program: one flushed JSON object per line on stdout (the module docstring lists the events)."""

    def __init__(self, config: TrainConfig, out: TextIO | None = None):
        self.config = config
        self.out = out or sys.stdout

    def start(self, resume: bool) -> None:
        cfg = self.config
        emit_event(self.out, "start", name=cfg.name, iterations=cfg.iterations, resume=resume,
                   run_dir=str(cfg.checkpoint_dir), style=str(cfg.output_path))

    def step(self, report: StepReport) -> None:
        rate = report.iterations_per_second
        eta = (report.iterations - report.iteration) / rate if rate > 0 else None
        emit_event(self.out, "step", iteration=report.iteration, iterations=report.iterations,
                   start_iteration=report.start_iteration, losses=report.losses, seconds=round(report.seconds, 3),
                   iterations_per_second=rate, eta=None if eta is None else round(eta, 1))

    def preview(self, iteration: int) -> None:
        # The Trainer has written this file before it calls on_preview.
        path = self.config.checkpoint_dir / "previews" / f"iter_{iteration:06d}.jpg"
        emit_event(self.out, "preview", iteration=iteration, path=str(path))

    def interrupted(self, has_checkpoint: bool) -> None:
        emit_event(self.out, "end", status="interrupted", checkpoint=has_checkpoint,
                   run_dir=str(self.config.checkpoint_dir))

    def finished(self, result: TrainResult) -> None:
        emit_event(self.out, "end", status="done", style=str(result.style_path), iteration=result.iteration,
                   skipped_images=len(result.skipped_images))

    def close(self) -> None:
        pass


def cmd_train(args: argparse.Namespace) -> int:
    try:
        return _train(build_config(args), args.resume, args.progress)
    except NstVideoError as exc:
        if args.progress == "jsonl":
            emit_event(sys.stdout, "end", status="error", message=str(exc))
        raise  # the one-line "error: ..." on stderr, as for every command


def _train(config: TrainConfig, resume: bool, mode: str) -> int:
    progress = JsonlProgress(config) if mode == "jsonl" else BarProgress(config)
    trainer = Trainer(config, on_step=progress.step, on_preview=lambda i, _image: progress.preview(i),
                      resume=resume)

    signals: list[int] = []

    def stop(signum, frame) -> None:
        """In the loop, the iteration under way finishes and the checkpoint resumes exactly; before it (or
        at a second signal) KeyboardInterrupt, as usual."""
        signals.append(signum)
        if trainer.looping and not trainer.stop_requested:
            trainer.request_stop()
        else:
            raise KeyboardInterrupt

    # A `kill` or a closing session stops the run like Ctrl-C does: with a checkpoint to resume from.
    # Not under torchrun, which SIGTERMs the other ranks when one dies: they cannot gather a checkpoint.
    single = int(os.environ.get("WORLD_SIZE", "1")) == 1
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)} if single else {}
    try:
        progress.start(resume)
        try:
            result = trainer.run()
        except KeyboardInterrupt:
            progress.interrupted(trainer.checkpoint_path.exists())
            return 128 + (signals[0] if signals else signal.SIGINT)  # 130, or 143 for SIGTERM, as every command
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        progress.close()
    if result.stopped:
        progress.interrupted(True)
        return 128 + (signals[0] if signals else signal.SIGINT)
    progress.finished(result)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a new style network from a painting and a folder of photos")
    p.add_argument("--recipe", type=Path, help="a TOML recipe (see train/); flags given here override it")
    p.add_argument("--style-image", type=Path)
    p.add_argument("--dataset", type=Path, help="a folder of photos, searched recursively")
    p.add_argument("--name")
    p.add_argument("--out", type=Path, help="style file to write (default: the user style folder)")
    p.add_argument("--run-dir", type=Path, help="checkpoints, previews and loss history (default: runs/NAME)")
    p.add_argument("--iterations", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--image-size", type=positive_int, help="training crop size in pixels")
    p.add_argument("--photo-size", type=positive_int,
                   help="scale photos to this short side before cutting crops (default: just above --image-size)")
    p.add_argument("--style-size", type=positive_int, help="longer side of the painting for the style targets")
    p.add_argument("--content-weight", type=float)
    p.add_argument("--style-weight", type=float)
    p.add_argument("--tv-weight", type=float)
    p.add_argument("--lr", type=float)
    p.add_argument("--network", choices=tuple(NETWORKS),
                   help="transformer_net (Johnson et al., the default) or lite_net (the live network, "
                        "nothing at full resolution: 1.5-1.7x as fast, BENCHMARKS.md)")
    p.add_argument("--width", type=float, help="channel multiplier: 1.0 is Johnson's network, 0.5 is 4x cheaper")
    p.add_argument("--residual-blocks", type=positive_int, help="default: 5 for transformer_net, 4 for lite_net")
    p.add_argument("--teacher", help="distil: a trained style (name or file) whose outputs the network also "
                                     "learns to match, e.g. a transformer_net style for its lite_net")
    p.add_argument("--init", help="fine-tune: start from a trained style's weights (name or file; the same "
                                  "--network, --width and --residual-blocks), e.g. to take some style back")
    p.add_argument("--distill-weight", type=float, help="weight of matching the teacher (default 1: as much as "
                                                        "the content)")
    p.add_argument("--temporal-weight", type=float,
                   help="flicker less: Wang et al. 2020's loss on randomly warped crops (default 0: off). Its L1 term "
                        "is 0.01-0.1 against a content loss near 1e5; 1e6 took 20-28%% off The Starry Night's "
                        "flicker (BENCHMARKS.md)")
    p.add_argument("--seed", type=int)
    p.add_argument("--checkpoint-every", type=positive_int)
    p.add_argument("--preview-every", type=positive_int)
    p.add_argument("--log-every", type=positive_int, help="report the losses every N iterations (default 20)")
    p.add_argument("--preview-image", type=Path)
    p.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    p.add_argument("--overwrite", action="store_true", default=None)
    p.add_argument("--progress", choices=("bar", "jsonl"), default="bar",
                   help="bar: a progress bar for people (default); jsonl: one JSON object per line on stdout "
                        "for programs")
    add_device(p)
    add_vgg(p)
    p.set_defaults(func=cmd_train, device=None)
