"""How the app names a style: by the painting and its painter, which people know it by, not its file name."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.styles import StyleInfo


def style_label(info: "StyleInfo", suffix: str = "", sep: str = "\n") -> str:
    """The painting, ``sep``, its painter (two lines in the live view's dropdown, one in the convert
    dialog's), or the style's own name where its file records no title and artist. ``suffix`` goes after
    the painting (" (file)")."""
    if info.title and info.artist:
        return f"{info.title}{suffix}{sep}{info.artist}"
    return info.name.replace("_", " ") + suffix


def style_tooltip(info: "StyleInfo", key: str) -> str:
    """What the label leaves out, and the name ``--style`` takes."""
    return f"{info.description} (--style {key})"
