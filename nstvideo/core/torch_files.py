"""Loading ``.pth``/``.pt`` files without running pickled code, with failures said in words."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from .errors import ModelLoadError


def load_weights_only(path: Path, remedy: str, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)``; a bad file raises ModelLoadError ending with ``remedy``.

    torch reports junk as a bare KeyError number and a truncated zip as a paragraph; neither helps.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # a class outside the allowlist, as a payload would need
            raise ModelLoadError(f"{path} holds Python objects besides tensors, which are never unpickled; "
                                 f"{remedy}", path) from exc
        raise ModelLoadError(f"{path} is not a PyTorch file or is truncated; {remedy}", path) from exc
    except Exception as exc:  # KeyError, RuntimeError, EOFError...: not a torch file, or cut short
        raise ModelLoadError(f"{path} is not a PyTorch file or is truncated; {remedy}", path) from exc
