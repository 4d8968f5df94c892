"""The fuzz suite's machinery, for every kind of input (tests/fuzz/test_fuzz_*.py; videos reuse it too:
``from harness import ...`` in a test module here, and the ``sandbox`` fixture of this folder's conftest).

A ``Sandbox`` holds a case's inputs (``inputs/``), the one folder it may write (``out/``, plus the user
style folder, inside the sandbox's own XDG folders) and a working folder. ``run_batch`` runs many command
lines through the real CLI in one child process (``cli_batch.py``: torch imports once) under an address-
space limit; ``run_cli`` runs one in its own process (signals, FIFOs, exit codes end to end). ``problems``
says everything an outcome breaks of the README's promises; ``assert_no_problems`` fails listing every
case that broke one, so one run shows all findings.

Every bad input is made at test time from the real files in ../shared; nothing binary is committed.
``NSTVIDEO_FUZZ=long`` multiplies the random mutations per kind (the default run still covers every kind).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = Path(os.environ.get("NSTVIDEO_SHARED", REPO.parent / "shared"))  # as tests/conftest.py finds it
DATA = SHARED / "data"
VGG_FILE = SHARED / "models" / "vgg16_imagenet_caffe_relu4_3.fp16.safetensors"
LONG = os.environ.get("NSTVIDEO_FUZZ") == "long"
SCALE = 4 if LONG else 1
ADDRESS_SPACE_LIMIT = 8 << 30  # torch alone maps about 4 GB of address space
PEAK_RSS_LIMIT_MB = 1500  # what one case may use: inputs are small, so a bomb shows
MESSAGE_MAX = 400
# Library chatter that must never reach the user: Python exception names, OpenCV/libpng/libjpeg lines.
_NOISE = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b\s*[:(]|\[ WARN|libpng|Corrupt JPEG|Premature end|"
                    r"UserWarning|DeprecationWarning")
REFUSE, OK, EITHER = "refuse", "ok", "either"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


@dataclass
class Case:
    """One command line and what it must do: REFUSE (one-line error, non-zero exit), OK, or EITHER."""

    name: str
    argv: list[str]
    expect: str = REFUSE
    timeout: int = 90


@dataclass
class Outcome:
    case: Case
    rc: int | str
    stdout: str
    stderr: str
    peak_rss_mb: float = 0.0
    changes: list[str] = field(default_factory=list)  # files written or changed outside the allowed folders


class Sandbox:
    """A folder tree for a batch of cases; ``allowed`` are the only places a command may write."""

    def __init__(self, root: Path):
        self.root = root
        self.inputs = root / "inputs"
        self.out = root / "out"
        self.cwd = root / "cwd"
        self.xdg = root / "xdg"
        for d in (self.inputs, self.out, self.cwd, self.xdg / "data", self.xdg / "config", self.xdg / "cache"):
            d.mkdir(parents=True, exist_ok=True)
        self.user_styles = self.xdg / "data" / "nstvideo" / "styles"
        self.allowed = [self.out, self.user_styles, self.xdg / "cache"]
        self._hashes: dict[Path, str] = {}

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "NSTVIDEO_"))}
        return {**env, "XDG_DATA_HOME": str(self.xdg / "data"), "XDG_CONFIG_HOME": str(self.xdg / "config"),
                "XDG_CACHE_HOME": str(self.xdg / "cache"), "NSTVIDEO_VGG_WEIGHTS": str(VGG_FILE),
                "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "QT_QPA_PLATFORM": "offscreen"}

    def add(self, name: str, data: bytes) -> Path:
        """An input file (in ``inputs/``), remembered so ``problems`` can tell it was left unchanged."""
        path = self.inputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._hashes[path] = hashlib.sha256(data).hexdigest()
        return path

    def changed_inputs(self) -> list[str]:
        return [str(p) for p, h in self._hashes.items()
                if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != h]

    def tree(self) -> dict[str, tuple[int, int]]:
        """Every file in the sandbox and beside it (an escape lands there): path -> (size, mtime)."""
        found = {}
        for dirpath, _dirs, files in os.walk(self.root.parent):
            for name in files:
                p = Path(dirpath) / name
                try:
                    st = p.lstat()
                except OSError:
                    continue
                found[str(p)] = (st.st_size, st.st_mtime_ns)
        return found

    def outside_allowed(self, before: dict, after: dict) -> list[str]:
        changed = [p for p, v in after.items() if before.get(p) != v]
        return [p for p in changed if not any(Path(p).is_relative_to(a) for a in self.allowed)]

    def partials(self) -> list[str]:
        return [p for p in self.tree() if ".partial" in Path(p).name]


def run_batch(sandbox: Sandbox, cases: list[Case]) -> list[Outcome]:
    """Every case through ``nstvideo.cli.main`` in one child process; file changes are told per case."""
    spec = sandbox.root / "batch.json"
    results = sandbox.root / "batch_results.jsonl"
    before = sandbox.tree()
    spec.write_text(json.dumps({"cwd": str(sandbox.cwd), "cases": [
        {"name": c.name, "argv": c.argv, "timeout": c.timeout} for c in cases]}))
    proc = subprocess.run([sys.executable, str(HERE / "cli_batch.py"), str(spec), str(results)], cwd=sandbox.cwd,
                          env=sandbox.env, capture_output=True, text=True, preexec_fn=_limit_memory,
                          timeout=sum(c.timeout for c in cases) + 120)
    rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    by_name = {c.name: c for c in cases}
    outcomes = [Outcome(by_name[r["name"]], r["rc"], r["stdout"], r["stderr"], r["peak_rss_mb"]) for r in rows]
    if len(outcomes) < len(cases):  # the child died: blame the case it was running
        dead = cases[len(outcomes)]
        outcomes.append(Outcome(dead, f"crashed ({proc.returncode})", "", proc.stderr[-2000:]))
    after = sandbox.tree()
    escaped = [p for p in sandbox.outside_allowed(before, after)
               if Path(p) not in (spec, results) and not Path(p).is_relative_to(sandbox.cwd / "__pycache__")]
    if escaped and outcomes:  # attributed to the batch; the single-case runs in the tests narrow it down
        outcomes[-1].changes = escaped
    return outcomes


def run_cli(sandbox: Sandbox, case: Case) -> Outcome:
    """One case in its own ``python -m nstvideo`` process with a timeout: what a user's shell sees."""
    before = sandbox.tree()
    try:
        proc = subprocess.run([sys.executable, "-m", "nstvideo", *case.argv], cwd=sandbox.cwd, env=sandbox.env,
                              capture_output=True, text=True, timeout=case.timeout, preexec_fn=_limit_memory,
                              stdin=subprocess.DEVNULL)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = "hang", str(exc.stdout or ""), str(exc.stderr or "")
    outcome = Outcome(case, rc, out, err)
    outcome.changes = sandbox.outside_allowed(before, sandbox.tree())
    return outcome


