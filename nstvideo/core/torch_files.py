"""Loading ``.pth``/``.pt`` files without running pickled code, with failures said in words."""
from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from .errors import ModelLoadError

_WEIGHTS_ONLY_PREAMBLE = "Weights only load failed"


def load_weights_only(path: Path, remedy: str, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)``; a bad file raises ModelLoadError ending with ``remedy``.

    torch reports junk as a bare KeyError number and a truncated zip as a paragraph: keep only its first line.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the outcome is said below
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError, KeyError, RuntimeError, EOFError, OSError...
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        if isinstance(exc, pickle.UnpicklingError) and lines and lines[0].startswith(_WEIGHTS_ONLY_PREAMBLE):
            # The rest is torch's advice to load with weights_only=False, never passed on, and the reason:
            # a class or function ("Unsupported global ...") for a payload, an unknown opcode for junk.
            if any("global" in line.lower() for line in lines[1:]):
                raise ModelLoadError(f"{path} holds Python objects besides tensors, which are never unpickled "
                                     f"(they could run code); {remedy}", path) from exc
            lines = []
        # torch's first sentence, where it says something (a bare KeyError number does not) and is short
        detail = re.split(r"(?<=[.:])\s", lines[0])[0].rstrip(".:") if lines else ""
        detail = f" ({detail})" if detail and not detail.isdigit() and len(detail) <= 100 else ""
        raise ModelLoadError(f"{path} is not a PyTorch file or is truncated{detail}; {remedy}", path) from exc
