"""The wheel carries every module, the shipped styles and the demo clip, and finds them once installed.

The wheel is built offline from a copy of the project (``pip wheel --no-deps --no-build-isolation``, about
a second), so the checkout gets no build/ folder; "installed" is the wheel unpacked outside the checkout.
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import av
import pytest

from nstvideo.assets import DEMO_CLIP_CREDIT, DEMO_CLIP_NAME, demo_clip
from nstvideo.core.styles import SHIPPED_DIR

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "nstvideo"


def _version(package: str) -> tuple[int, ...]:
    """From the installed metadata: ``find_spec("pip")`` would trip setuptools' distutils hook (a warning,
    an error here) once another package has imported distutils."""
    try:
        return tuple(int(p) for p in importlib.metadata.version(package).split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return (0,)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if _version("setuptools") < (77,) or _version("pip") == (0,):
        pytest.skip("building the wheel offline needs pip and setuptools>=77 in this environment")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for folder in ("nstvideo", "weights"):
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("nstvideo-*.whl")
    return path


def test_wheel_has_every_module_the_styles_and_the_demo_clip(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(
        str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts and str(p.relative_to(REPO)) not in names
    )
    assert not missing, f"not in the wheel: {missing}; list their packages in pyproject.toml [tool.setuptools]"
    styles = sorted(p.name for p in SHIPPED_DIR.glob("*.safetensors"))
    assert {"picasso_selfportrait_1907.safetensors", "starry_night.safetensors"} <= set(styles)
    assert {f"nstvideo/weights/{s}" for s in styles} <= names
    assert f"nstvideo/assets/{DEMO_CLIP_NAME}" in names


def test_installed_wheel_lists_the_shipped_styles_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("PYTHONSAFEPATH", None)
    code = (
        "import nstvideo, nstvideo.assets as a; print(nstvideo.__file__); print(a.demo_clip()); "
        "from nstvideo.cli import main; raise SystemExit(main(['styles']))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    package_file, clip, *listing = done.stdout.splitlines()
    assert Path(package_file).is_relative_to(site), "the checkout's nstvideo was imported, not the wheel's"
    assert Path(clip) == site / "nstvideo" / "assets" / DEMO_CLIP_NAME
    listed = {line.split()[0]: line for line in listing if not line.startswith("searched:")}
    for name in ("picasso_selfportrait_1907", "starry_night"):
        assert name in listed and str(site / "nstvideo" / "weights") in listed[name], done.stdout


def test_demo_clip_is_a_real_640x360_clip():
    with av.open(str(demo_clip())) as container:
        stream = container.streams.video[0]
        frame = next(container.decode(stream))
        assert (frame.width, frame.height) == (640, 360)
        assert float(container.duration / av.time_base) == pytest.approx(10.0, abs=0.5)


def test_demo_clip_credit_is_complete_and_in_the_readme():
    for part in ("one-by-one-person-detection", "Intel", "CC BY 4.0",
                 "https://github.com/intel-iot-devkit/sample-videos"):
        assert part in DEMO_CLIP_CREDIT
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert " ".join(DEMO_CLIP_CREDIT.split()) in readme, "README's Credits section and DEMO_CLIP_CREDIT differ"
