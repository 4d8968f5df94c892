"""``nstvideo train``: flags or a TOML recipe -> TrainConfig -> Trainer."""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import tomllib
from pathlib import Path

from tqdm import tqdm

from ..core.errors import InputError
from ..core.training import PATH_FIELDS, StepReport, TrainConfig, Trainer
from .common import add_device, add_vgg, positive_int

# A recipe may set any TrainConfig field; so may the flag of the same name.
_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def load_recipe(path: Path) -> dict:
    """A recipe's keys are TrainConfig fields; relative paths are relative to the recipe file."""
    try:
        recipe = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"recipe {path} does not exist; see train/ for the shipped recipes", path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"recipe {path} is not valid TOML: {exc}", path) from exc
    unknown = set(recipe) - _FIELDS
    if unknown:
        raise InputError(f"recipe {path} has unknown key(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}", path)
    for key in set(PATH_FIELDS) & set(recipe):
        recipe[key] = (path.parent / recipe[key]).resolve()
    return recipe


def cmd_train(args: argparse.Namespace) -> int:
    settings = load_recipe(args.recipe) if args.recipe else {}
    settings.update({k: v for k, v in vars(args).items() if k in _FIELDS and v is not None})
    missing = [k for k in ("style_image", "dataset", "name") if k not in settings]
    if missing:
        raise InputError("train needs " + ", ".join("--" + m.replace("_", "-") for m in missing) + " (or --recipe)")
    config = TrainConfig(**settings)
    with tqdm(total=config.iterations, desc=f"train {config.name}", unit="it", dynamic_ncols=True) as bar:
        def on_step(report: StepReport) -> None:
            if bar.n == 0 and report.start_iteration:
                bar.initial = report.start_iteration  # resumed: the rate and ETA count from here
            bar.n = report.iteration
            bar.set_postfix({k: f"{v:.3g}" for k, v in report.losses.items()}, refresh=False)
            bar.refresh()

        # A `kill` or a closing session stops the run like Ctrl-C does: with a checkpoint to resume from.
        # Not under torchrun, which SIGTERMs the other ranks when one dies: they cannot gather a checkpoint.
        single = int(os.environ.get("WORLD_SIZE", "1")) == 1
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if single else None
        trainer = Trainer(config, on_step=on_step, resume=args.resume)
        try:
            result = trainer.run()
        except KeyboardInterrupt:
            bar.close()
            if trainer.checkpoint_path.exists():
                print(f"interrupted; the checkpoint in {config.checkpoint_dir} continues with the same command "
                      "and --resume", file=sys.stderr)
            else:
                print("interrupted before the first checkpoint; nothing to resume", file=sys.stderr)
            return 130
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    if result.skipped_images:
        print(f"skipped {len(result.skipped_images)} unreadable image(s), e.g. {result.skipped_images[0]}")
    print(f"checkpoints, previews and losses: {config.checkpoint_dir}")
    print(result.style_path)
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
    p.add_argument("--width", type=float, help="channel multiplier: 1.0 is Johnson's network, 0.5 is 4x cheaper")
    p.add_argument("--seed", type=int)
    p.add_argument("--checkpoint-every", type=positive_int)
    p.add_argument("--preview-every", type=positive_int)
    p.add_argument("--preview-image", type=Path)
    p.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    p.add_argument("--overwrite", action="store_true", default=None)
    add_device(p)
    add_vgg(p)
    p.set_defaults(func=cmd_train, device=None)
