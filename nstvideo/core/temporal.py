"""Temporal consistency of a stylized video: the warping error of Lai et al. 2018.

W.-S. Lai et al., "Learning Blind Video Temporal Consistency", ECCV 2018, as their evaluation code
(``evaluate_WarpError.py``, ``utils.detect_occlusion``) computes it, with one change: the optical flow
is OpenCV's DIS (Kroeger et al. 2016) instead of FlowNet2, so the figures are comparable with each other
but not with the paper's tables.

For each pair of frames (t, t+1):

* forward flow F_fw (t -> t+1) and backward flow F_bw (t+1 -> t) on the *original* frames;
* the stylized frame t+1 is warped back onto frame t with F_fw, bilinearly: W(x) = S_{t+1}(x + F_fw(x));
* a pixel x of frame t is occluded where |F_fw(x) + F_bw(x + F_fw(x))|^2 > 0.01 (|F_fw(x)|^2 +
  |F_bw(x + F_fw(x))|^2) + 0.5, or lies on a motion boundary where |grad F_fw(x)|^2 > 0.01 |F_fw(x)|^2
  + 0.002 (forward differences, as Lai et al.);
* the pair's error is sum over non-occluded x of |W(x) - S_t(x)|^2 / (3 x their count), RGB in [0, 1]
  (every pixel counts when all are occluded, as in their code).

The video's warping error is the mean over pairs. Frames here are uint8 BGR HxWx3 (``pixels.py``).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from . import losses, pixels
from .errors import InputError
from .images import resize_max_side
from .vgg import VGG16Features

DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
FLOW_DESCRIPTION = (f"DIS optical flow (OpenCV {cv2.__version__}, preset medium) on the original frames, "
                    "in place of Lai et al.'s FlowNet2")

# Lai et al.'s thresholds (utils.detect_occlusion).
OCCLUSION_RELATIVE = 0.01
OCCLUSION_ABSOLUTE = 0.5
BOUNDARY_RELATIVE = 0.01
BOUNDARY_ABSOLUTE = 0.002


def make_flow(preset: int = DIS_PRESET) -> cv2.DISOpticalFlow:
    return cv2.DISOpticalFlow_create(preset)


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def flows(dis: cv2.DISOpticalFlow, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(forward, backward) flow, float32 HxWx2 in pixels (dx, dy), between two uint8 BGR frames."""
    a, b = _gray(first), _gray(second)
    return dis.calc(a, b, None), dis.calc(b, a, None)


@functools.lru_cache(maxsize=8)
def _pixel_grid(h: int, w: int) -> np.ndarray:
    """float32 HxWx2 of (x, y) pixel coordinates, cached: the stabilizer warps every frame at one size."""
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), axis=-1)
    grid.flags.writeable = False
    return grid


