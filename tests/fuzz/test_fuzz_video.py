"""Bad video inputs through the real CLI: truncated, bit-flipped, misnamed, empty, FIFOs, audio only, odd
output names, interruptions. Every case is made here from the real clips in ../shared.

Each ``nstvideo convert`` runs in a subprocess with a timeout, many inputs per process (each input fails
or succeeds on its own). Asserted for every case: no traceback; a bad input gets exactly one ``error:``
line that names it and says what to do, a good one an output that plays; nothing is written outside the
output folder, no partial file is left, the inputs are unchanged. ``NSTVIDEO_FUZZ_LONG=1`` adds many more
truncation points and seeded random bit flips.
"""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
VIDEO = Path(os.environ.get("NSTVIDEO_SHARED", REPO.parent / "shared")) / "data" / "video"
PHOTO = VIDEO.parent / "content" / "lion.jpg"
LONG = os.environ.get("NSTVIDEO_FUZZ_LONG") == "1"
CUTS = (0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99, 0.999)
LONG_CUTS = tuple(np.linspace(0.02, 0.998, 40).round(4)) if LONG else ()
FAST = ["--max-side", "32", "--preset", "ultrafast", "--device", "cpu", "--runtime", "torch", "--batch-size", "16"]
# Words that say what to do next; every error line has one.
ACTIONS = ("check", "name", "re-download", "re-export", "stylize", "choose", "pass", "rename", "re-encode")

pytestmark = pytest.mark.skipif(not VIDEO.is_dir(), reason=f"{VIDEO} is missing (see README)")


@dataclass
class Case:
    path: Path
    expect: str  # "ok", "error", or "either" (bit flips that may land where nothing is checked)
    says: str = ""  # a phrase the error must contain


