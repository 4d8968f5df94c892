"""Reading and writing still images, with errors a user can act on and atomic writes."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

import cv2
import numpy as np

from .errors import InputError, OutputExistsError

_UMASK = os.umask(0o022)
os.umask(_UMASK)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_LOOKING_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")  # to point users at the right command


def read_image(path: str | Path) -> np.ndarray:
    """uint8 BGR HxWx3; grey and alpha images are converted."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path", path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; name an image file", path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np + imdecode also handles non-ASCII paths on Windows
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror}); check its permissions", path) from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None and path.suffix.lower() in VIDEO_LOOKING_SUFFIXES:
        raise InputError(f"{path} is a video; stylize it with 'nstvideo convert'", path)
    if image is None:
        raise InputError(f"{path} is not an image OpenCV can read (JPEG, PNG, BMP, WebP, TIFF)", path)
    return image


def resize_max_side(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Shrink (never enlarge) so the longer side is at most ``max_side``; area filter avoids aliasing."""
    h, w = image.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def resize_short_side(image: np.ndarray, side: int) -> np.ndarray:
    """Scale (up or down) so the shorter side is exactly ``side``; area filter down, bicubic up."""
    h, w = image.shape[:2]
    scale = side / min(h, w)
    size = (max(side, round(w * scale)), max(side, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


@contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    The temporary name keeps the suffix so encoders that pick a format from it still work.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write into {path.parent} ({exc.strerror}); choose another output folder",
                         path) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def refuse_overwriting_input(source: Path, target: Path) -> None:
    """An input is never written over, not even with ``overwrite``: that would lose the original."""
    if target.exists() and target.resolve() == Path(source).resolve():
        raise InputError(f"{target} is the input itself; name another output (inputs are never overwritten, "
                         "even with --overwrite)", target)


def check_target(output: Path | None, out_dir: Path | None, inputs: int) -> None:
    """A batch job writes to exactly one of a file (one input only) and a folder."""
    if (output is None) == (out_dir is None):
        raise ValueError("give exactly one of output (a file) and out_dir (a folder)")
    if output is not None and inputs != 1:
        raise ValueError(f"output names one file but there are {inputs} inputs; use out_dir")


def check_image_output(path: str | Path) -> Path:
    """Refuse an output name OpenCV cannot write before any work is done."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES or not cv2.haveImageWriter(f"x{path.suffix}"):
        raise InputError(f"cannot write images as {path.suffix or '(no suffix)'!r}; name the output .png or .jpg",
                         path)
    return path


def write_image(path: str | Path, image: np.ndarray, overwrite: bool = False) -> Path:
    """Write uint8 BGR atomically; the format follows the suffix."""
    path = check_image_output(path)
    ok, buf = cv2.imencode(path.suffix, image)
    if not ok:
        raise InputError(f"OpenCV could not encode {path.name}; name the output .png or .jpg", path)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_bytes(buf.tobytes())
    return path
