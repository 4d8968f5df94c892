"""Style files and .pth imports: crafted metadata, tensors, dtypes, pickles, names, made from a real network."""
from __future__ import annotations

import json
import os
import pickle

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from harness import (DATA, EITHER, OK, REFUSE, SCALE, Case, assert_no_problems, bit_flips, run_batch,
                     truncations)


def _style_variants(random_style) -> dict[str, tuple[bytes | None, dict, dict, str]]:
    """name -> (raw bytes or None, metadata changes, tensor changes, expectation)."""
    with safe_open(str(random_style), framework="pt") as f:
        meta = dict(f.metadata())
        state = {k: f.get_tensor(k) for k in f.keys()}
    first = "conv1.conv2d.weight"
    out: dict[str, tuple] = {}
    for key, values in {
        "name": ["../../../escaped_style", "", ".hidden", "a/b", "x" * 300, "nul\x00", "ok_name"],
        "architecture": ["adain", "", "TransformerNet", "lite_net"],
        "width": ["abc", "nan", "inf", "-1", "0", "100", "1e308", ""],
        "residual_blocks": ["100000", "0", "-1", "abc", "5.5", "17", ""],
        "format_version": ["-1", "abc", "2", "0", "", "1.0", "١"],
        "format": ["", "nstvideo-style-2"],
        "recipe": ["[]", "null", '"a string"', "{", "1", "{}"],
        "training": ["[]", "null", '"x"'],
        "iterations": ["abc", "1e9"],
    }.items():
        for v in values:
            good = (key == "name" and v in ("ok_name", "")) or (key == "recipe" and v == "{}")  # "": the file's name
            out[f"meta_{key}={v[:12]!r}"] = (None, {key: v}, {}, OK if good else REFUSE)
    out["meta_none"] = (None, None, {}, REFUSE)
    for dtype in (torch.float64, torch.int8, torch.int32, torch.uint8, torch.bool):
        out[f"dtype_{dtype}"] = (None, {}, {k: v.to(dtype) for k, v in state.items()}, REFUSE)
    for dtype in (torch.bfloat16, torch.float32):
        out[f"dtype_{dtype}"] = (None, {}, {k: v.to(dtype) for k, v in state.items()}, OK)
    for bad in (float("nan"), float("inf"), -float("inf")):
        t = state[first].clone()
        t.view(-1)[3] = bad
        out[f"value_{bad}"] = (None, {}, {**state, first: t}, REFUSE)
    out["missing_tensor"] = (None, {}, {k: v for k, v in state.items() if k != first}, REFUSE)
    out["extra_tensor"] = (None, {}, {**state, "res99.conv1.conv2d.weight": state[first].clone()}, REFUSE)
    out["wrong_shape"] = (None, {}, {**state, first: state[first][:4].contiguous()}, REFUSE)
    out["scalar_tensor"] = (None, {}, {**state, first: torch.tensor(1.0, dtype=torch.float16)}, REFUSE)
    raw = random_style.read_bytes()
    for name, data in {**truncations(raw), **bit_flips(raw, 4 * SCALE, seed=3, start=8)}.items():
        out[f"bytes_{name}"] = (data, {}, {}, REFUSE if name.startswith("cut") else EITHER)
    out["huge_header"] = ((10**15).to_bytes(8, "little") + b"{}", {}, {}, REFUSE)
    out["jpeg"] = ((DATA / "content" / "tubingen.jpg").read_bytes(), {}, {}, REFUSE)
    return {k: (raw_bytes, None if changes is None else {**meta, **changes}, tensors or state, expect)
            for k, (raw_bytes, changes, tensors, expect) in out.items()}


def test_crafted_style_files(sandbox, random_style, data_dir):
    photo = sandbox.add("photo.jpg", (data_dir / "content" / "tubingen.jpg").read_bytes())
    cases, files = [], []
    for i, (name, (raw, meta, state, expect)) in enumerate(_style_variants(random_style).items()):
        path = sandbox.inputs / f"style{i:03d}.safetensors"
        if raw is not None:
            path.write_bytes(raw)
        else:
            save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata=meta)
        sandbox.add(path.name, path.read_bytes())
        files.append(path)
        cases.append(Case(f"style {name}", ["stylize", str(photo), "--style", str(path), "--runtime", "torch",
                                            "--device", "cpu", "--max-side", "96", "-o",
                                            str(sandbox.out / f"s{i:03d}" / "a" / "b") + "/"], expect))
    assert len(cases) >= 60
    # All of them in the user style folder: the listing still works, and lists the good ones.
    sandbox.user_styles.mkdir(parents=True)
    for path in files:
        (sandbox.user_styles / path.name).write_bytes(path.read_bytes())
    listing = Case("styles with every crafted file installed", ["styles"], OK)
    outcomes = run_batch(sandbox, [*cases, listing])
    assert_no_problems(outcomes, sandbox, minimum=60)
    assert "ok_name" in outcomes[-1].stdout and "escaped" not in outcomes[-1].stdout
    assert not (sandbox.out / "escaped_style.jpg").exists()


class _Payload:
    def __init__(self, target: str, how: str):
        self.target, self.how = target, how

    def __reduce__(self):
        if self.how == "eval":
            return eval, (f"open({self.target!r}, 'w').write('ran')",)
        return os.system, (f"touch {self.target}",)