def error_lines(text: str) -> list[str]:
    """stderr's lines, less progress bars (tqdm redraws with carriage returns)."""
    return [line for line in text.split("\n") if line.strip() and "\r" not in line]


def message_problems(line: str) -> list[str]:
    """What is wrong with one ``error: ...`` line by the project's rule: what is wrong; what to do."""
    found = []
    if not line.startswith("error: "):
        found.append(f"not an 'error: ' line: {line[:200]!r}")
    if len(line) > MESSAGE_MAX:
        found.append(f"message over {MESSAGE_MAX} characters")
    if "; " not in line and not re.search(r" (use|upgrade|must) ", line):
        found.append(f"says what is wrong but not what to do: {line[:200]!r}")
    if _NOISE.search(line):
        found.append(f"library words in the message: {line[:200]!r}")
    return found


def problems(outcome: Outcome, sandbox: Sandbox | None = None) -> list[str]:
    """Every promise this outcome breaks (empty when it kept them all)."""
    case, found = outcome.case, []
    if outcome.rc in ("traceback", "hang", "memory") or not isinstance(outcome.rc, int):
        found.append(f"{outcome.rc}: {outcome.stderr.strip()[-600:]}")
        return found
    lines = error_lines(outcome.stderr)
    if "Traceback" in outcome.stderr:
        found.append("traceback: " + outcome.stderr.strip()[-600:])
    if case.expect == OK and outcome.rc != 0:
        found.append(f"a fine input was refused (exit {outcome.rc}): {outcome.stderr.strip()[-300:]}")
    if case.expect == REFUSE and outcome.rc == 0:
        found.append("a bad input was accepted (exit 0)")
    if outcome.rc == 2:  # argparse: its usage lines, then one error line
        if not lines or "error: argument" not in lines[-1] and "error:" not in lines[-1]:
            found.append(f"argparse exit without an error line: {lines[-1:]}")
    elif outcome.rc != 0:
        if len(lines) != 1:
            found.append(f"{len(lines)} lines on stderr, not one: {lines[:4]}")
        for line in lines[-1:]:
            found += message_problems(line)
    elif any(_NOISE.search(line) for line in lines):
        found.append(f"library noise on success: {lines[:3]}")
    if outcome.peak_rss_mb > PEAK_RSS_LIMIT_MB:
        found.append(f"used {outcome.peak_rss_mb:.0f} MB")
    if outcome.changes:
        found.append(f"wrote outside the output folder: {outcome.changes[:3]}")
    if sandbox is not None:
        if sandbox.partials():
            found.append(f"partial files left: {sandbox.partials()[:3]}")
        if sandbox.changed_inputs():
            found.append(f"inputs changed: {sandbox.changed_inputs()[:3]}")
    return found


def assert_no_problems(outcomes: list[Outcome], sandbox: Sandbox | None = None, minimum: int = 0) -> None:
    assert len(outcomes) >= minimum, f"only {len(outcomes)} cases ran, expected at least {minimum}"
    report = [f"{o.case.name}: {p}" for o in outcomes for p in problems(o, sandbox)]
    assert not report, f"{len(report)} problem(s) in {len(outcomes)} cases:\n" + "\n".join(report)


# -- mutations of real files ----------------------------------------------------------------------------

TRUNCATE_AT = (0.0, 0.01, 0.1, 0.5, 0.9, 0.99)


def truncations(data: bytes) -> dict[str, bytes]:
    return {f"cut{int(f * 100):02d}": data[:int(len(data) * f)] for f in TRUNCATE_AT}


def bit_flips(data: bytes, count: int, seed: int, start: int = 0) -> dict[str, bytes]:
    """``count`` copies, each with a few bytes XOR-ed at seeded positions past ``start``."""
    import random

    rng = random.Random(seed)
    found = {}
    for i in range(count):
        b = bytearray(data)
        for _ in range(1 + i % 4):
            pos = rng.randrange(start, len(b))
            b[pos] ^= rng.choice((0x01, 0x80, 0xFF, 0x55))
        found[f"flip{i:02d}"] = bytes(b)
    return found


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
