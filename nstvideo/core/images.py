"""Reading and writing still images, with errors a user can act on and atomic writes."""
from __future__ import annotations

import errno
import glob
import logging
import os
import re
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

import cv2
import numpy as np
import PIL.Image

from .errors import InputError, OutputExistsError

log = logging.getLogger(__name__)

_UMASK = os.umask(0o022)
os.umask(_UMASK)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_LOOKING_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")  # to point users at the right command
# Larger images are shrunk while decoding (JPEG) or refused: 64 MP is about 190 MB as BGR, 770 MB as float.
MAX_PIXELS = 64_000_000
MAX_NAME_BYTES = 255  # per path part, on every common file system
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def check_regular_file(path: Path, what: str = "file") -> None:
    """Missing paths, folders and anything that is not a regular file (a FIFO blocks forever) are refused."""
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path", path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; name {what}", path)
    if not path.is_file():
        raise InputError(f"{path} is not a regular file (a pipe or a device); name {what} on disk", path)


def _header_size(path: Path) -> tuple[str, int, int] | None:
    """(format, width, height) from the file's header alone, or None where PIL cannot tell."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: the size is checked by the caller
            with PIL.Image.open(path) as im:
                return im.format or "", im.width, im.height
    except PIL.Image.DecompressionBombError as exc:  # over twice PIL's own limit; its message has the pixels
        pixels = next(iter(re.findall(r"\d+", str(exc))), None)
        return "", int(pixels) if pixels else 2 ** 40, 1
    except (OSError, ValueError, SyntaxError, EOFError):
        return None


@contextmanager
def library_messages_to_log() -> Iterator[None]:
    """OpenCV, libjpeg and libpng write warnings straight to file descriptor 2, where they would print
    before (and bury) the one-line error: send them to the log instead (``nstvideo -v`` shows them).

    Not for use from several threads at once (nothing in nstvideo decodes images off the main thread).
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr at all (pythonw)
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace").strip()
            if text:
                log.debug("image decoder said: %s", text)


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """uint8 BGR HxWx3; grey and alpha images are converted. InputError for anything unusable.

    The header's size is read before decoding: a JPEG over ``max_pixels`` is decoded at 1/2, 1/4 or 1/8
    size (libjpeg scales while decoding, so a small file claiming 20000x20000 costs no more than its
    reduced size); other formats over it are refused.
    """
    path = Path(path)
    check_regular_file(path, "an image file")
    header = _header_size(path)
    flag = cv2.IMREAD_COLOR
    if header is not None and header[1] * header[2] > max_pixels:
        fmt, w, h = header
        factor = next((f for f in (2, 4, 8) if (w // f) * (h // f) <= max_pixels), None) if fmt == "JPEG" else None
        if factor is None:
            raise InputError(f"{path} has {w * h / 1e6:.0f} megapixels, more than the {max_pixels / 1e6:.0f} "
                             "nstvideo decodes; shrink it first", path)
        flag = _REDUCED[factor]
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np + imdecode also handles non-ASCII paths on Windows
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror}); check its permissions", path) from exc
    try:
        with library_messages_to_log():
            image = cv2.imdecode(data, flag) if data.size else None
    except cv2.error as exc:  # e.g. a header over OpenCV's own pixel limit
        log.debug("OpenCV refused %s: %s", path, exc)
        image = None
    if image is None and path.suffix.lower() in VIDEO_LOOKING_SUFFIXES:
        raise InputError(f"{path} is a video; stylize it with 'nstvideo convert'", path)
    if image is None:
        raise InputError(f"{path} is not an image OpenCV can read, or is corrupt; name a JPEG, PNG, BMP, WebP or "
                         "TIFF file", path)
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


def check_name_length(path: Path) -> Path:
    """InputError for a path with a part longer than file systems allow (255 bytes; OSError 36 later)."""
    for part in path.parts:
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise InputError(f"the name {part[:40]}... is longer than the {MAX_NAME_BYTES} bytes a file name may "
                             "have; choose a shorter one", path)
    return path


def check_output(path: Path, overwrite: bool = False) -> None:
    """What may be written at ``path``: never a folder (not even with ``overwrite``), nor a file without it."""
    check_name_length(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; name a file to write (folders are never replaced)", path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)


def _partial_stem(path: Path) -> str:
    """The start of ``path``'s stem that its temporary name keeps: short enough for the name to fit even
    when ``path``'s own name is near the 255-byte limit."""
    return path.stem[:100]


def _partial_pattern(path: Path) -> re.Pattern[str]:
    """The temporary names ``atomic_output`` gives ``path``: .STEM.PID.RANDOM.partialSUFFIX."""
    return re.compile(rf"\.{re.escape(_partial_stem(path))}\.(\d+)\.[A-Za-z0-9_]+\.partial{re.escape(path.suffix)}")


def _remove_stale_partials(path: Path) -> None:
    """Delete the temporary files a killed process (kill -9, power loss) left for ``path``.

    A partial names the process writing it; one whose process is gone is stale. POSIX only: Windows has no
    harmless way to ask whether a process exists.
    """
    if os.name != "posix" or not path.parent.is_dir():
        return
    pattern = _partial_pattern(path)
    for candidate in path.parent.glob(f".{glob.escape(_partial_stem(path))}.*.partial{glob.escape(path.suffix)}"):
        match = pattern.fullmatch(candidate.name)
        if not match or int(match[1]) == os.getpid():
            continue
        try:
            os.kill(int(match[1]), 0)
        except ProcessLookupError:
            candidate.unlink(missing_ok=True)
        except (PermissionError, OverflowError):
            pass  # alive, another user's


@contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    The temporary name keeps the suffix so encoders that pick a format from it still work, and names this
    process, so the next write to ``path`` removes what a killed process left behind.
    """
    path = Path(path)
    check_output(path, overwrite)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(path)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{_partial_stem(path)}.{os.getpid()}.", suffix=f".partial{path.suffix}",
                                        dir=path.parent)
    except OSError as exc:
        reason = "the name is too long" if exc.errno == errno.ENAMETOOLONG else exc.strerror
        raise InputError(f"cannot write {path} ({reason}); choose another output name or folder", path) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
        try:
            os.replace(tmp, path)
        except IsADirectoryError as exc:  # a folder appeared there meanwhile
            raise InputError(f"{path} is a folder; name a file to write (folders are never replaced)", path) from exc
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
    path = check_name_length(Path(path))
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
