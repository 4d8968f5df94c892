"""Still images: gatys, stylize, styles, import-pth."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm import tqdm

from ..core.device import select_device
from ..core.errors import InputError, NstVideoError, OutputExistsError
from ..core.gatys import GatysConfig, stylize_gatys
from ..core.images import IMAGE_SUFFIXES, check_image_output, check_name_length, read_image, write_image
from ..core.styles import import_pth, installed_styles, style_dirs
from ..core.stylize_files import StylizeConfig, stylize_files
from ..core.vgg import load_vgg
from .common import add_device, add_runtime, add_style_options, add_vgg, names_a_file, positive_int, style_options


def cmd_gatys(args: argparse.Namespace) -> int:
    config = GatysConfig(
        size=args.size, steps=args.steps, optimizer=args.optimizer, content_weight=args.content_weight,
        style_weight=args.style_weight, tv_weight=args.tv_weight, init=args.init,
        preserve_color=args.preserve_color, seed=args.seed,
    )
    content, style = read_image(args.content), read_image(args.style)
    check_image_output(args.output)
    if args.output.exists() and not args.overwrite:
        raise OutputExistsError(args.output)  # before minutes of work, not after
    device = select_device(args.device)
    vgg = load_vgg(args.vgg_weights, device)
    with tqdm(total=config.steps, desc="gatys", unit="step") as bar:
        def on_step(step: int, losses: dict[str, float]) -> None:
            bar.set_postfix(style=f"{losses['style']:.3g}", content=f"{losses['content']:.3g}")
            bar.update(1)

        image = stylize_gatys(content, style, vgg, config, on_step)
    write_image(args.output, image, overwrite=args.overwrite)
    print(args.output)
    return 0


def cmd_stylize(args: argparse.Namespace) -> int:
    args.output, as_folder = Path(args.output), args.output.endswith(("/", os.sep))
    check_name_length(args.output)
    is_file = not as_folder and names_a_file(args.output, IMAGE_SUFFIXES)
    if not is_file and not as_folder and args.output.suffix and not args.output.is_dir():
        raise InputError(f"cannot write images as {args.output.suffix!r}; name the output .png or .jpg, or end a "
                         f"folder's name with '/' ({args.output}/)", args.output)
    if is_file and len(args.images) > 1:
        args.parser.error(f"-o {args.output} names one image but {len(args.images)} were given; give a folder")
    if is_file:
        check_image_output(args.output)
    config = StylizeConfig(
        inputs=tuple(args.images), style=args.style, max_side=args.max_side,
        output=args.output if is_file else None, out_dir=None if is_file else args.output,
        options=style_options(args),
        device=args.device, runtime=args.runtime, overwrite=args.overwrite,
    )
    with tqdm(total=len(config.inputs), desc="stylize", unit="image", delay=1.0, disable=None) as bar:
        def on_done(source: Path, result: object) -> None:
            bar.update(1)
            if isinstance(result, NstVideoError):
                bar.write(f"error: {result}", file=sys.stderr)
            else:
                bar.write(str(result))

        _, failed = stylize_files(config, on_done)
    if failed:
        if len(config.inputs) > 1:
            print(f"error: {len(failed)} of {len(config.inputs)} images failed", file=sys.stderr)
        return 1
    return 0


def cmd_styles(args: argparse.Namespace) -> int:
    styles = installed_styles()
    if not styles:
        print("no styles installed; train one with 'nstvideo train' or convert one with 'nstvideo import-pth'")
    names = max((len(name) for name in styles), default=0)
    paintings = max((len(info.description) for info in styles.values()), default=0)
    for name, info in sorted(styles.items()):
        print(f"{name:{names}s}  {info.description:{paintings}s}  {info.architecture} width {info.width:g}  {info.path}")
    print("searched: " + ", ".join(str(d) for d in style_dirs()))
    return 0


def cmd_import_pth(args: argparse.Namespace) -> int:
    print(import_pth(args.file, args.name, args.output, overwrite=args.overwrite))
    return 0


def register(sub: argparse._SubParsersAction) -> None:

    p = sub.add_parser("gatys", help="paint one image by optimisation (Gatys et al.; slow, needs no training)")
    p.add_argument("content", type=Path)
    p.add_argument("style", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--size", type=positive_int, default=512, help="longer side of the result (default 512)")
    p.add_argument("--steps", type=positive_int, default=300)
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=5e-5)
    p.add_argument("--tv-weight", type=float, default=0.0)
    p.add_argument("--init", choices=("content", "noise"), default="content")
    p.add_argument("--preserve-color", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    add_device(p)
    add_vgg(p)
    p.set_defaults(func=cmd_gatys)

    p = sub.add_parser("stylize", help="stylize image files with a trained style")
    p.add_argument("images", type=Path, nargs="+")
    p.add_argument("--style", required=True, help="a style name (see 'nstvideo styles') or a .safetensors path")
    p.add_argument("-o", "--output", required=True,
                   help="output folder (results are named <input>_<style>), or a file name for a single image")
    p.add_argument("--max-side", type=positive_int, default=None, help="shrink inputs so the longer side is at most N")
    p.add_argument("--overwrite", action="store_true")
    add_style_options(p)
    add_device(p)
    add_runtime(p)
    p.set_defaults(func=cmd_stylize, parser=p)

    p = sub.add_parser("styles", help="list installed styles")
    p.set_defaults(func=cmd_styles)

    p = sub.add_parser("import-pth", help="convert a pytorch/examples fast_neural_style .pth to a style file")
    p.add_argument("file", type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("-o", "--output", type=Path, default=None, help="default: the user style folder")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=cmd_import_pth)
