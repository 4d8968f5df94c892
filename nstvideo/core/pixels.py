"""The one place that owns pixel conventions.

Images outside torch are ``uint8`` BGR ``HxWx3`` arrays (OpenCV's convention). Inside torch they are
``float32`` RGB ``Nx3xHxW`` tensors in [0, 1]: TransformerNet takes and returns this range, and the VGG
loss network converts it to whichever input convention its weights were trained with. Nothing here
changes its input in place.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

MAX_U8 = 255.0

# Caffe VGG16 (Simonyan & Zisserman): BGR, 0..255, minus the mean, no std.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# torchvision ImageNet weights: RGB, 0..1, minus mean, divided by std.
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)

# ITU-R BT.601 luma, the Y of YIQ/YCbCr used for luminance-only transfer (Gatys et al. 2016).
_LUMA_RGB = (0.299, 0.587, 0.114)


def to_tensor(image: np.ndarray, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 BGR HxWx3 (or NxHxWx3) -> float RGB Nx3xHxW in [0, 1] on ``device``."""
    if image.dtype != np.uint8 or image.shape[-1] != 3:
        raise ValueError(f"expected a uint8 BGR image with 3 channels, got {image.dtype} {image.shape}")
    batch = image[None] if image.ndim == 3 else image
    if dtype == torch.float32:
        # One pass in OpenCV (swap, scale, transpose) instead of four full copies in torch: 0.7 ms against
        # 2-23 ms for a 640x360 frame, the more so when other threads compete for the cores.
        return torch.from_numpy(cv2.dnn.blobFromImages(list(batch), 1.0 / MAX_U8, swapRB=True)).to(device)
    t = torch.from_numpy(np.ascontiguousarray(batch[..., ::-1])).to(device)
    return t.permute(0, 3, 1, 2).to(dtype).div(MAX_U8).contiguous()


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """float RGB 1x3xHxW or 3xHxW in [0, 1] (clamped) -> uint8 BGR HxWx3."""
    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise ValueError("to_image takes one image; use to_images for a batch")
        tensor = tensor[0]
    return to_images(tensor[None])[0]


def to_images(tensor: torch.Tensor) -> np.ndarray:
    """float RGB Nx3xHxW in [0, 1] (clamped) -> uint8 BGR NxHxWx3."""
    if tensor.device.type == "cpu" and tensor.dtype == torch.float32:
        # Two passes in OpenCV (channels swapped and interleaved, then scaled, rounded and saturated)
        # where torch makes five copies: the same bytes (rounding half to even in both).
        out = np.empty((tensor.shape[0], tensor.shape[2], tensor.shape[3], 3), np.uint8)
        for i, planes in enumerate(tensor.detach().numpy()):
            bgr = cv2.merge([planes[2], planes[1], planes[0]])
            np.maximum(bgr, 0.0, out=bgr)  # convertScaleAbs would turn negatives positive
            cv2.convertScaleAbs(bgr, out[i], alpha=MAX_U8)
        return out
    t = tensor.detach().float().clamp(0.0, 1.0).mul(MAX_U8).round().to(torch.uint8)
    return np.ascontiguousarray(t.permute(0, 2, 3, 1).flip(-1).cpu().numpy())


def uint8_to_unit(batch: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 RGB Nx3xHxW tensor (as cached for training) -> float in [0, 1]."""
    return batch.to(dtype).div(MAX_U8)


def caffe_normalize(x: torch.Tensor) -> torch.Tensor:
    """RGB [0, 1] -> the Caffe VGG input: BGR, 0..255, mean subtracted."""
    mean = x.new_tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    return x.flip(1) * MAX_U8 - mean


def imagenet_normalize(x: torch.Tensor) -> torch.Tensor:
    """RGB [0, 1] -> torchvision's VGG input: RGB, (x - mean) / std."""
    mean = x.new_tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1)
    std = x.new_tensor(IMAGENET_STD_RGB).view(1, 3, 1, 1)
    return (x - mean) / std


def luminance(x: torch.Tensor) -> torch.Tensor:
    """RGB Nx3xHxW -> luma Nx1xHxW."""
    w = x.new_tensor(_LUMA_RGB).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def keep_colors(stylized: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Luminance of ``stylized`` with the chroma of ``original`` (Gatys et al. 2016, "Preserving colour").

    Adding the luma difference to every RGB channel keeps the original's chroma exactly in YCbCr/YIQ,
    because both chroma axes are orthogonal to (1, 1, 1).
    """
    return (original + (luminance(stylized) - luminance(original))).clamp(0.0, 1.0)


def blend(stylized: torch.Tensor, original: torch.Tensor, strength: float) -> torch.Tensor:
    """Linear mix: strength 1 is the full style, 0 the untouched photo."""
    if strength >= 1.0:
        return stylized
    return torch.lerp(original, stylized, strength)
