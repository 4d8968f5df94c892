"""The ``stylize`` job: a list of image files, one style, an output folder."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, NstVideoError
from .images import (check_name_length, check_output, check_target, read_image, refuse_overwriting_input,
                     resize_max_side, write_image)
from .names import safe_name
from .stylize import Stylizer, StyleOptions


@dataclass(frozen=True)
class StylizeConfig:
    """Exactly one of ``output`` (a file, one input only) and ``out_dir`` (a folder)."""

    inputs: tuple[Path, ...]
    style: str
    out_dir: Path | None = None
    output: Path | None = None
    max_side: int | None = None
    options: StyleOptions = field(default_factory=StyleOptions)
    device: str = "auto"
    runtime: str = "auto"  # one of device.RUNTIME_CHOICES
    overwrite: bool = False

    def __post_init__(self) -> None:
        check_target(self.output, self.out_dir, len(self.inputs))


def output_path(config: StylizeConfig, source: Path, style_name: str) -> Path:
    if config.output is not None:
        return config.output
    suffix = source.suffix.lower() if source.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp") else ".png"
    return check_name_length(config.out_dir / f"{source.stem}_{safe_name(style_name, 'the style name')}{suffix}")


def stylize_files(
    config: StylizeConfig, on_done: Callable[[Path, Path | NstVideoError], None] | None = None
) -> tuple[list[Path], dict[Path, NstVideoError]]:
    """Stylize every input; a bad input is reported and skipped, the others still get written.

    Returns the written paths and the failures by input.
    """
    stylizer = Stylizer.from_style(config.style, config.device, runtime=config.runtime)
    written: list[Path] = []
    failed: dict[Path, NstVideoError] = {}
    for source in config.inputs:
        try:
            target = output_path(config, source, stylizer.name)
            refuse_overwriting_input(source, target)
            if target in written:
                raise InputError(f"{source} would be written to {target} too, over another input's result; "
                                 "rename one of them or stylize them separately", source)
            check_output(target, config.overwrite)  # before the work, not after
            image = resize_max_side(read_image(source), config.max_side)
            result = stylizer.stylize_image(image, config.options)
            write_image(target, result, config.overwrite)
        except NstVideoError as exc:
            failed[source] = exc
            if on_done:
                on_done(source, exc)
            continue
        written.append(target)
        if on_done:
            on_done(source, target)
    return written, failed
