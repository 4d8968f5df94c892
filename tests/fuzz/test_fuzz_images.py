"""Images: truncated, bit-flipped, oversized-header, mislabelled and odd-shaped files made from real photos."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

from harness import (DATA, VGG_FILE, EITHER, OK, REFUSE, SCALE, Case, assert_no_problems, bit_flips, make_fifo, problems,
                     run_batch, run_cli, truncations)


def _jpeg_claiming(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF) saying another size; the data stays 13-100 KB."""
    b, i = bytearray(data), 2
    while i < len(b):
        marker, length = b[i + 1], struct.unpack(">H", b[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            b[i + 5:i + 9] = struct.pack(">HH", height, width)
            return bytes(b)
        i += 2 + length
    raise ValueError("no SOF marker")


def _png_claiming(data: bytes, width: int, height: int) -> bytes:
    ihdr = data[12:16] + struct.pack(">II", width, height) + data[24:29]
    return data[:8] + data[8:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]


def image_inputs(sandbox) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, what the CLI must do with it)."""
    photo = cv2.imread(str(DATA / "content" / "japanese_garden.jpg"))
    small = cv2.resize(photo, (96, 50), interpolation=cv2.INTER_AREA)
    jpeg = (DATA / "content" / "japanese_garden.jpg").read_bytes()
    encoded = {ext: cv2.imencode(ext, small)[1].tobytes() for ext in (".png", ".bmp", ".webp", ".tiff")}
    small_jpeg = cv2.imencode(".jpg", small)[1].tobytes()
    cases: dict[str, tuple[bytes, str]] = {}
    for ext, data in {".jpg": jpeg, **encoded}.items():
        for name, cut in truncations(data).items():
            cases[f"{name}{ext}"] = (cut, EITHER if name in ("cut90", "cut99") else REFUSE)
    for ext, data in ((".jpg", small_jpeg), (".png", encoded[".png"])):
        for name, flipped in bit_flips(data, 5 * SCALE, seed=len(ext), start=2).items():
            cases[f"{name}{ext}"] = (flipped, EITHER)
    for w, h, expect in ((20000, 20000, REFUSE), (65000, 65000, REFUSE), (9000, 9000, EITHER), (12000, 6000, EITHER),
                         (1, 65000, EITHER)):
        cases[f"claims_{w}x{h}.jpg"] = (_jpeg_claiming(small_jpeg, w, h), expect)
    for w, h in ((100000, 100000), (30000, 30000), (2**31 - 1, 1), (0, 0)):
        cases[f"claims_{w}x{h}.png"] = (_png_claiming(encoded[".png"], w, h), REFUSE)
    bmp = bytearray(encoded[".bmp"])
    bmp[18:26] = struct.pack("<ii", 100000, 100000)
    cases["claims_100000.bmp"] = (bytes(bmp), REFUSE)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    rgba = cv2.cvtColor(small, cv2.COLOR_BGR2BGRA)
    for name, image in {"grey.png": grey, "rgba.png": rgba, "deep16.png": small.astype(np.uint16) * 257,
                        "one_pixel.png": small[:1, :1], "one_row.png": small[:1], "one_column.png": small[:, :1],
                        "odd_7x5.png": small[:5, :7], "tall.png": cv2.resize(small, (3, 400))}.items():
        cases[name] = (cv2.imencode(".png", image)[1].tobytes(), OK)
    cases["jpeg_named.png"] = (small_jpeg, OK)
    cases["png_named.jpg"] = (encoded[".png"], OK)
    cases["spaces and ünïcode.jpg"] = (small_jpeg, OK)
    cases["empty.jpg"] = (b"", REFUSE)
    cases["text.jpg"] = (b"this is a photo, honestly\n" * 10, REFUSE)
    cases["html.png"] = (b"<html><body>404 not found</body></html>", REFUSE)
    cases["weights_file.jpg"] = (VGG_FILE.read_bytes()[:4096], REFUSE)
    cases["clip.mp4"] = ((DATA / "video").glob("*.mp4").__next__().read_bytes()[:200_000], REFUSE)
    cases["zeros.png"] = (bytes(5000), REFUSE)
    return cases


def test_every_bad_image_is_refused_alone_and_a_batch_goes_on(sandbox, random_style):
    inputs = image_inputs(sandbox)
    paths = {name: sandbox.add(name, data) for name, (data, _) in inputs.items()}
    (sandbox.inputs / "folder.jpg").mkdir()
    link = sandbox.inputs / "dangling.png"
    link.symlink_to(sandbox.inputs / "nowhere.png")
    extra = {"folder.jpg": REFUSE, "dangling.png": REFUSE}
    style = ["--style", str(random_style), "--runtime", "torch", "--device", "cpu", "--max-side", "128"]
    cases = [Case(f"image {name}", ["stylize", str(sandbox.inputs / name), *style, "-o",
                                    str(sandbox.out / f"{i:03d}.png")], expect)
             for i, (name, expect) in enumerate({**{n: e for n, (_, e) in inputs.items()}, **extra}.items())]
    assert len(cases) >= 60
    # The same files in one batch: each bad one is named once, the good ones are all written.
    every = [str(sandbox.inputs / n) for n in [*inputs, *extra]]
    batch = Case("one batch of all", ["stylize", *every, *style, "-o", str(sandbox.out / "batch")], REFUSE,
                 timeout=300)
    outcomes = run_batch(sandbox, [*cases, batch])
    assert_no_problems(outcomes[:-1], sandbox, minimum=60)
    assert len(outcomes) == len(cases) + 1
    singles = {o.case.name[len("image "):]: o.rc for o in outcomes[:-1]}
    err = outcomes[-1].stderr.splitlines()
    for name, rc in singles.items():
        named = [line for line in err if line.startswith(f"error: {sandbox.inputs / name}")]
        assert len(named) == (1 if rc else 0), (name, rc, named)
    written = sorted(p.name for p in (sandbox.out / "batch").iterdir())
    assert len(written) == sum(1 for rc in singles.values() if rc == 0)
    assert not any(p.name.startswith(".") for p in (sandbox.out / "batch").iterdir())
    assert paths  # the inputs: unchanged, checked by assert_no_problems


def test_a_fifo_or_an_oversized_image_on_its_own_command_line(sandbox, random_style):
    """End to end in a real process: a FIFO is refused at once, a 13 KB JPEG claiming 20000x20000 in a few
    hundred MB at most (the address-space limit of the child would stop a 3 GB decode)."""
    fifo = make_fifo(sandbox.inputs / "pipe.jpg")
    small = cv2.imencode(".jpg", cv2.resize(cv2.imread(str(DATA / "content" / "tubingen.jpg")), (96, 72)))[1]
    bomb = sandbox.add("bomb.jpg", _jpeg_claiming(small.tobytes(), 20000, 20000))
    style = ["--style", str(random_style), "--runtime", "torch", "--device", "cpu", "--max-side", "128"]
    for source in (fifo, bomb):
        outcome = run_cli(sandbox, Case(f"alone {source.name}", ["stylize", str(source), *style, "-o",
                                                                 str(sandbox.out / "x.png")], REFUSE, timeout=120))
        assert not problems(outcome, sandbox), problems(outcome, sandbox)
