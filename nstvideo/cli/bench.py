"""``nstvideo bench``: the figures in BENCHMARKS.md, printed with the machine they were measured on."""
from __future__ import annotations

import argparse
import datetime
import tempfile
from pathlib import Path

from ..core.bench import bench_inference, bench_training_step
from ..core.device import Runtime, describe_machine, inference_runtime, select_device
from ..core.errors import InputError
from ..core.stylize import StyleOptions, Stylizer
from ..core.transformer_net import TransformerNet
from ..core.vgg import load_vgg
from ..video.bench import peak_rss_mib, rescaled_clip, time_conversion
from ..video.convert import ConvertConfig
from .common import add_device, add_vgg, brush_size, positive_int


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in item.lower().split("x")) for item in text.split(",")]  # type: ignore[misc]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes are WIDTHxHEIGHT separated by commas, got {text!r}") from exc


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def _bench_convert(args: argparse.Namespace, runtime: Runtime) -> None:
    if args.clip is None:
        raise InputError("--what convert needs --clip VIDEO (e.g. ../shared/data/video/chaplin_street.mp4)")
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in args.sizes:
            clip = rescaled_clip(args.clip, Path(tmp) / f"clip_{w}x{h}.mp4", (w, h), args.repeat)
            for width in args.widths:
                stylizer = Stylizer(TransformerNet(width), runtime)
                config = ConvertConfig(inputs=(clip,), style="-", output=Path(tmp) / "unused.mp4",
                                       batch_size=args.batch, preset="veryfast",
                                       options=StyleOptions(brush=args.brush))
                frames, seconds = time_conversion(clip, stylizer, config)
                print(f"convert    width {width:g}, {w}x{h}, brush {args.brush:g}, {frames} frames"
                      f"{frames / seconds:14.2f} frames/s  (peak RSS {peak_rss_mib():.0f} MiB)", flush=True)


def cmd_bench(args: argparse.Namespace) -> int:
    runtime = inference_runtime(args.device)
    print(f"# nstvideo bench, {datetime.date.today()}, {describe_machine(runtime.device)}, {runtime}")
    if args.what == "convert":
        _bench_convert(args, runtime)
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
    p.add_argument("--what", choices=("inference", "training", "convert", "all"), default="inference",
                   help="all = inference and training; convert times whole files (needs --clip)")
    p.add_argument("--clip", type=Path, help="a real video, rescaled to each --sizes entry for --what convert")
    p.add_argument("--repeat", type=positive_int, default=1, help="play --clip this many times (memory checks)")
    p.add_argument("--brush", type=brush_size, default=1.0)
    p.add_argument("--sizes", type=_sizes, default=_sizes("640x360,1280x720"), help="frame sizes WxH,WxH")
    p.add_argument("--widths", type=_floats, default=[0.5, 1.0], help="network widths, comma separated")
    p.add_argument("--train-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[128, 256])
    p.add_argument("--batch", type=positive_int, default=1)
    p.add_argument("--repeats", type=positive_int, default=5)
    add_device(p)
    add_vgg(p)
    p.set_defaults(func=cmd_bench)