def warp(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """out(x) = image(x + flow(x)), bilinear unless told, border pixels repeated (FlowNet2's Resample2d
    clamps too)."""
    h, w = flow.shape[:2]
    return cv2.remap(image, _pixel_grid(h, w) + flow, None, interpolation, borderMode=cv2.BORDER_REPLICATE)


def _sq(flow: np.ndarray) -> np.ndarray:
    return flow[..., 0] ** 2 + flow[..., 1] ** 2


def _forward_gradients_sq(flow: np.ndarray) -> np.ndarray:
    """|grad F|^2 with forward differences, zero on the last row and column (Lai et al.)."""
    du = np.zeros_like(flow)
    dv = np.zeros_like(flow)
    du[:, :-1] = flow[:, :-1] - flow[:, 1:]
    dv[:-1, :] = flow[:-1, :] - flow[1:, :]
    return (du ** 2 + dv ** 2).sum(axis=-1)


def occlusion_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """bool HxW, True where pixel x of the first frame is occluded or on a motion boundary."""
    back_at = warp(backward, forward)  # F_bw(x + F_fw(x))
    inconsistent = _sq(forward + back_at) > OCCLUSION_RELATIVE * (_sq(forward) + _sq(back_at)) + OCCLUSION_ABSOLUTE
    boundary = _forward_gradients_sq(forward) > BOUNDARY_RELATIVE * _sq(forward) + BOUNDARY_ABSOLUTE
    return inconsistent | boundary


def pair_warping_error(stylized: np.ndarray, stylized_next: np.ndarray, forward: np.ndarray,
                       occluded: np.ndarray | None) -> float:
    """One pair's error: stylized_next warped onto stylized with ``forward``; ``occluded=None`` counts all."""
    warped = warp(stylized_next, forward).astype(np.float32) / pixels.MAX_U8
    diff = warped - stylized.astype(np.float32) / pixels.MAX_U8
    sq = (diff ** 2).sum(axis=-1)
    keep = np.ones(sq.shape, bool) if occluded is None else ~occluded
    count = int(keep.sum())
    if count == 0:  # everything occluded: Lai et al. then divide by every pixel
        keep, count = np.ones(sq.shape, bool), sq.size
    return float(sq[keep].sum() / (3 * count))


def warping_error(originals: Iterable[np.ndarray], stylized: Iterable[np.ndarray]) -> float:
    """The mean warping error over consecutive pairs of two equally long, same-sized frame sequences."""
    return evaluate(zip(originals, stylized)).warping_error


@dataclass
class TemporalReport:
    """What ``evaluate`` measured. ``fidelity`` and ``style_loss`` are None when not asked for."""

    frames: int
    warping_error: float
    fidelity: float | None = None
    style_loss: float | None = None
    occluded_fraction: float = 0.0  # mean share of pixels left out per pair
    pair_errors: list[float] = field(default_factory=list, repr=False)
    flow: str = FLOW_DESCRIPTION


class _StyleLoss:
    """Mean style loss (``losses.style_loss``) of frames against a painting resized to the frame's longer side."""

    def __init__(self, vgg: VGG16Features, painting: np.ndarray):
        self.vgg, self.painting = vgg, painting
        self.device = next(vgg.parameters()).device
        self.targets: dict[str, torch.Tensor] | None = None
        self.side = 0

    @torch.no_grad()
    def __call__(self, frame: np.ndarray) -> float:
        side = max(frame.shape[:2])
        if self.targets is None or side != self.side:
            s = pixels.to_tensor(resize_max_side(self.painting, side), self.device)
            feats = self.vgg(s, losses.STYLE_LAYERS)
            self.targets, self.side = {k: losses.gram_matrix(feats[k]) for k in losses.STYLE_LAYERS}, side
        feats = self.vgg(pixels.to_tensor(frame, self.device), losses.STYLE_LAYERS)
        return losses.style_loss({k: losses.gram_matrix(feats[k]) for k in losses.STYLE_LAYERS}, self.targets).item()


def evaluate(pairs: Iterable[tuple[np.ndarray, np.ndarray]], *,
             reference: Callable[[np.ndarray], np.ndarray] | None = None,
             vgg: VGG16Features | None = None, painting: np.ndarray | None = None) -> TemporalReport:
    """Warping error (and optionally fidelity and style loss) of (original, stylized) frame pairs, in order.

    Frames are uint8 BGR HxWx3; both frames of a pair must have the same size. ``reference(original)``
    is plain per-frame stylization; ``fidelity`` is then the mean absolute difference, in [0, 1], of the
    stylized frames from it (a blurred or frozen video scores badly here). With ``vgg`` and ``painting``,
    ``style_loss`` is the mean style loss of the stylized frames. Streams: memory does not grow with length.
    """
    if (vgg is None) != (painting is None):
        raise ValueError("style loss needs both vgg and painting")
    style = _StyleLoss(vgg, painting) if vgg is not None else None
    dis = make_flow()
    errors: list[float] = []
    occluded_total = fidelity_total = style_total = 0.0
    frames = 0
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for original, stylized in pairs:
        if original.shape != stylized.shape:
            raise InputError(f"frame {frames}: the original is {original.shape[1]}x{original.shape[0]}, the stylized "
                             f"{stylized.shape[1]}x{stylized.shape[0]}; give frames of the same size")
        if previous is not None:
            if original.shape != previous[0].shape:
                raise InputError(f"frame {frames} changes size ({original.shape[1]}x{original.shape[0]}); "
                                 "the warping error needs frames of one size")
            forward, backward = flows(dis, previous[0], original)
            occluded = occlusion_mask(forward, backward)
            errors.append(pair_warping_error(previous[1], stylized, forward, occluded))
            occluded_total += float(occluded.mean())
        if reference is not None:
            plain = reference(original).astype(np.float32)
            fidelity_total += float(np.abs(stylized.astype(np.float32) - plain).mean() / pixels.MAX_U8)
        if style is not None:
            style_total += style(stylized)
        previous = (original, stylized)
        frames += 1
    if frames < 2:
        raise InputError(f"the warping error needs at least 2 frames, got {frames}")
    return TemporalReport(
        frames=frames, warping_error=float(np.mean(errors)),
        fidelity=fidelity_total / frames if reference is not None else None,
        style_loss=style_total / frames if style is not None else None,
        occluded_fraction=occluded_total / len(errors), pair_errors=errors,
    )
