"""The platform check before any window: one line naming what is missing, None where Qt can start."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from nstvideo.app.qt_check import XCB_LIBRARIES, missing_libraries, qt_platform_problem

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb check is Linux only")

BOGUS = {"libnstvideo-bogus.so.7": "libnstvideo-bogus7"}


@pytest.fixture
def env(monkeypatch):
    """An X11 desktop: DISPLAY set, no Wayland, QT_QPA_PLATFORM unset (make test sets it to offscreen)."""
    monkeypatch.setenv("DISPLAY", ":0")
    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_real_libraries_are_installed_here_so_the_check_passes(env):
    assert missing_libraries() == []
    assert qt_platform_problem() is None


def test_a_missing_library_is_one_line_naming_its_package(env):
    problem = qt_platform_problem({"libxcb.so.1": "libxcb1", **BOGUS})
    assert "\n" not in problem
    assert "libnstvideo-bogus.so.7 is missing" in problem
    assert problem.endswith("sudo apt-get install libnstvideo-bogus7")
    assert "libxcb.so.1" not in problem and "libxcb1" not in problem


def test_several_missing_libraries_share_one_install_command(env):
    problem = qt_platform_problem({**BOGUS, "libnstvideo-other.so.1": "libnstvideo-bogus7"})
    assert "libnstvideo-bogus.so.7, libnstvideo-other.so.1 are missing" in problem
    assert problem.endswith("sudo apt-get install libnstvideo-bogus7")


def test_no_display_says_so_and_how_to_run(env):
    env.delenv("DISPLAY")
    problem = qt_platform_problem()
    assert problem.startswith("no display:") and "xvfb-run -a nstvideo live" in problem and "\n" not in problem
    env.setenv("QT_QPA_PLATFORM", "xcb")
    env.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert "needs DISPLAY" in qt_platform_problem()


@pytest.mark.parametrize("platform", ["offscreen", "wayland", "wayland;xcb", "minimal:enable_fonts"])
def test_another_platform_chosen_is_not_checked(env, platform):
    env.delenv("DISPLAY")
    env.setenv("QT_QPA_PLATFORM", platform)
    assert qt_platform_problem(BOGUS) is None


def test_a_wayland_session_is_left_to_qt(env):
    env.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert qt_platform_problem(BOGUS) is None
    env.setenv("QT_QPA_PLATFORM", "xcb:nograb")  # asked for xcb explicitly: checked
    assert "libnstvideo-bogus7" in qt_platform_problem(BOGUS)


def _needed(path: Path) -> set[str]:
    """DT_NEEDED entries of a 64-bit little-endian ELF file (what readelf -d lists as NEEDED)."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{path} is not a 64-bit LE ELF file"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names = set()
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind != 6:  # SHT_DYNAMIC
            continue
        strtab = sections[link][4]
        for at in range(offset, offset + size, entsize):
            tag, value = struct.unpack_from("<qQ", data, at)
            if tag == 1:  # DT_NEEDED
                names.add(data[strtab + value:data.index(b"\0", strtab + value)].decode())
    return names


def test_the_library_list_matches_the_installed_pyqt6():
    """A PyQt6 upgrade that links a new system library (as Qt 6.5 did with xcb-cursor) fails here."""
    import PyQt6

    qt = Path(PyQt6.__file__).parent / "Qt6"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists():
        pytest.skip(f"{plugin} is not there: this PyQt6 has no xcb plugin")
    bundled = {p.name for p in (qt / "lib").iterdir()}
    files = [plugin] + [qt / "lib" / f"libQt6{m}.so.6" for m in ("XcbQpa", "Gui", "Widgets", "Core", "DBus")]
    everywhere = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1", "libzstd.so.1",
                  "libdl.so.2", "libpthread.so.0", "librt.so.1"}
    system = {n for f in files for n in _needed(f)} - bundled - everywhere
    system = {n for n in system if not n.startswith("ld-linux")}
    assert system == set(XCB_LIBRARIES)


def test_the_check_agrees_with_qt_itself(tmp_path):
    """Under a real Xvfb the check passes and xcb starts; without DISPLAY it warns and Qt really fails."""
    if not Path("/usr/bin/Xvfb").exists():
        pytest.skip("Xvfb is not installed")
    read, write = os.pipe()
    xvfb = subprocess.Popen(["/usr/bin/Xvfb", "-displayfd", str(write), "-screen", "0", "320x240x24",
                             "-nolisten", "tcp"], pass_fds=[write], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as f:
            display = ":" + f.readline().strip()
        start_qt = "from PyQt6.QtGui import QGuiApplication; app = QGuiApplication([]); print(app.platformName())"
        base = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
        base["QT_QPA_PLATFORM"] = "xcb"
        check = "from nstvideo.app.qt_check import qt_platform_problem as p; print(p())"
        for environ, problem in (({**base, "DISPLAY": display}, "None"),
                                 ({k: v for k, v in base.items() if k != "DISPLAY"}, "no display")):
            ours = subprocess.run([sys.executable, "-c", check], env=environ, capture_output=True, text=True,
                                  timeout=60)
            assert ours.stdout.startswith(problem), ours.stderr
            qt = subprocess.run([sys.executable, "-c", start_qt], env=environ, capture_output=True, text=True,
                                timeout=60)
            assert (qt.returncode == 0 and qt.stdout.strip() == "xcb") == (problem == "None"), qt.stderr
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