def _pth_variants(sandbox, random_style) -> dict[str, tuple[bytes, str]]:
    from nstvideo.core.styles import load_style

    model, _ = load_style(random_style)
    good = {k: v.clone() for k, v in model.state_dict().items()}
    first = "conv1.conv2d.weight"
    pwned = str(sandbox.root / "PWNED")

    def saved(obj) -> bytes:
        path = sandbox.root / "tmp.pth"
        torch.save(obj, path)
        data = path.read_bytes()
        path.unlink()
        return data

    out: dict[str, tuple[bytes, str]] = {"good": (saved(good), OK), "wrapped": (saved({"state_dict": good}), OK),
                                          "legacy_stats": (saved({**good, "in1.running_mean": torch.zeros(8)}), OK)}
    for key in (first, "deconv3.conv2d.weight", "deconv3.conv2d.bias", "res1.conv1.conv2d.weight", "in1.weight"):
        out[f"missing {key}"] = (saved({k: v for k, v in good.items() if k != key}), REFUSE)
    for key in (first, "deconv3.conv2d.bias", "in5.weight"):
        out[f"scalar {key}"] = (saved({**good, key: torch.tensor(3.0)}), REFUSE)
    out["int keys"] = (saved({i: v for i, v in enumerate(good.values())}), REFUSE)
    out["tuple keys"] = (saved({(k,): v for k, v in good.items()}), REFUSE)
    out["mixed keys"] = (saved({**good, 7: torch.zeros(1)}), REFUSE)
    for value in ([1, 2], 5, "text", None, {"a": 1}):
        out[f"value {value!r}"] = (saved({**good, first: value}), REFUSE)
    for obj in ([torch.zeros(2)], torch.zeros(3), "a string", 42, None, {}, {"state_dict": [1]}):
        out[f"holds {type(obj).__name__} {str(obj)[:10]}"] = (saved(obj), REFUSE)
    for filters in (1, 3, 7, 31, 33, 129, 1000):
        out[f"conv1 {filters} filters"] = (saved({**good, first: torch.zeros(filters, 3, 9, 9)}), REFUSE)
    out["conv1 2-d"] = (saved({**good, first: torch.zeros(8, 3)}), REFUSE)
    for blocks in (0, 17, 100):
        res = {k: v for k, v in good.items() if not k.startswith("res")}
        for b in range(1, blocks + 1):
            res.update({f"res{b}.{k.split('.', 1)[1]}": v for k, v in good.items() if k.startswith("res1.")})
        out[f"{blocks} residual blocks"] = (saved(res), REFUSE)
    for dtype in (torch.int64, torch.float64, torch.bool, torch.uint8):
        out[f"dtype {dtype}"] = (saved({k: v.to(dtype) for k, v in good.items()}),
                                 EITHER if dtype == torch.float64 else REFUSE)
    out["nan"] = (saved({**good, first: good[first] * float("nan")}), REFUSE)
    out["inf"] = (saved({**good, "in1.bias": good["in1.bias"] + float("inf")}), REFUSE)
    out["shape"] = (saved({**good, "in1.weight": torch.zeros(99)}), REFUSE)
    for how in ("system", "eval"):
        for proto in (0, 2, 4):
            out[f"pickle {how} protocol {proto}"] = (pickle.dumps(_Payload(pwned, how), protocol=proto), REFUSE)
        out[f"zip pickle {how}"] = (saved({**good, "x": _Payload(pwned, how)}), REFUSE)
    raw = saved(good)
    for name, data in {**truncations(raw), **bit_flips(raw, 3 * SCALE, seed=5, start=100)}.items():
        out[f"bytes {name}"] = (data, REFUSE if name.startswith("cut") else EITHER)
    out["style file"] = (random_style.read_bytes(), REFUSE)
    out["jpeg"] = ((DATA / "content" / "tubingen.jpg").read_bytes(), REFUSE)
    return out


def test_crafted_pth_imports_and_names(sandbox, random_style):
    cases = []
    for i, (name, (data, expect)) in enumerate(_pth_variants(sandbox, random_style).items()):
        path = sandbox.add(f"model{i:03d}.pth", data)
        cases.append(Case(f"pth {name}", ["import-pth", str(path), "--name", f"imported{i:03d}", "-o",
                                          str(sandbox.out / f"m{i:03d}.safetensors")], expect))
    good = sandbox.inputs / "model000.pth"
    for name, expect in (("", REFUSE), ("../../../escaped", REFUSE), (".hidden", REFUSE), ("a/b", REFUSE),
                         ("x" * 300, REFUSE), ("tab\there", REFUSE), ("..", REFUSE), ("ok-name_2", OK),
                         ("ünïcode", OK), ("trailing.", REFUSE)):
        cases.append(Case(f"pth --name {name[:12]!r}", ["import-pth", str(good), "--name", name], expect))
    (sandbox.out / "folder.safetensors").mkdir()
    for target, extra, expect in ((sandbox.out / "folder.safetensors", ["--overwrite"], REFUSE),
                                  (sandbox.out / ("y" * 300 + ".safetensors"), [], REFUSE),
                                  (sandbox.out / "m000.safetensors", [], REFUSE),
                                  (sandbox.out / "m000.safetensors", ["--overwrite"], OK)):
        cases.append(Case(f"pth -o {target.name[:20]} {extra}", ["import-pth", str(good), "--name", "n", "-o",
                                                                  str(target), *extra], expect))
    assert len(cases) >= 60
    outcomes = run_batch(sandbox, cases)
    assert_no_problems(outcomes, sandbox, minimum=60)
    assert not (sandbox.root / "PWNED").exists(), "a pickle ran code"
    assert sorted(p.name for p in sandbox.user_styles.iterdir()) == ["ok-name_2.safetensors", "ünïcode.safetensors"]
