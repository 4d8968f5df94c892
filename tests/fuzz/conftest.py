"""The fixture every fuzz module starts from; the machinery is in harness.py."""
from __future__ import annotations

import pytest

from harness import DATA, VGG_FILE, Sandbox


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    """A fresh sandbox (inputs/, out/, cwd/, its own XDG folders); skips without ../shared."""
    for path in (DATA, VGG_FILE):
        if not path.exists():
            pytest.skip(f"{path} is missing: put the project's shared/ folder beside the checkout (see README)")
    return Sandbox(tmp_path / "box")
