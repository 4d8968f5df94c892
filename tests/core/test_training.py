import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from nstvideo.core.dataset import PhotoCache
from nstvideo.core.errors import DatasetError
from nstvideo.core.styles import load_style
from nstvideo.core.stylize import Stylizer
from nstvideo.core.device import inference_runtime
from nstvideo.core.training import TrainConfig, Trainer


@pytest.fixture(scope="module")
def photos(data_dir, tmp_path_factory) -> Path:
    """24 real training photos from ../shared/data/train, in nested folders (the search is recursive)."""
    folder = tmp_path_factory.mktemp("photos")
    for i, src in enumerate(sorted((data_dir / "train").glob("*.jpg"))[:24]):
        sub = folder / f"part{i % 2}"
        sub.mkdir(exist_ok=True)
        shutil.copy(src, sub / src.name)
    return folder


def small_config(tmp_path, photos, data_dir, vgg_file, **kw) -> TrainConfig:
    base = dict(
        style_image=data_dir / "styles" / "picasso_selfportrait_1907.jpg", dataset=photos, name="tiny",
        out=tmp_path / "tiny.safetensors", run_dir=tmp_path / "run", iterations=30, batch_size=2, image_size=64,
        width=0.25, vgg_weights=vgg_file, device="cpu", checkpoint_every=10, preview_every=15, log_every=5,
        style_weight=5e-5,
    )
    return TrainConfig(**{**base, **kw})


def history(run_dir: Path) -> list[dict]:
    with (run_dir / "losses.csv").open() as f:
        return list(csv.DictReader(f))


def test_training_lowers_the_loss_and_writes_a_usable_style(tmp_path, photos, data_dir, vgg_file, photo):
    previews = []
    config = small_config(tmp_path, photos, data_dir, vgg_file)
    result = Trainer(config, on_preview=lambda i, im: previews.append(i)).run()
    rows = history(config.run_dir)
    assert [int(r["iteration"]) for r in rows] == [5, 10, 15, 20, 25, 30]
    assert float(rows[-1]["total"]) < 0.7 * float(rows[0]["total"]), rows
    assert previews == [15, 30]
    assert (config.run_dir / "losses.png").exists() and (config.run_dir / "previews" / "iter_000015.jpg").exists()
    model, info = load_style(result.style_path)
    assert info.name == "tiny" and info.iterations == 30 and info.recipe["image_size"] == 64
    assert info.training["seconds"] >= 0
    out = Stylizer(model, inference_runtime("cpu"), info).stylize_image(photo)
    assert out.shape == photo.shape and out.std() > 5


def test_a_lite_network_distilled_from_a_teacher(tmp_path, photos, data_dir, vgg_file, random_style):
    """--network lite_net --teacher: the distillation term is reported, falls, and the recipe says so."""
    config = small_config(tmp_path, photos, data_dir, vgg_file, network="lite_net", width=0.5, iterations=20,
                          teacher=str(random_style), distill_weight=2.0)
    result = Trainer(config).run()
    rows = history(config.run_dir)
    distill = [float(r["distill"]) for r in rows]
    assert distill[0] > 0 and distill[-1] < distill[0], distill
    model, info = load_style(result.style_path)
    assert info.architecture == "lite_net" and type(model).__name__ == "LiteNet"
    assert info.recipe["teacher"] == random_style.name and info.recipe["distill_weight"] == 2.0
    assert small_config(tmp_path, photos, data_dir, vgg_file).recipe()["teacher"] is None


def test_resume_continues_exactly_where_it_stopped(tmp_path, photos, data_dir, vgg_file):
    straight = small_config(tmp_path / "a", photos, data_dir, vgg_file, iterations=20)
    Trainer(straight).run()

    halves = small_config(tmp_path / "b", photos, data_dir, vgg_file, iterations=20)
    seen = []
    stop_after_10 = Trainer(halves, on_step=lambda r: seen.append(r.iteration), should_stop=lambda: 10 in seen)
    result = stop_after_10.run()
    assert result.stopped and result.iteration == 10 and result.style_path is None
    assert not halves.out.exists()
    # As an older version wrote it, without today's newest loss columns: resuming keeps the rows aligned.
    old = history(halves.run_dir)
    with (halves.run_dir / "losses.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, ["iteration", "total", "content", "style", "tv", "seconds"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(old)
    resumed = Trainer(halves, resume=True).run()
    assert resumed.iteration == 20
    rows = history(halves.run_dir)
    assert all(float(r["seconds"]) >= 0 and None not in r for r in rows)
    assert rows[0]["distill"] == "" and rows[-1]["distill"] != ""

    a = torch.load(straight.run_dir / "checkpoint.pt", weights_only=True)
    b = torch.load(halves.run_dir / "checkpoint.pt", weights_only=True)
    assert a["iteration"] == b["iteration"] == 20
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=1e-5, atol=1e-6)
    assert a["optimizer"]["state"][0]["step"] == b["optimizer"]["state"][0]["step"] == 20
    assert [r["iteration"] for r in history(halves.run_dir)] == ["5", "10", "15", "20"]


