"""Loading ``.pth``/``.pt`` files without running pickled code, with failures said in words."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from .errors import ModelLoadError


def load_weights_only(path: Path, remedy: str, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)``; a bad file raises ModelLoadError ending with ``remedy``.

    torch reports junk as a bare KeyError number and a truncated zip as a paragraph: keep only its first line.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, KeyError, RuntimeError, EOFError, OSError...
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        if isinstance(exc, pickle.UnpicklingError) and "Unsupported global" in str(exc):
            raise ModelLoadError(f"{path} holds Python objects besides tensors, which are never unpickled; "
                                 f"{remedy}", path) from exc
        raise ModelLoadError(f"{path} is not a PyTorch file or is truncated ({detail}); {remedy}", path) from exc
