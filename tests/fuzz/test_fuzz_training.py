"""Training inputs: recipes with wrong types or bytes, bad flags, tiny paintings, broken datasets, checkpoints."""
from __future__ import annotations

import pickle

import cv2
import torch

from harness import DATA, OK, REFUSE, Case, assert_no_problems, make_fifo, run_batch


def test_training_inputs(sandbox):
    photos = sorted((DATA / "train").glob("*.jpg"))[:3]
    dataset = sandbox.inputs / "photos"
    for p in photos:
        sandbox.add(f"photos/{p.name}", cv2.imencode(".jpg", cv2.resize(cv2.imread(str(p)), (48, 40)))[1].tobytes())
    painting = sandbox.add("painting.jpg", cv2.imencode(".jpg", cv2.resize(
        cv2.imread(str(DATA / "styles" / "udnie.jpg")), (40, 48)))[1].tobytes())
    base = ["train", "--style-image", str(painting), "--dataset", str(dataset), "--iterations", "2",
            "--batch-size", "1", "--image-size", "32", "--width", "0.25", "--device", "cpu",
            "--checkpoint-every", "1", "--preview-every", "100", "--progress", "jsonl"]
    n = iter(range(1000))

    def run(name, *extra, expect=REFUSE, flags=None):
        i = next(n)
        argv = [*(base if flags is None else flags), "--name", f"t{i:03d}", "--run-dir", str(sandbox.out / f"run{i:03d}"),
                "--out", str(sandbox.out / f"t{i:03d}.safetensors"), *extra]
        return Case(f"train {name}", argv, expect, timeout=120)

    cases = [run("fine", expect=OK)]
    recipes = {"iterations_abc": 'iterations = "abc"', "width_wide": 'width = "wide"', "dataset_5": "dataset = 5",
               "image_size_float": "image_size = 32.5", "lr_table": "[lr]\nx = 1", "lr_array": "lr = [1]",
               "iterations_bool": "iterations = true", "name_int": "name = 3", "huge": "seed = 1e400", "negative": "log_every = -1", "lr_nan": "lr = nan", "lr_inf": "lr = inf", "unknown": "stlye = 1",
               "bad_toml": "iterations = = 2", "empty": "", "style_weight_str": 'style_weight = "1e-5"',
               "teacher_int": "teacher = 5", "date": "iterations = 1979-05-27", "overwrite_str": 'overwrite = "yes"',
               "network_bogus": 'network = "resnet"', "blocks_100": "residual_blocks = 100",
               "preview_missing": 'preview_image = "nowhere.jpg"'}
    for name, text in recipes.items():
        path = sandbox.add(f"recipes/{name}.toml", text.encode())
        cases.append(run(f"recipe {name}", "--recipe", str(path), expect=OK if name == "empty" else REFUSE))
    for name, data in {"binary": bytes(range(256)) * 4, "utf16": 'iterations = 2'.encode("utf-16"),
                       "jpeg": painting.read_bytes()}.items():
        cases.append(run(f"recipe {name}", "--recipe", str(sandbox.add(f"recipes/{name}.toml", data))))
    (sandbox.inputs / "recipe_folder.toml").mkdir()
    cases.append(run("recipe a folder", "--recipe", str(sandbox.inputs / "recipe_folder.toml")))
    cases.append(run("recipe a fifo", "--recipe", str(make_fifo(sandbox.inputs / "fifo.toml"))))
    cases.append(run("recipe missing", "--recipe", str(sandbox.inputs / "none.toml")))
    for flag, value in (("--lr", "nan"), ("--lr", "-1"), ("--lr", "inf"), ("--lr", "0"), ("--style-size", "1"),
                        ("--style-size", "15"), ("--image-size", "8"), ("--width", "0"), ("--width", "5"),
                        ("--width", "nan"), ("--residual-blocks", "100"), ("--iterations", "0"),
                        ("--style-weight", "-1"), ("--content-weight", "nan"), ("--tv-weight", "inf"),
                        ("--distill-weight", "-2"), ("--network", "bogus"), ("--lr", "abc"), ("--photo-size", "8")):
        cases.append(run(f"{flag} {value}", flag, value))
    for name in ("", "../../../escaped", ".hidden", "x" * 300, "a/b"):
        case = run(f"--name {name[:10]!r}")
        case.argv[case.argv.index("--name") + 1] = name
        cases.append(case)
    small = cv2.imread(str(painting))
    for side in (1, 2, 4, 15):
        tiny = sandbox.add(f"tiny{side}.png", cv2.imencode(".png", cv2.resize(small, (side, side)))[1].tobytes())
        cases.append(run(f"painting {side}x{side}", "--style-image", str(tiny)))
    strip = sandbox.add("strip.png", cv2.imencode(".png", cv2.resize(small, (400, 8)))[1].tobytes())
    cases.append(run("painting 400x8", "--style-image", str(strip)))
    cases.append(run("painting 16x16 fine", "--style-image", str(sandbox.add("ok16.png", cv2.imencode(
        ".png", cv2.resize(small, (16, 16)))[1].tobytes())), expect=OK))
    cases.append(run("painting a fifo", "--style-image", str(make_fifo(sandbox.inputs / "fifo.jpg"))))
    cases.append(run("painting not an image", "--style-image", str(sandbox.add("notes.jpg", b"notes"))))
    cases.append(run("painting missing", "--style-image", str(sandbox.inputs / "none.jpg")))
    cases.append(run("preview a fifo", "--preview-image", str(make_fifo(sandbox.inputs / "preview.jpg"))))
    empty = sandbox.inputs / "empty_set"
    empty.mkdir()
    cases.append(run("dataset empty", "--dataset", str(empty)))
    cases.append(run("dataset a file", "--dataset", str(painting)))
    cases.append(run("dataset missing", "--dataset", str(sandbox.inputs / "nowhere")))
    broken = sandbox.inputs / "broken_set"
    for i, p in enumerate(sorted(dataset.iterdir())):
        sandbox.add(f"broken_set/{i}.jpg", p.read_bytes()[:200])
    cases.append(run("dataset all truncated", "--dataset", str(broken)))
    mixed = sandbox.inputs / "mixed_set"
    for p in sorted(dataset.iterdir()):
        sandbox.add(f"mixed_set/{p.name}", p.read_bytes())
    sandbox.add("mixed_set/bad.jpg", b"junk")
    sandbox.add("mixed_set/cut.png", painting.read_bytes()[:100])
    make_fifo(mixed / "pipe.jpg")
    cases.append(run("dataset with bad files and a fifo", "--dataset", str(mixed), expect=OK))
    run_file = sandbox.add("a_file", b"x")
    case = run("--run-dir a file")
    case.argv[case.argv.index("--run-dir") + 1] = str(run_file)
    cases.append(case)
    folder_out = sandbox.out / "folder.safetensors"
    folder_out.mkdir()
    case = run("--out a folder", "--overwrite")
    case.argv[case.argv.index("--out") + 1] = str(folder_out)
    cases.append(case)
    # --resume with checkpoints that are not what they should be
    good_ckpt = None
    for name, obj in {"list": [1, 2], "tensor": torch.zeros(3), "no config": {"version": 1, "iteration": 1},
                      "config a string": {"version": 1, "iteration": 1, "model": {}, "optimizer": {},
                                          "sampler_rng": torch.zeros(1), "torch_rng": torch.zeros(1), "config": "x"},
                      "empty dict": {}, "none": None}.items():
        i = next(n)
        run_dir = sandbox.out / f"ckpt{i:03d}"
        run_dir.mkdir()
        torch.save(obj, run_dir / "checkpoint.pt")
        case = run(f"--resume checkpoint {name}", "--resume")
        case.argv[case.argv.index("--run-dir") + 1] = str(run_dir)
        cases.append(case)
    for name, data in {"junk": b"junk" * 10, "empty": b"", "pickle": pickle.dumps({"a": 1}), "truncated": None}.items():
        i = next(n)
        run_dir = sandbox.out / f"ckpt{i:03d}"
        run_dir.mkdir()
        if data is None:
            torch.save({"x": torch.zeros(1000)}, run_dir / "checkpoint.pt")
            data = (run_dir / "checkpoint.pt").read_bytes()[:300]
        (run_dir / "checkpoint.pt").write_bytes(data)
        case = run(f"--resume checkpoint {name}", "--resume")
        case.argv[case.argv.index("--run-dir") + 1] = str(run_dir)
        cases.append(case)
    assert len(cases) >= 60 and good_ckpt is None
    outcomes = run_batch(sandbox, cases)
    assert_no_problems(outcomes, sandbox, minimum=60)
