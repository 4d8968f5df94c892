"""One exception hierarchy. Every message is one line that tells the user what to do next."""
from __future__ import annotations

from pathlib import Path


class NstVideoError(Exception):
    """Base of every error nstvideo raises on purpose; the CLI prints it and exits non-zero.

    ``path`` names the file concerned, when there is one, so a GUI can point at it.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class ConfigError(NstVideoError, ValueError):
    """A setting is out of range (a ValueError too, for library callers that catch those)."""


class InputError(NstVideoError):
    """A file the user named is missing or is not what it should be."""


class DecodeError(InputError):
    """A video file is corrupt, truncated or not a video."""


class OutputExistsError(NstVideoError):
    def __init__(self, path: str | Path):
        super().__init__(f"{path} already exists; choose another name or pass --overwrite", path)


class ModelLoadError(NstVideoError):
    """A style file, VGG weight file or checkpoint cannot be used."""


class StyleNotFoundError(ModelLoadError):
    def __init__(self, name: str, available: list[str], suggestions: list[str]):
        hint = (
            f"did you mean {', '.join(repr(s) for s in suggestions)}?"
            if suggestions
            else "run 'nstvideo styles' to list the installed styles, or pass a .safetensors path"
        )
        super().__init__(f"unknown style {name!r}; {hint}")
        self.name = name
        self.available = available
        self.suggestions = suggestions


class DeviceError(NstVideoError):
    def __init__(self, message: str, device: str):
        super().__init__(message)
        self.device = device


class DatasetError(NstVideoError):
    """The training photos cannot be used."""


class TrainingError(NstVideoError):
    """Training cannot go on (diverged, or a checkpoint does not fit the settings)."""


class CaptureError(NstVideoError):
    def __init__(self, message: str, source: str | int | None = None):
        super().__init__(message)
        self.source = source


class EncodeError(NstVideoError):
    """Writing a video failed."""
