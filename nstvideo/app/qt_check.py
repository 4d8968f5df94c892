"""Can Qt open a window here? Asked before any window or torch, so that a missing display or system library
is one line saying what to run or install, instead of Qt's "could not load the Qt platform plugin xcb"
and an aborted process.

Only Linux's xcb platform (X11, or XWayland) is checked: PyQt6's wheel carries Qt but not the X libraries
its xcb plugin links against, and a fresh desktop often lacks one (libxcb-cursor0 since Qt 6.5). Nothing
here imports PyQt6: the libraries are looked up with dlopen.
"""
from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

# soname -> the Debian/Ubuntu package that installs it: every system library that PyQt6's xcb plugin
# (plugins/platforms/libqxcb.so) and the Qt libraries it loads (XcbQpa, Gui, Widgets, Core, DBus) link
# against directly, read with readelf -d on PyQt6-Qt6 6.11; libc, libm, libstdc++, libgcc_s, zlib and zstd
# are on every system and left out. tests/app/test_qt_check.py compares this with the installed PyQt6.
XCB_LIBRARIES: Mapping[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}


def missing_libraries(libraries: Mapping[str, str] = XCB_LIBRARIES) -> list[str]:
    """The sonames in ``libraries`` that the dynamic loader cannot open, in the mapping's order."""
    missing = []
    for soname in libraries:
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(soname)
    return missing


def _xcb_is_chosen(environ: Mapping[str, str]) -> bool:
    """Whether Qt will try xcb first, as Qt 6's QGuiApplication decides it on Linux."""
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:  # a ';'-separated list tried in order, each name optionally followed by ':options'
        return requested.split(";")[0].split(":")[0].strip() == "xcb"
    # Unset: Wayland first in a Wayland session (xcb only as its fallback), else xcb.
    return not (environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland")


def qt_platform_problem(libraries: Mapping[str, str] = XCB_LIBRARIES) -> str | None:
    """One line saying why Qt's xcb platform cannot open a window here and how to fix it, or None.

    None off Linux, when QT_QPA_PLATFORM names another platform first (``offscreen``, ``wayland``) and in a
    Wayland session with QT_QPA_PLATFORM unset. Otherwise the libraries are checked first (they are needed
    under Xvfb too), then that ``DISPLAY`` is set. ``libraries`` maps sonames to the Debian/Ubuntu packages
    named in the message.
    """
    if not sys.platform.startswith("linux") or not _xcb_is_chosen(os.environ):
        return None
    missing = missing_libraries(libraries)
    if missing:
        packages = list(dict.fromkeys(libraries[soname] for soname in missing))
        return (
            f"Qt cannot open a window: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing "
            f"(PyQt6's xcb platform plugin needs {'it' if len(missing) == 1 else 'them'}); "
            f"on Debian/Ubuntu install with: sudo apt-get install {' '.join(packages)}"
        )
    if not os.environ.get("DISPLAY"):
        why = " (Qt's xcb platform needs DISPLAY; WAYLAND_DISPLAY is not enough)" if os.environ.get(
            "WAYLAND_DISPLAY") else ""
        return (f"no display{why}: run nstvideo in a desktop session (or over ssh -X), "
                "or under Xvfb: xvfb-run -a nstvideo live")
    return None