def test_unreadable_images_are_skipped_and_counted_empty_folders_refused(tmp_path, photos):
    folder = tmp_path / "mixed"
    shutil.copytree(photos, folder)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    cache = PhotoCache(folder, 64)
    assert len(cache) == 24 and [p.name for p in cache.skipped] == ["broken.jpg"]
    batch = cache.sample(3, torch.Generator().manual_seed(0))
    assert batch.shape == (3, 3, 64, 64) and batch.dtype == torch.uint8
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="has 0 readable image"):
        PhotoCache(tmp_path / "empty", 64)
    with pytest.raises(DatasetError, match="does not exist"):
        PhotoCache(tmp_path / "absent", 64)


def test_crops_can_come_from_photos_at_a_larger_scale(photos):
    """--photo-size: 48 px crops cut from photos at 96 px show a part of each photo, not all of it."""
    cache = PhotoCache(photos, 48, side=96)
    assert cache.images.shape[-2:] == (96, 96)
    crops = cache.sample(8, torch.Generator().manual_seed(0))
    assert crops.shape == (8, 3, 48, 48)
    whole = PhotoCache(photos, 48)
    assert whole.images.shape[-1] == 54
    with pytest.raises(DatasetError, match="cannot give 48 px crops"):
        PhotoCache(photos, 48, side=32)


def test_recipe_file_and_cli(tmp_path, photos, data_dir, vgg_file):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(
        f'style_image = "{data_dir / "styles" / "starry_night.jpg"}"\n'
        f'dataset = "{photos}"\nname = "recipe_tiny"\niterations = 4\nbatch_size = 1\nimage_size = 48\n'
        "width = 0.25\ncheckpoint_every = 2\npreview_every = 100\nlog_every = 2\n"
    )
    from nstvideo.cli import main
    out = tmp_path / "r.safetensors"
    code = main(["train", "--recipe", str(recipe), "--out", str(out), "--run-dir", str(tmp_path / "r"),
                 "--vgg-weights", str(vgg_file), "--device", "cpu"])
    assert code == 0 and load_style(out)[1].iterations == 4
    assert main(["train", "--recipe", str(tmp_path / "none.toml")]) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text('stlye_weight = 1\n')
    assert main(["train", "--recipe", str(bad)]) == 1


@pytest.mark.slow
def test_distributed_data_parallel_with_two_gloo_processes(tmp_path, photos, data_dir, vgg_file):
    out = tmp_path / "ddp.safetensors"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "nstvideo", "train", "--style-image", str(data_dir / "styles" / "udnie.jpg"), "--dataset", str(photos),
         "--name", "ddp", "--out", str(out), "--run-dir", str(tmp_path / "run"), "--iterations", "4",
         "--batch-size", "1", "--image-size", "48", "--width", "0.25", "--vgg-weights", str(vgg_file),
         "--device", "cpu", "--checkpoint-every", "2", "--preview-every", "100"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert load_style(out)[1].training["processes"] == 2
    assert len(list(tmp_path.glob("*.safetensors"))) == 1


def test_a_fresh_run_never_clobbers_another_and_resume_checks_the_settings(tmp_path, photos, data_dir, vgg_file):
    from nstvideo.core.errors import TrainingError
    config = small_config(tmp_path, photos, data_dir, vgg_file, iterations=4, checkpoint_every=2)
    Trainer(config).run()
    again = small_config(tmp_path, photos, data_dir, vgg_file, iterations=4, out=tmp_path / "other.safetensors")
    with pytest.raises(TrainingError, match="--resume"):
        Trainer(again).run()
    changed = small_config(tmp_path, photos, data_dir, vgg_file, iterations=8, style_weight=1e-3)
    with pytest.raises(TrainingError, match="style_weight"):
        Trainer(changed, resume=True).run()
    rescaled = small_config(tmp_path, photos, data_dir, vgg_file, iterations=8, photo_size=96)
    with pytest.raises(TrainingError, match="photo_size"):
        Trainer(rescaled, resume=True).run()
    longer = small_config(tmp_path, photos, data_dir, vgg_file, iterations=8)
    assert Trainer(longer, resume=True).run().iteration == 8


