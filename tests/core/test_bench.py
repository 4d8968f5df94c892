"""The benchmark functions measure what they say, through the backend seam."""
from __future__ import annotations

import numpy as np

from nstvideo.cli import main
from nstvideo.core.bench import bench_inference, bench_stylize
from nstvideo.core.device import inference_runtime
from nstvideo.core.stylize import StyleOptions, Stylizer


def test_bench_stylize_times_each_call(random_style, photo):
    s = Stylizer.from_style(random_style, "cpu", runtime="torch")
    r = bench_stylize(s, np.stack([photo] * 2), StyleOptions(brush=2.0), repeats=3, warmup=1)
    h, w = photo.shape[:2]
    assert r.what == "stylize" and r.setting == f"random, {w}x{h}, brush 2, batch 2" and r.unit == "frames/s"
    assert 0 < r.ms_p50 <= r.ms_p95 and r.per_second > 0


def test_bench_inference_runs_on_the_chosen_runtime():
    r = bench_inference(inference_runtime("cpu", "torch"), 0.25, 36, 64, repeats=1)
    assert r.setting == "width 0.25, 64x36, batch 1" and r.per_second > 0 and r.ms_p50 is None


def test_bench_stylize_command_puts_runtimes_side_by_side(capsys, random_style, data_dir):
    photo = data_dir / "content" / "lion.jpg"
    assert main(["bench", "--what", "stylize", "--style", str(random_style), "--runtimes", "torch,torch",
                 "--sizes", "64x36", "--brush", "1,2", "--repeats", "1", "--rounds", "2", "--photos", str(photo),
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("stylize ")]
    assert len(rows) == 2 * 2 * 2 and all("p50" in row and "p95" in row for row in rows)  # rounds x brushes x runtimes
    assert "torch float32 (cpu) 1.00x" in out and "frames: lion.jpg" in out
