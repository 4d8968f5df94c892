"""Whether a video file is whole, from its container's own sizes, before anything is decoded.

FFmpeg reads a cut-off file up to where it ends and stops without an error, so a download that broke off
at 30 % would convert to a video 30 % long. The containers say how long they should be:

* MP4/MOV: a file is a list of boxes, each starting with its size; the last must end by the end of the file.
* Matroska/WebM: the Segment element declares its size (every muxer that can seek back writes it).

Other containers are not checked here; ``convert`` also compares what it decoded with the declared duration.
"""
from __future__ import annotations

import struct
from pathlib import Path

_EBML_ID, _SEGMENT_ID = 0x1A45DFA3, 0x18538067
_HEAD = 4096  # bytes read for the Matroska header; the EBML header and Segment start are within it


def truncation(path: Path, format_name: str | None = None) -> str | None:
    """Why ``path`` is cut off or damaged, as a phrase; None if whole or not checkable.

    ``format_name``: FFmpeg's name for the container; None when FFmpeg could not open it, and the first
    bytes tell whether it is MP4/MOV or Matroska (a file cut so short that FFmpeg gives up).
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        if format_name is None:
            format_name = _sniff(file.read(12))
            file.seek(0)
        if "mp4" in format_name or "mov" in format_name:
            return _mp4_truncation(file, size)
        if "matroska" in format_name:
            return _matroska_truncation(file.read(_HEAD), size)
    return None


def _sniff(head: bytes) -> str:
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "mp4"
    if head[:4] == _EBML_ID.to_bytes(4, "big"):
        return "matroska"
    return ""


def _past_end(what: str, missing: int) -> str:
    return f"truncated: {what} ends {missing} bytes past the end of the file"


def _mp4_truncation(file, size: int) -> str | None:
    pos = 0
    while pos + 8 <= size:
        file.seek(pos)
        head = file.read(16)
        box_size, kind = struct.unpack(">I4s", head[:8])
        name = kind.decode("latin-1")
        if not name.isprintable() or not name.isascii():
            return None  # not a box: bytes after the last box, which FFmpeg ignores or refuses itself
        header = 8
        if box_size == 1:  # a 64-bit size follows
            if len(head) < 16:
                return _past_end(f"the header of its {name!r} box", 16 - len(head))
            box_size, header = struct.unpack(">Q", head[8:16])[0], 16
        elif box_size == 0:
            return None  # "runs to the end of the file"
        if box_size < header:
            return f"damaged: its {name!r} box has an impossible size ({box_size} bytes)"
        if pos + box_size > size:
            return _past_end(f"its {name!r} box", pos + box_size - size)
        pos += box_size
    return None


def _matroska_truncation(head: bytes, size: int) -> str | None:
    element = _element(head, 0)
    if element is None or element[0] != _EBML_ID:
        return None
    segment = _element(head, element[1] + element[2])
    if segment is None or segment[0] != _SEGMENT_ID or segment[2] is None:
        return None  # no Segment where expected, or its size was left "unknown" (a live recording)
    end = segment[1] + segment[2]
    return _past_end("its Segment", end - size) if end > size else None


def _element(data: bytes, pos: int) -> tuple[int, int, int | None] | None:
    """(id, offset of the data, data size or None for "unknown") of the EBML element at ``pos``."""
    ident = _vint(data, pos, keep_marker=True)
    if ident is None:
        return None
    length = _vint(data, pos + ident[1], keep_marker=False)
    if length is None:
        return None
    unknown = length[0] == (1 << (7 * length[1])) - 1
    return ident[0], pos + ident[1] + length[1], None if unknown else length[0]


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """(value, length in bytes) of the EBML variable-length integer at ``pos``."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 9 - data[pos].bit_length()
    if pos + length > len(data):
        return None
    value = data[pos] if keep_marker else data[pos] & (0xFF >> length)
    for byte in data[pos + 1:pos + length]:
        value = value << 8 | byte
    return value, length
