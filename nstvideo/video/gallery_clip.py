"""A video's first seconds painted in several styles at once, side by side with the original: the
moving counterpart of ``core/gallery.contact_sheet`` (``nstvideo gallery VIDEO -o clip.mp4``)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av

from ..core.gallery import fit_height, label_for, labelled_grid
from ..core.stylize import Stylizer
from .convert import decode_error, open_video, probe, timestamp_of, video_stream
from .frame import Frame
from .writer import VideoWriter


def write_style_grid(video: Path, stylizers: Sequence[Stylizer], out: Path, *, seconds: float, height: int,
                     columns: int = 2, crf: int = 26, overwrite: bool = False) -> int:
    """The original and each style, ``columns`` to a row, every frame of the first ``seconds`` at its own
    timestamp (the first at 0), colours and rotation as ``convert`` reads them; returns the frames written.
    The output is whole or absent (``VideoWriter``)."""
    info = probe(video)
    written, start, time = 0, None, None
    with open_video(video) as container, VideoWriter(
            out, crf=crf, preset="slow", frame_rate=info.rate_hint, rotation=info.rotation, rebase=True,
            overwrite=overwrite) as writer:
        stream = video_stream(container, video)
        try:
            for decoded in container.decode(stream):
                time = timestamp_of(decoded, time, info.rate_hint)
                start = time if start is None else start
                if time - start >= seconds:
                    break
                frame = fit_height(info.colour.to_bgr(decoded), height)
                cells = [("original", frame)] + [(label_for(s), s.stylize_image(frame)) for s in stylizers]
                writer.write(Frame(labelled_grid(cells, columns), time, written))
                written += 1
        except av.FFmpegError as exc:
            raise decode_error(video, exc) from exc
        if not written:
            raise decode_error(video, ValueError("no frame could be decoded"))
    return written
