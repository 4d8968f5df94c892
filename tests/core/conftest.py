"""Core fixtures: OpenVINO builds go to one cache folder per test session, never the user's."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory):
    return tmp_path_factory.mktemp("xdg_cache")


@pytest.fixture(autouse=True)
def _isolated_cache(_cache_home, monkeypatch):
    """A style's OpenVINO build is made once a session (seconds) and shared by the tests that use it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(_cache_home))
