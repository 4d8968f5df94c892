"""The one check a name from a file or an argument passes before it becomes part of a file name."""
from __future__ import annotations

from .errors import ConfigError

# Room for what is added around a name (an input's stem, "_", ".partial", a suffix) within the 255 bytes
# most file systems allow (ENAMETOOLONG, OSError 36, beyond).
MAX_STYLE_NAME_BYTES = 200
_FORBIDDEN = set('/\\:*?"<>|') | {chr(c) for c in range(32)} | {"\x7f"}


def safe_name(name: object, what: str = "name") -> str:
    """``name`` itself when it can be a file name on every system nstvideo runs on, else ConfigError.

    Refused: empty names, names starting with "." (hidden files, "." and ".."), path separators and the
    other characters Windows forbids, control characters, trailing spaces and dots, and names over
    ``MAX_STYLE_NAME_BYTES`` bytes of UTF-8. ``what`` says in the message which name it is ("--name", ...).
    """
    hint = "use letters, digits, '-' and '_', e.g. my_style"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{what} must not be empty; {hint}")
    shown = name if len(name) <= 40 else name[:40] + "..."
    if name.startswith(".") or name.endswith((" ", ".")):
        raise ConfigError(f"{what} {shown!r} must not start with '.' or end with '.' or a space; {hint}")
    bad = sorted(set(name) & _FORBIDDEN)
    if bad:
        raise ConfigError(f"{what} {shown!r} contains {''.join(bad)!r}, which a file name cannot; {hint}")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_STYLE_NAME_BYTES:
        raise ConfigError(f"{what} {shown!r} is longer than {MAX_STYLE_NAME_BYTES} bytes; choose a shorter one")
    return name