def nstvideo(*args: str | Path, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nstvideo", "convert", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` (FIFOs and links included) with a hash of its bytes, for regular files."""
    seen = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink() or not p.is_file():
            seen[rel] = "dir" if p.is_dir() and not p.is_symlink() else f"special:{os.lstat(p).st_mode:o}"
        else:
            seen[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return seen


def remux(src: Path, dst: Path, *, seconds: float | None = None, audio: bool = True, video: bool = True) -> Path:
    """Stream-copy (no re-encoding) the first ``seconds`` of ``src`` into ``dst``'s container."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        chosen = [s for s in inp.streams if (s.type == "video" and video) or (s.type == "audio" and audio)]
        streams = {s.index: out.add_stream_from_template(s) for s in chosen}
        for packet in inp.demux(chosen):
            if packet.dts is None:
                continue
            if seconds is not None and packet.pts is not None and packet.pts * packet.time_base > seconds:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dst


def flipped(data: bytes, at: float, seed: int, count: int = 6) -> bytes:
    """``data`` with ``count`` bytes inverted near ``at`` (a fraction of the length)."""
    out = bytearray(data)
    rng = random.Random(seed)
    start = int(len(out) * at)
    for _ in range(count):
        out[min(len(out) - 1, start + rng.randrange(64))] ^= 0xFF
    return bytes(out)


@pytest.fixture(scope="module")
def style(tmp_path_factory) -> Path:
    import torch

    from nstvideo.core.styles import StyleInfo, save_style
    from nstvideo.core.transformer_net import TransformerNet

    torch.manual_seed(0)
    return save_style(tmp_path_factory.mktemp("style") / "random.safetensors", TransformerNet(width=0.25),
                      StyleInfo(name="random"))


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Short real clips: MP4 with its index up front (the shared file), MKV and MOV (index at the end)."""
    folder = tmp_path_factory.mktemp("sources")
    return {
        "mp4": VIDEO / "pancake_kitchen.mp4",
        "mkv": remux(VIDEO / "chaplin_street.mp4", folder / "chaplin.mkv", seconds=1.5),
        "mov": remux(VIDEO / "person_walking_room.mp4", folder / "walking.mov", seconds=2.0),
        "short_mp4": remux(VIDEO / "pancake_kitchen.mp4", folder / "pancake_short.mp4", seconds=1.0),
        "audio_only": remux(VIDEO / "pancake_kitchen.mp4", folder / "sound.m4a", video=False),
    }


def input_cases(folder: Path, sources: dict[str, Path]) -> list[Case]:
    cases: list[Case] = []

    def add(name: str, data: bytes, expect: str, says: str = "") -> None:
        path = folder / name
        path.write_bytes(data)
        cases.append(Case(path, expect, says))

    for kind in ("mp4", "mkv", "mov"):
        data = sources[kind].read_bytes()
        for cut in CUTS + LONG_CUTS:
            add(f"cut_{kind}_{cut:.4f}.{kind}", data[:max(1, int(len(data) * cut))], "error")
        add(f"100_bytes_{kind}.{kind}", data[:100], "error", "truncated")
        add(f"empty_{kind}.{kind}", b"", "error", "empty")
        if kind == "mp4":
            data = sources["short_mp4"].read_bytes()  # 1 s: the flips below are mostly decoded to the end
        seeds = range(30) if LONG else range(3)
        for at in (0.0005, 0.01, 0.5, 0.9):
            for seed in seeds:
                add(f"flip_{kind}_{at}_{seed}.{kind}", flipped(data, at, seed), "either")
        add(f"good_{kind}.{kind}", data, "ok")
    short = sources["short_mp4"].read_bytes()
    add("mp4_named.mkv", short, "ok")
    add("mkv_named.mp4", sources["mkv"].read_bytes(), "ok")
    add("mp4_as_avi.avi", short, "ok")
    photo = PHOTO.read_bytes()
    for suffix in (".mp4", ".mkv", ".mov"):
        add(f"photo_named{suffix}", photo, "error", "still image")
    png = folder / "photo.png.tmp"
    import cv2

    ok, buf = cv2.imencode(".png", cv2.imread(str(PHOTO))[:64, :64])
    add("png_named.mp4", buf.tobytes(), "error", "still image")
    png.unlink(missing_ok=True)
    add("text.mp4", b"not a video at all\n" * 20, "error")
    add("random_bytes.mp4", random.Random(1).randbytes(4096), "error")
    add("zeros.mkv", bytes(4096), "error")
    add("audio_only.mp4", sources["audio_only"].read_bytes(), "error", "no video stream")
    add("wav_named.mp4", b"RIFF" + bytes(40), "error")
    (folder / "folder.mp4").mkdir()
    cases.append(Case(folder / "folder.mp4", "error", "folder"))
    cases.append(Case(folder / "missing.mp4", "error", "does not exist"))
    (folder / "link_to_good.mp4").symlink_to(folder / "good_mp4.mp4")
    cases.append(Case(folder / "link_to_good.mp4", "ok"))
    return cases


def check_results(cases: list[Case], result: subprocess.CompletedProcess, out: Path, style_name: str) -> dict:
    """Assert the CLI's verdict on each case; returns counts by outcome."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    counts = {"ok": 0, "error": 0}
    for case in cases:
        mine = [line for line in errors if line.startswith(f"error: {case.path} ")
                or line.startswith(f"error: {case.path}:")]
        target = out / f"{case.path.stem}_{style_name}.mp4"
        if mine:
            assert case.expect in ("error", "either"), f"{case.path.name} should convert: {mine}"
            assert len(mine) == 1, mine
            assert case.says in mine[0], f"{case.path.name}: {mine[0]}"
            assert any(word in mine[0].rsplit(";", 1)[-1] for word in ACTIONS), f"no advice: {mine[0]}"
            assert not target.exists(), f"{case.path.name} failed but left {target.name}"
            counts["error"] += 1
        else:
            assert case.expect in ("ok", "either"), f"{case.path.name} was accepted"
            assert str(target) in result.stdout, f"{case.path.name}: no error and no output"
            with av.open(str(target)) as container:
                assert sum(1 for _ in container.decode(video=0)) > 0
            counts["ok"] += 1
    assert (result.returncode == 0) == (counts["error"] == 0), result.returncode
    return counts


def assert_no_partials(root: Path) -> None:
    assert not [p for p in root.rglob("*partial*")], list(root.rglob("*partial*"))


def test_bad_inputs_are_refused_one_line_each(tmp_path, sources, style):
    inputs, out, cwd = tmp_path / "in", tmp_path / "out", tmp_path / "cwd"
    for folder in (inputs, cwd):
        folder.mkdir()
    cases = input_cases(inputs, sources)
    before = snapshot(inputs)
    totals = {"ok": 0, "error": 0}
    chunk = 40
    for start in range(0, len(cases), chunk):
        part = cases[start:start + chunk]
        result = nstvideo(*(c.path for c in part), "--style", style, "-o", out, *FAST, cwd=cwd)
        for key, n in check_results(part, result, out, "random").items():
            totals[key] += n
    assert snapshot(inputs) == before  # inputs unchanged, nothing added beside them
    assert not any(cwd.iterdir())
    assert_no_partials(tmp_path)
    assert len(cases) >= 60 and totals["ok"] >= 6, totals
    print(f"{len(cases)} video inputs: {totals}")


def test_fifos_are_refused_not_waited_on(tmp_path, sources, style):
    fifo, fifo_link = tmp_path / "pipe.mp4", tmp_path / "pipe_link.mkv"
    os.mkfifo(fifo)
    fifo_link.symlink_to(fifo)
    os.mkfifo(tmp_path / "pipe.mkv")
    cases = [Case(p, "error", "not a regular file") for p in (fifo, fifo_link, tmp_path / "pipe.mkv")]
    result = nstvideo(*(c.path for c in cases), "--style", style, "-o", tmp_path / "out", *FAST, cwd=tmp_path,
                      timeout=60)
    check_results(cases, result, tmp_path / "out", "random")


def test_odd_output_names(tmp_path, sources, style):
    good = sources["short_mp4"]
    existing = tmp_path / "existing.mp4"
    existing.write_bytes(b"keep me")
    (tmp_path / "a_folder.mp4").mkdir()
    before = snapshot(tmp_path)
    refused = {
        "gif": (["--output", tmp_path / "out.gif"], "cannot write a .gif video"),
        "no_suffix": (["--output", tmp_path / "noext"], "suffix-less"),
        "too_long": (["--output", tmp_path / ("x" * 300 + ".mp4")], "255 bytes"),
        "folder": (["--output", tmp_path / "a_folder.mp4", "--overwrite"], "folder"),
        "exists": (["--output", existing], "already exists"),
        "the_input": (["--output", good, "--overwrite"], "the input itself"),
    }
    for name, (args, says) in refused.items():
        result = nstvideo(good, "--style", style, *args, *FAST, cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and "Traceback" not in result.stderr, (name, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], (name, lines)
    assert snapshot(tmp_path) == before
    names = ["with space.mp4", "ünïcödé.mkv", "-dash.mp4", "semi;colon'quote.mov", "new\nline.mp4"]
    inputs = tmp_path / "odd"
    inputs.mkdir()
    for name in names:
        (inputs / name).write_bytes(good.read_bytes())
    out = tmp_path / "new" / "deep er"
    result = nstvideo(*(inputs / n for n in names), "--style", style, "-o", out, *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{Path(n).stem}_random.mp4" for n in names)
    for target in out.iterdir():
        with av.open(str(target)) as container:
            assert container.streams.video and container.streams.audio
    assert_no_partials(tmp_path)


def test_keep_partial_keeps_the_readable_frames_and_still_fails(tmp_path, sources, style):
    data = sources["mkv"].read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "kept.mp4"
    result = nstvideo(cut, "--style", style, "--output", out, "--keep-partial", *FAST, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "incomplete" in lines[0] and str(out) in lines[0], lines
    with av.open(str(out)) as container:
        assert 0 < sum(1 for _ in container.decode(video=0)) < 38  # 1.5 s at 25 fps, cut in half
    assert_no_partials(tmp_path)


def _wait_for_partial(folder: Path, process: subprocess.Popen, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in folder.glob(".*partial*") if p.stat().st_size > 0]
        if found:
            return found[0]
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    pytest.fail("convert never started writing")


def _start_long_convert(style: Path, out: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nstvideo", "convert", str(VIDEO / "pancake_kitchen.mp4"),
                             "--style", str(style), "--output", str(out), "--device", "cpu", "--runtime",
                             "torch", "--preset", "ultrafast", "--batch-size", "1"],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def test_sigterm_cleans_up_and_a_killed_runs_partial_is_removed_by_the_next(tmp_path, sources, style):
    out = tmp_path / "out" / "pancake.mp4"
    process = _start_long_convert(style, out, tmp_path)
    _wait_for_partial(out.parent, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and err.strip() == "terminated", err
    assert not any(out.parent.iterdir())

    process = _start_long_convert(style, out, tmp_path)
    stale = _wait_for_partial(out.parent, process)
    process.kill()  # kill -9: nothing can clean up
    process.communicate(timeout=60)
    assert stale.exists()
    result = nstvideo(sources["short_mp4"], "--style", style, "--output", out, *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["pancake.mp4"]
