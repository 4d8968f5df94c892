"""Odd output names and FIFOs for every command that writes, and the README's promises that the suite checks."""
from __future__ import annotations

import re
import shutil

from harness import DATA, OK, REFUSE, REPO, Case, assert_no_problems, make_fifo, problems, run_batch, run_cli


def test_odd_output_names(sandbox, random_style):
    photo = sandbox.add("photo.jpg", (DATA / "content" / "tubingen.jpg").read_bytes())
    style = ["--style", str(random_style), "--runtime", "torch", "--device", "cpu", "--max-side", "64"]
    (sandbox.out / "taken.png").write_bytes(b"keep me")
    (sandbox.out / "folder.png").mkdir()
    (sandbox.out / "a_file").write_bytes(b"x")
    o = sandbox.out
    names = {
        "out.gif": REFUSE, "out.txt": REFUSE, "out.mp4": REFUSE, "x" * 300 + ".png": REFUSE, "taken.png": REFUSE,
        "folder.png": OK, "a_file/x.png": REFUSE, "new/deeper/x.png": OK, "ünïcode ñame.png": OK, "x.PNG": OK,
        "x.jpeg": OK, "x.webp": OK, "x.bmp": OK, "dir.v2/": OK, "line\nbreak.png": OK, "y" * 250 + ".png": OK,
        "z" * 300 + "/": REFUSE, "out.tar.gz": REFUSE, "no_suffix": OK,
    }
    cases = [Case(f"stylize -o {n[:20]!r}", ["stylize", str(photo), *style, "-o", str(o / n) + ("/" if n.endswith("/") else "")], e)
             for n, e in names.items()]
    cases.append(Case("stylize -o the input itself --overwrite", ["stylize", str(photo), *style, "-o", str(photo),
                                                                   "--overwrite"], REFUSE))
    cases.append(Case("stylize -o taken --overwrite", ["stylize", str(photo), *style, "-o", str(o / "taken.png"),
                                                        "--overwrite"], OK))
    # A style file whose name would climb out of the output folder (the example).
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(random_style), framework="pt") as f:
        meta, state = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}
    for i, name in enumerate(("../../../escaped_style", "y" * 240, "a\\b", "con.", " ")):
        path = sandbox.inputs / f"named{i}.safetensors"
        save_file(state, str(path), metadata={**meta, "name": name})
        sandbox.add(path.name, path.read_bytes())
        cases.append(Case(f"style named {name[:12]!r}", ["stylize", str(photo), *style[:0], "--style", str(path),
                                                        "--runtime", "torch", "--max-side", "64",
                                                        "-o", str(o / "a" / "b") + "/"], REFUSE))
    for n, e in (("x.txt", OK), ("folder.png", REFUSE), ("q" * 300 + ".safetensors", REFUSE), ("a_file/s.safetensors", REFUSE)):
        cases.append(Case(f"gatys -o {n[:16]!r}", ["gatys", str(photo), str(photo), "-o", str(o / n), "--steps", "1",
                                                    "--size", "32"], REFUSE if e == REFUSE or n.endswith(".txt") else OK))
    for n in ("folder.png", "a_file/x.safetensors", "r" * 300 + ".safetensors"):
        cases.append(Case(f"train --out {n[:16]!r}", ["train", "--style-image", str(photo), "--dataset", str(sandbox.inputs),
                                                       "--name", "t", "--out", str(o / n), "--run-dir", str(o / "run"),
                                                       "--overwrite", "--iterations", "1"], REFUSE))
    # Stale partials of a killed process (pid 2**22 + 1 does not exist) are removed by the next write there.
    stale = o / f".stale.{2**22 + 1}.abc123.partial.png"
    stale.write_bytes(b"left by kill -9")
    cases.append(Case("stylize over a stale partial", ["stylize", str(photo), *style, "-o", str(o / "stale.png")], OK))
    for n in range(60 - len(cases)):  # more names, each one a distinct character class
        ch = "!#$%&'()+,;=@[]^`{}~"[n % 20]
        cases.append(Case(f"stylize -o name with {ch!r} {n}", ["stylize", str(photo), *style, "-o",
                                                               str(o / f"n{n}{ch}x.png")], OK))
    assert len(cases) >= 60
    outcomes = run_batch(sandbox, cases)
    assert_no_problems(outcomes, sandbox, minimum=60)
    assert (o / "taken.png").read_bytes() != b"keep me"  # --overwrite was asked for
    assert not stale.exists() and (o / "stale.png").is_file()
    assert not any(p.name.startswith("escaped") for p in sandbox.root.parent.rglob("*"))
    assert not (o / "out.gif").exists()


def test_fifos_are_refused_at_once_everywhere(sandbox, random_style):
    fifo_jpg = make_fifo(sandbox.inputs / "pipe.jpg")
    fifo_style = make_fifo(sandbox.inputs / "pipe.safetensors")
    fifo_pth = make_fifo(sandbox.inputs / "pipe.pth")
    photo = sandbox.add("photo.jpg", (DATA / "content" / "tubingen.jpg").read_bytes())
    torch_cpu = ["--runtime", "torch", "--device", "cpu"]
    cases = [
        Case("stylize a fifo image", ["stylize", str(fifo_jpg), "--style", str(random_style), *torch_cpu, "-o",
                                      str(sandbox.out) + "/"], REFUSE, timeout=30),
        Case("stylize with a fifo style", ["stylize", str(photo), "--style", str(fifo_style), *torch_cpu, "-o",
                                           str(sandbox.out) + "/"], REFUSE, timeout=30),
        Case("import a fifo", ["import-pth", str(fifo_pth), "--name", "x"], REFUSE, timeout=30),
        Case("gatys a fifo painting", ["gatys", str(photo), str(fifo_jpg), "-o", str(sandbox.out / "g.png")], REFUSE,
             timeout=30),
    ]
    assert_no_problems(run_batch(sandbox, cases), sandbox)
    alone = run_cli(sandbox, cases[0])  # and as its own process: it ends, no hang
    assert not problems(alone, sandbox), problems(alone, sandbox)


def test_the_readme_states_what_this_suite_checks():
    text = (REPO / "README.md").read_text()
    section = re.search(r"## What nstvideo promises\n(.*?)\n## ", text, re.S)
    assert section, "README has no 'What nstvideo promises' section"
    for promise in ("never overwrites", "never half-writes", "never runs code from a model file",
                    "refuses what it cannot read", "tests/fuzz/"):
        assert promise in section[1], promise
