"""Training photos decoded once into one uint8 tensor; random crops and flips are cut from it per batch.

Decoding JPEGs with PIL on every step costs more than a training step of a small network on a CPU; a
2,000-photo set at 288 px is about 500 MB as uint8 and fits in RAM (and in GPU memory, where the crops
are then cut without touching the host).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from .errors import DatasetError, InputError
from .images import IMAGE_SUFFIXES, read_image, resize_short_side

log = logging.getLogger(__name__)

MIN_IMAGES = 2
# Cached squares are this much larger than the crop, so crops move around the picture.
CROP_MARGIN = 1.125


def find_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"dataset folder {folder} does not exist; pass a folder of photos with --dataset", folder)
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _square(image: np.ndarray, side: int) -> np.ndarray:
    """Resize so the short side is ``side``, then centre-crop to ``side`` x ``side``."""
    resized = resize_short_side(image, side)
    h, w = resized.shape[:2]
    top, left = (h - side) // 2, (w - side) // 2
    return resized[top:top + side, left:left + side]


class PhotoCache:
    """All photos of a folder as a uint8 RGB Nx3xSxS tensor; S is ``side``, by default crop size x CROP_MARGIN.

    A ``side`` well above the crop size cuts crops from photos at a larger scale (a part of a scene, not
    the whole of it), for a network that will paint frames larger than its training crops.
    """

    def __init__(self, folder: str | Path, crop_size: int, device: torch.device | str = "cpu",
                 side: int | None = None):
        folder = Path(folder)
        paths = find_images(folder)
        self.crop_size = crop_size
        self.side = side or round(crop_size * CROP_MARGIN)
        if self.side < crop_size:
            raise DatasetError(f"photos scaled to {self.side} px cannot give {crop_size} px crops; "
                               "raise the photo size or lower the crop size", folder)
        images, self.skipped = [], []
        for path in paths:
            try:
                image = read_image(path)
            except InputError as exc:
                self.skipped.append(path)
                log.info("skipping %s", exc)  # counted in the summary; each one with -v
                continue
            images.append(_square(image, self.side)[..., ::-1])  # BGR -> RGB
        if len(images) < MIN_IMAGES:
            raise DatasetError(
                f"{folder} has {len(images)} readable image(s) ({len(self.skipped)} unreadable); training needs at "
                f"least {MIN_IMAGES}, and a few thousand photos give the best results",
                folder,
            )
        self.images = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous().to(device)

    def __len__(self) -> int:
        return self.images.shape[0]

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """A uint8 RGB batch of random crops, half of them mirrored; the generator makes runs repeatable."""
        n, s, c = len(self), self.side, self.crop_size
        idx = torch.randint(n, (batch_size,), generator=generator)
        offsets = torch.randint(s - c + 1, (batch_size, 2), generator=generator)
        flips = torch.rand(batch_size, generator=generator) < 0.5
        crops = []
        for i in range(batch_size):
            y, x = offsets[i].tolist()
            crop = self.images[idx[i], :, y:y + c, x:x + c]
            crops.append(crop.flip(-1) if flips[i] else crop)
        return torch.stack(crops)