def test_sigterm_writes_a_checkpoint_and_resume_goes_on(tmp_path, photos, data_dir, vgg_file):
    """`kill` (SIGTERM) stops training as Ctrl-C does: a checkpoint, exit 143 (128 + SIGTERM) and how to go on."""
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "nstvideo", "train", "--style-image", str(data_dir / "styles" / "udnie.jpg"),
           "--dataset", str(photos), "--name", "sigint", "--out", str(tmp_path / "s.safetensors"),
           "--run-dir", str(run_dir), "--iterations", "100000", "--batch-size", "1", "--image-size", "32",
           "--width", "0.25", "--vgg-weights", str(vgg_file), "--device", "cpu", "--checkpoint-every", "100000"]
    with (tmp_path / "log.txt").open("w+") as log:
        proc = subprocess.Popen(cmd + ["--preview-every", "100000"], stdout=log, stderr=log)
        deadline = time.monotonic() + 300
        while not (run_dir / "losses.csv").exists() or len(history(run_dir)) < 1:
            assert proc.poll() is None and time.monotonic() < deadline, "training did not log in time"
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        log.seek(0)
        err = log.read()
    assert proc.returncode == 143, err
    assert "--resume" in err.splitlines()[-1], err
    saved = torch.load(run_dir / "checkpoint.pt", weights_only=True)["iteration"]
    assert saved >= 20  # the first loss row is logged at iteration 20
    proc = subprocess.run(cmd + ["--resume", "--iterations", str(saved + 2), "--preview-every", "100000"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert load_style(tmp_path / "s.safetensors")[1].iterations == saved + 2
    # Exactly where an uninterrupted run of the same seed is: SIGTERM lets the iteration under way finish
    # (before, the checkpoint kept the sampler past a batch the weights never saw, and the resumed run
    # matched the straight one shifted by a batch).
    straight = TrainConfig(style_image=data_dir / "styles" / "udnie.jpg", dataset=photos, name="straight",
                           out=tmp_path / "straight.safetensors", run_dir=tmp_path / "straight", iterations=saved + 2,
                           batch_size=1, image_size=32, width=0.25, vgg_weights=vgg_file, device="cpu",
                           checkpoint_every=100000, preview_every=100000)
    Trainer(straight).run()
    a = torch.load(straight.run_dir / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_temporal_weight_adds_the_compound_regularization_and_older_recipes_mean_off(tmp_path, photos, data_dir,
                                                                                     vgg_file):
    from nstvideo.core.training import recipe_defaults
    config = small_config(tmp_path, photos, data_dir, vgg_file, iterations=10, temporal_weight=1e4)
    Trainer(config).run()
    rows = history(config.run_dir)
    assert all(float(r["temporal"]) > 0 for r in rows)
    assert config.recipe()["temporal_weight"] == 1e4 and recipe_defaults()["temporal_weight"] == 0.0
    plain = small_config(tmp_path, photos, data_dir, vgg_file, iterations=10, run_dir=tmp_path / "plain",
                         out=tmp_path / "plain.safetensors")
    Trainer(plain).run()
    assert all(float(r["temporal"]) == 0 for r in history(plain.run_dir))


def test_init_fine_tunes_a_trained_style_and_refuses_another_network(tmp_path, photos, data_dir, vgg_file):
    """--init starts from the style's weights (the first step's loss is the trained network's, far below a
    new network's), and the style file says what it was fine-tuned from."""
    from nstvideo.core.errors import ConfigError

    first = small_config(tmp_path / "a", photos, data_dir, vgg_file, network="lite_net", width=0.5, iterations=30)
    trained = Trainer(first).run().style_path
    fresh = small_config(tmp_path / "b", photos, data_dir, vgg_file, network="lite_net", width=0.5, iterations=5,
                         log_every=1)
    Trainer(fresh).run()
    tuned = small_config(tmp_path / "c", photos, data_dir, vgg_file, network="lite_net", width=0.5, iterations=5,
                         log_every=1, init=str(trained), lr=1e-5)
    result = Trainer(tuned).run()
    first_step = [float(history(c.run_dir)[0]["total"]) for c in (fresh, tuned)]
    assert first_step[1] < 0.5 * first_step[0], first_step
    assert float(history(tuned.run_dir)[0]["total"]) < 1.3 * float(history(first.run_dir)[-1]["total"])
    _, info = load_style(result.style_path)
    assert info.recipe["init"] == trained.name
    other = small_config(tmp_path / "d", photos, data_dir, vgg_file, network="lite_net", width=0.25, init=str(trained))
    with pytest.raises(ConfigError, match="another size"):
        Trainer(other).run()
