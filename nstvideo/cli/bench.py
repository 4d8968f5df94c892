"""``nstvideo bench``: the figures in BENCHMARKS.md, printed with the machine they were measured on."""
from __future__ import annotations

import argparse
import datetime

from ..core.bench import bench_inference, bench_training_step, machine_description
from ..core.device import inference_runtime, select_device, Runtime
from ..core.vgg import load_vgg
from .common import add_device, add_vgg, positive_int


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in item.lower().split("x")) for item in text.split(",")]  # type: ignore[misc]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes are WIDTHxHEIGHT separated by commas, got {text!r}") from exc


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def cmd_bench(args: argparse.Namespace) -> int:
    runtime = inference_runtime(args.device)
    print(f"# nstvideo bench, {datetime.date.today()}, {machine_description(runtime)}")
    if args.what in ("inference", "all"):
        for width in args.widths:
            for w, h in args.sizes:
                r = bench_inference(runtime, width, h, w, batch=args.batch, repeats=args.repeats)
                print(f"{r.what:10s} {r.setting:40s} {r.per_second:8.2f} {r.unit}", flush=True)
    if args.what in ("training", "all"):
        device = select_device(args.device)
        vgg = load_vgg(args.vgg_weights, device)
        train_runtime = Runtime(device, runtime.dtype, runtime.channels_last)
        for width in args.widths:
            for size in args.train_sizes:
                r = bench_training_step(vgg, train_runtime, width, size, batch=4, repeats=args.repeats)
                print(f"{r.what:10s} {r.setting:40s} {r.per_second:8.2f} {r.unit}", flush=True)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure inference frames/s and training iterations/s on this machine")
    p.add_argument("--what", choices=("inference", "training", "all"), default="inference")
    p.add_argument("--sizes", type=_sizes, default=_sizes("640x360,1280x720"), help="frame sizes WxH,WxH")
    p.add_argument("--widths", type=_floats, default=[0.5, 1.0], help="network widths, comma separated")
    p.add_argument("--train-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[128, 256])
    p.add_argument("--batch", type=positive_int, default=1)
    p.add_argument("--repeats", type=positive_int, default=5)
    add_device(p)
    add_vgg(p)
    p.set_defaults(func=cmd_bench)
