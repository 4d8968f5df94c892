"""Colours and geometry of converted videos, read back the way a player does: by the file's own tags.

The inputs are real frames (pancake_kitchen, chaplin_street) with pure colour patches painted in, encoded
here with PyAV's converter and tags set by hand, so nothing in them comes from nstvideo's colour code.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation

from nstvideo.core.stylize import StyleOptions
from nstvideo.video.convert import ConvertConfig, convert_files
from nstvideo.video.frame import Frame
from nstvideo.video.writer import VideoWriter

# AVColorSpace tag -> the name PyAV's converter takes; what a player reads from the file.
MATRIX_NAMES = {1: "ITU709", 5: "ITU601", 6: "SMPTE170M"}
LIMITED, FULL = 1, 2
GREEN, RED, BLUE = (0, 255, 0), (0, 0, 255), (255, 0, 0)  # BGR
PATCH = 48  # px, even so 4:2:0 chroma does not straddle a patch edge
EXACT = Interpolation.BILINEAR | Interpolation.ACCURATE_RND  # so the test's own conversions add no error


def real_frames(video_dir: Path, name: str, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """The first ``count`` frames of a real clip, scaled to ``size``, with pure green/red/blue patches."""
    frames = []
    with av.open(str(video_dir / name)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="bgr24", width=size[0], height=size[1])
            for i, colour in enumerate((GREEN, RED, BLUE)):
                image[PATCH:2 * PATCH, (2 * i + 1) * PATCH:(2 * i + 2) * PATCH] = colour
            frames.append(image)
            if len(frames) == count:
                return frames
    raise AssertionError(f"{name} has fewer than {count} frames")


def encode(path: Path, images: list[np.ndarray], *, matrix: str | None, colour_range: int = LIMITED,
           tag: int | None = None, sar: Fraction | None = None) -> Path:
    """Losslessly encoded H.264 of ``images`` converted with ``matrix`` and ``colour_range``, tagged ``tag``
    (None: untagged, the converter's default matrix)."""
    height, width = images[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if tag is not None:
            cc = stream.codec_context
            cc.colorspace = cc.color_primaries = cc.color_trc = tag
            cc.color_range = colour_range
        if sar is not None:
            stream.codec_context.sample_aspect_ratio = sar
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame = frame.reformat(format="yuv420p", dst_colorspace=matrix, dst_color_range=colour_range,
                                 interpolation=EXACT)
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def play(path: Path) -> tuple[np.ndarray, dict]:
    """The first frame as a player shows it (matrix and range from the file's tags; untagged HD as
    BT.709, untagged SD as BT.601, as mpv does) and the stream's tags and aspect ratio."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        frame = next(container.decode(stream))
        hd = frame.width >= 1280 or frame.height > 576
        matrix = MATRIX_NAMES.get(cc.colorspace, "ITU709" if hd else "ITU601")
        image = frame.to_ndarray(format="bgr24", src_colorspace=matrix,
                                 src_color_range=FULL if cc.color_range == FULL else LIMITED, interpolation=EXACT)
        tags = {"matrix": cc.colorspace, "range": cc.color_range, "primaries": cc.color_primaries,
                "trc": cc.color_trc, "sar": stream.sample_aspect_ratio or cc.sample_aspect_ratio,
                "size": (frame.width, frame.height)}
    return image, tags


def patches(image: np.ndarray, scale: float = 1.0) -> list[np.ndarray]:
    """The mean BGR of the middle of each colour patch (the frame may have been shrunk by ``scale``)."""
    means = []
    for i in range(3):
        y0, y1 = round(PATCH * scale), round(2 * PATCH * scale)
        x0, x1 = round((2 * i + 1) * PATCH * scale), round((2 * i + 2) * PATCH * scale)
        m = max(2, (y1 - y0) // 4)
        means.append(image[y0 + m:y1 - m, x0 + m:x1 - m].reshape(-1, 3).mean(axis=0))
    return means


def assert_colours(image: np.ndarray, scale: float = 1.0, levels: float = 4.0) -> None:
    for got, want in zip(patches(image, scale), (GREEN, RED, BLUE)):
        assert np.abs(got - want).max() <= levels, f"patch {want} came back as {np.round(got).tolist()}"


def identity(inputs, style, **kwargs) -> ConvertConfig:
    """A convert job whose output is its input (strength 0), losslessly coded."""
    return ConvertConfig(inputs=tuple(inputs), style=style, preset="ultrafast", device="cpu", runtime="torch", crf=0,
                         options=StyleOptions(strength=0.0), **kwargs)


def test_bt709_hd_clip_keeps_its_colours_and_tags(video_dir, random_style, tmp_path):
    images = real_frames(video_dir, "pancake_kitchen.mp4", (1280, 720), 2)
    src = encode(tmp_path / "hd709.mp4", images, matrix="ITU709", tag=1)
    assert_colours(play(src)[0])  # the test input itself is right
    out = tmp_path / "out.mp4"
    assert convert_files(identity([src], random_style, output=out)).ok
    image, tags = play(out)
    assert (tags["matrix"], tags["range"], tags["primaries"], tags["trc"]) == (1, LIMITED, 1, 1)
    assert_colours(image)


def test_untagged_hd_is_bt709_and_untagged_sd_is_bt601(video_dir, random_style, tmp_path):
    hd = encode(tmp_path / "hd.mp4", real_frames(video_dir, "pancake_kitchen.mp4", (1280, 720), 2),
                matrix="ITU709")
    sd = encode(tmp_path / "sd.mp4", real_frames(video_dir, "pancake_kitchen.mp4", (640, 360), 2),
                matrix="ITU601")
    summary = convert_files(identity([hd, sd], random_style, out_dir=tmp_path / "out"))
    assert summary.ok
    for source, matrix in ((hd, 1), (sd, 6)):
        image, tags = play(summary.written[source])
        assert tags["matrix"] == matrix and tags["range"] == LIMITED
        assert_colours(image)


def test_full_range_input_stays_full_range(video_dir, random_style, tmp_path):
    src = encode(tmp_path / "full.mp4", real_frames(video_dir, "chaplin_street.mp4", (640, 360), 2),
                 matrix="ITU601", colour_range=FULL, tag=5)
    out = tmp_path / "out.mp4"
    assert convert_files(identity([src], random_style, output=out, max_side=320)).ok
    image, tags = play(out)
    assert (tags["matrix"], tags["range"]) == (5, FULL)
    assert_colours(image, scale=0.5)


def test_anamorphic_clip_keeps_its_sample_aspect_ratio(video_dir, random_style, tmp_path):
    src = encode(tmp_path / "anamorphic.mp4", real_frames(video_dir, "chaplin_street.mp4", (480, 360), 2),
                 matrix="ITU601", tag=6, sar=Fraction(4, 3))  # 480x360 pixels shown as 640x360
    assert play(src)[1]["sar"] == Fraction(4, 3)
    out = tmp_path / "out.mp4"
    assert convert_files(identity([src], random_style, output=out, max_side=240)).ok
    image, tags = play(out)
    assert tags["size"] == (240, 180) and tags["sar"] == Fraction(4, 3)
    assert_colours(image, scale=0.5)


def test_writer_tags_recordings_by_their_size(tmp_path, video_dir):
    """A recording (no input to copy from) is coded and tagged as a player would guess it."""
    for size, matrix in (((1280, 720), 1), ((640, 360), 6)):
        path = tmp_path / f"rec{size[1]}.mp4"
        with VideoWriter(path, crf=0, preset="ultrafast") as writer:
            for i, image in enumerate(real_frames(video_dir, "fox_indoor.mp4", size, 2)):
                writer.write(Frame(image, i / 25, i))
        image, tags = play(path)
        assert tags["matrix"] == matrix
        assert_colours(image)
