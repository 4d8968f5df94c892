"""Shared fixtures. Real data comes from ../shared (see its README); tests that need it skip without it."""
from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NSTVIDEO_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
VGG_FILE = SHARED / "models" / "vgg16_imagenet_caffe_relu4_3.fp16.safetensors"



def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is missing: put the project's shared/ folder beside the checkout (see README)")
    return path


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory):
    return tmp_path_factory.mktemp("xdg_cache")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, _cache_home, monkeypatch):
    """Keep the user's style folder, settings, VGG setting and cache out of tests. The cache is one folder
    per test session: a style's OpenVINO build is made once (seconds) and shared by the tests that use it."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg_data")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg_config")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_cache_home))
    monkeypatch.delenv("NSTVIDEO_VGG_WEIGHTS", raising=False)


@pytest.fixture(scope="session")
def vgg_file() -> Path:
    return _need(VGG_FILE)


@pytest.fixture(scope="session")
def vgg(vgg_file):
    from nstvideo.core.vgg import load_vgg

    return load_vgg(vgg_file)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _need(DATA)


@pytest.fixture
def video_dir(data_dir) -> Path:
    return _need(data_dir / "video")


def read(path: Path, max_side: int | None = None) -> np.ndarray:
    from nstvideo.core.images import read_image, resize_max_side

    return resize_max_side(read_image(_need(path)), max_side)


@pytest.fixture(scope="session")
def photo(data_dir) -> np.ndarray:
    """A real photo (japanese_garden, 960x498) at 128 px."""
    return read(data_dir / "content" / "japanese_garden.jpg", 128)


@pytest.fixture(scope="session")
def painting(data_dir) -> np.ndarray:
    return read(data_dir / "styles" / "picasso_selfportrait_1907.jpg", 128)


@pytest.fixture
def random_style(tmp_path) -> Path:
    """An untrained but valid style file (width 0.25) for plumbing tests that need no trained style."""
    from nstvideo.core.styles import StyleInfo, save_style
    from nstvideo.core.transformer_net import TransformerNet

    torch.manual_seed(0)
    return save_style(tmp_path / "random.safetensors", TransformerNet(width=0.25), StyleInfo(name="random"))


@pytest.fixture
def http_server(tmp_path):
    """Serves ``tmp_path`` on localhost; yields the base URL: a real network stream, no internet needed."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="test-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
