"""The command line: one-line errors, non-zero exits, nothing lost."""
import os
import re
import subprocess
import sys

import pytest

from nstvideo.cli import main
from nstvideo.core.training import LOSS_NAMES


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_and_non_image_inputs(capsys, tmp_path, random_style):
    code, _, err = run(capsys, "stylize", tmp_path / "nope.jpg", "--style", random_style, "-o", tmp_path)
    assert code == 1 and "nope.jpg does not exist" in err
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    code, _, err = run(capsys, "stylize", text, "--style", random_style, "-o", tmp_path / "out")
    assert code == 1 and "is not an image" in err


def test_unknown_style_suggests_close_names(capsys, tmp_path, photo, random_style):
    from nstvideo.core.styles import user_style_dir
    user_style_dir().mkdir(parents=True)
    (user_style_dir() / "picasso_1907.safetensors").write_bytes(random_style.read_bytes())
    code, _, err = run(capsys, "stylize", "x.jpg", "--style", "random_typo", "-o", tmp_path)
    assert code == 1 and "did you mean 'random'?" in err
    assert err.count("\n") == 1


def test_styles_lists_the_shipped_pack_in_aligned_columns(capsys):
    code, out, _ = run(capsys, "styles")
    rows = [line for line in out.splitlines() if not line.startswith("searched:")]
    assert code == 0 and any(r.startswith("picasso_selfportrait_1907 ") for r in rows)
    starts = {re.search(r"\s{2}\S", row).end() - 1 for row in rows}  # where the painting column begins
    networks = {row.index(" lite_net width") for row in rows}
    assert len(starts) == 1 and len(networks) == 1, out


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path):
    """``nstvideo styles | head -0``: stdout is a pipe nobody reads (block-buffered, as in a shell)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    try:
        done = subprocess.run([sys.executable, "-m", "nstvideo", "styles"], stdout=write_end, stderr=subprocess.PIPE,
                              env=env, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 141 and done.stderr == "", done.stderr


def test_corrupt_style_file(capsys, tmp_path, data_dir):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    code, _, err = run(capsys, "stylize", data_dir / "content" / "lion.jpg", "--style", bad, "-o", tmp_path)
    assert code == 1 and "broken.safetensors" in err and err.count("\n") == 1


def test_stylize_writes_outputs_and_never_overwrites(capsys, tmp_path, data_dir, random_style):
    src = data_dir / "content" / "lion.jpg"
    code, out, _ = run(capsys, "stylize", src, "--style", random_style, "-o", tmp_path, "--max-side", "96")
    result = tmp_path / "lion_random.jpg"
    assert code == 0 and result.exists()
    from nstvideo.core.images import read_image
    assert max(read_image(result).shape[:2]) == 96
    before = result.read_bytes()
    code, _, err = run(capsys, "stylize", src, "--style", random_style, "-o", tmp_path, "--max-side", "64")
    assert code == 1 and "--overwrite" in err and result.read_bytes() == before
    code, _, _ = run(capsys, "stylize", src, "--style", random_style, "-o", tmp_path, "--max-side", "64", "--overwrite")
    assert code == 0 and max(read_image(result).shape[:2]) == 64
    assert not list(tmp_path.glob(".*partial*"))


def test_stylize_o_with_an_image_name_is_that_file(capsys, tmp_path, data_dir, random_style):
    src = data_dir / "content" / "lion.jpg"
    out = tmp_path / "painted.png"
    code, _, _ = run(capsys, "stylize", src, "--style", random_style, "-o", out, "--max-side", "64")
    assert code == 0 and out.is_file()
    with pytest.raises(SystemExit) as exc:  # one file name for two images
        main(["stylize", str(src), str(src), "--style", str(random_style), "-o", str(tmp_path / "x.jpg")])
    assert exc.value.code == 2
    code, _, err = run(capsys, "stylize", data_dir / "video" / "fox_indoor.mp4", "--style", random_style, "-o", tmp_path)
    assert code == 1 and "nstvideo convert" in err


def test_junk_weight_files_are_named_in_words(capsys, tmp_path, data_dir):
    junk = tmp_path / "junk.pth"
    junk.write_text("not a model")
    code, _, err = run(capsys, "import-pth", junk, "--name", "x")
    assert code == 1 and "is not a PyTorch file" in err and err.count("\n") == 1
    code, _, err = run(capsys, "gatys", data_dir / "content" / "lion.jpg", data_dir / "styles" / "udnie.jpg",
                       "-o", tmp_path / "g.jpg", "--vgg-weights", junk, "--steps", "1")
    assert code == 1 and "is not a PyTorch file" in err and "--vgg-weights" in err


def test_bad_argument_values_exit_2(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["stylize", "a.jpg", "--style", "x", "-o", str(tmp_path), "--strength", "1.5"])
    assert exc.value.code == 2


def test_gatys_refuses_an_existing_output_before_working(capsys, tmp_path, data_dir, vgg_file):
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    code, _, err = run(capsys, "gatys", data_dir / "content" / "lion.jpg", data_dir / "styles" / "udnie.jpg",
                       "-o", out, "--vgg-weights", vgg_file)
    assert code == 1 and "already exists" in err and out.read_bytes() == b"keep me"


def test_gatys_end_to_end_and_module_entry_point(tmp_path, data_dir, vgg_file):
    out = tmp_path / "g.png"
    proc = subprocess.run(
        [sys.executable, "-m", "nstvideo", "gatys", data_dir / "content" / "lion.jpg", data_dir / "styles" / "udnie.jpg",
         "-o", out, "--size", "64", "--steps", "3", "--vgg-weights", vgg_file, "--device", "cpu"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.exists()


def test_missing_vgg_weights_names_both_ways_out(capsys, tmp_path, data_dir):
    code, _, err = run(capsys, "gatys", data_dir / "content" / "lion.jpg", data_dir / "styles" / "udnie.jpg",
                       "-o", tmp_path / "g.png", "--vgg-weights", tmp_path / "none.safetensors")
    assert code == 1 and "--vgg-weights" in err and "NSTVIDEO_VGG_WEIGHTS" in err


def test_bench_prints_one_line_per_measurement(capsys, data_dir, random_style):
    code, out, _ = run(capsys, "bench", "--sizes", "64x48", "--widths", "0.25", "--repeats", "1", "--device", "cpu")
    assert code == 0 and "inference  transformer_net width 0.25, 64x48, batch 1" in out and "frames/s" in out
    clip = data_dir / "video" / "person_walking_room.mp4"
    code, out, _ = run(capsys, "bench", "--what", "convert", "--clip", clip, "--sizes", "64x36", "--style",
                       random_style, "--runtime", "torch", "--device", "cpu")
    assert code == 0 and "batch 4" in out and "100 frames" in out
    assert all(part in out for part in ("painting alone", "of it", "core-ms a frame", "peak RSS"))
    code, _, err = run(capsys, "bench", "--what", "convert")
    assert code == 1 and "--clip" in err


def test_bench_quality_scores_model_gatys_and_references(capsys, tmp_path, data_dir, random_style, vgg_file):
    from nstvideo.core.images import read_image, write_image
    lion, udnie = data_dir / "content" / "lion.jpg", data_dir / "styles" / "udnie.jpg"
    args = ["bench", "--what", "quality", "--style", random_style, "--painting", udnie, "--photos", lion,
            "--reference", f"lion={lion}", "--short-side", "48", "--large-side", "64", "--gatys-steps", "3",
            "--out-dir", tmp_path, "--vgg-weights", vgg_file, "--device", "cpu"]
    code, out, _ = run(capsys, *args)
    rows = {line.split()[1]: line.split()[2:] for line in out.splitlines() if line.startswith("lion ")}
    assert code == 0 and set(rows) == {"model", "gatys", "lion"}, out
    assert rows["gatys"][2:] == ["1.00", "1.00"]
    assert float(rows["lion"][1]) == 0.0  # the photo itself as a "reference": no content loss
    scale = re.search(r"# lion: the model's own losses at 64 px short side over 48: "
                      r"style ([\d.]+)x, content ([\d.]+)x", out)
    assert scale and all(0.2 < float(v) < 5 for v in scale.groups()), out
    # The saved baseline is reused, not optimised again: replace it with the photo and score again.
    baseline = tmp_path / "lion_gatys_udnie_3steps.png"
    write_image(baseline, read_image(tmp_path / "lion_lion.png"), overwrite=True)
    code, out, _ = run(capsys, *args)
    gatys = next(line for line in out.splitlines() if line.startswith("lion ") and " gatys " in line)
    assert code == 0 and float(gatys.split()[3]) == 0.0 and "reusing" in out, out


def test_settings_out_of_range_and_unwritable_names_are_one_line_errors(capsys, tmp_path, data_dir):
    lion, udnie = data_dir / "content" / "lion.jpg", data_dir / "styles" / "udnie.jpg"
    code, _, err = run(capsys, "gatys", lion, udnie, "-o", tmp_path / "g.png", "--size", "8")
    assert code == 1 and "--size must be at least 16" in err and err.count("\n") == 1
    code, _, err = run(capsys, "gatys", lion, udnie, "-o", tmp_path / "g.xyz")
    assert code == 1 and "name the output .png or .jpg" in err
    code, _, err = run(capsys, "train", "--style-image", udnie, "--dataset", tmp_path, "--name", "w", "--width", "9")
    assert code == 1 and "--width" in err


def test_two_inputs_never_write_the_same_output(capsys, tmp_path, data_dir, random_style):
    import shutil
    (tmp_path / "a").mkdir()
    shutil.copy(data_dir / "content" / "lion.jpg", tmp_path / "a" / "x.jpg")
    (tmp_path / "b").mkdir()
    shutil.copy(data_dir / "content" / "amber.jpg", tmp_path / "b" / "x.jpg")
    code, _, err = run(capsys, "stylize", tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg", "--style", random_style,
                       "-o", tmp_path / "out", "--max-side", "32", "--overwrite")
    assert code == 1 and "rename one of them" in err
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_train_progress_jsonl_prints_one_json_object_per_line(tmp_path, data_dir, vgg_file):
    import json
    import os
    import shutil
    from pathlib import Path
    photos = tmp_path / "photos"
    photos.mkdir()
    for src in sorted((data_dir / "train").glob("*.jpg"))[:4]:
        shutil.copy(src, photos / src.name)
    args = ["train", "--progress", "jsonl", "--style-image", data_dir / "styles" / "udnie.jpg", "--dataset", photos,
            "--name", "jsonl", "--out", tmp_path / "jsonl.safetensors", "--run-dir", tmp_path / "run",
            "--iterations", "6", "--image-size", "64", "--width", "0.25", "--batch-size", "2", "--log-every", "2",
            "--preview-every", "3", "--vgg-weights", vgg_file, "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread is faster than two on busy shared cores
    proc = subprocess.run([sys.executable, "-m", "nstvideo", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # every line parses: nothing else there
    assert events[0]["event"] == "start" and events[0]["iterations"] == 6
    steps = [e for e in events if e["event"] == "step"]
    assert [s["iteration"] for s in steps] == [2, 4, 6]
    assert all(s["start_iteration"] == 0 and s["eta"] >= 0 and s["iterations_per_second"] > 0 for s in steps)
    assert set(steps[0]["losses"]) == set(LOSS_NAMES)
    previews = [e for e in events if e["event"] == "preview"]
    assert [p["iteration"] for p in previews] == [3, 6] and all(Path(p["path"]).is_file() for p in previews)
    assert events[-1] == {"event": "end", "status": "done", "style": str(tmp_path / "jsonl.safetensors"),
                          "iteration": 6, "skipped_images": 0}

    proc = subprocess.run([sys.executable, "-m", "nstvideo", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)  # the same again: the finished run's files are refused
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    end = json.loads(proc.stdout.splitlines()[-1])
    assert end["event"] == "end" and end["status"] == "error" and end["message"] in proc.stderr


def test_an_input_is_never_its_own_output_even_with_overwrite(capsys, tmp_path, data_dir, video_dir, random_style):
    image = tmp_path / "tubingen.jpg"
    image.write_bytes((data_dir / "content" / "tubingen.jpg").read_bytes())
    clip = tmp_path / "clip.mp4"
    clip.write_bytes((video_dir / "person_walking_room.mp4").read_bytes())
    before = image.read_bytes(), clip.read_bytes()
    code, _, err = run(capsys, "stylize", image, "--style", random_style, "-o", image, "--overwrite")
    assert code == 1 and "is the input itself" in err
    code, _, err = run(capsys, "convert", clip, "--style", random_style, "-o", clip, "--overwrite")
    assert code == 1 and "is the input itself" in err
    assert (image.read_bytes(), clip.read_bytes()) == before


def test_eval_temporal_of_a_real_clip_against_itself(capsys, video_dir, random_style):
    import json
    clip = video_dir / "person_walking_room.mp4"
    code, out, err = run(capsys, "eval-temporal", clip, clip, "--max-frames", "8", "--style", random_style, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["frames"] == 8 and result["warping_error"] < 0.001 and "DIS" in result["flow"]
    assert 0 < result["fidelity"] < 1 and result["style_loss"] is None
    code, _, err = run(capsys, "eval-temporal", clip, video_dir / "fox_indoor.mp4")
    assert code == 1 and err.count("\n") == 1 and "480x480" in err
