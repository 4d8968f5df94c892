import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nstvideo.core.guided_filter import guided_upsample, guided_upsample_torch
from nstvideo.core.pixels import to_tensor


def _numpy(small_output, small_guide, guide):
    """The OpenCV version on tensors, so one test body checks both."""
    return torch.from_numpy(guided_upsample(small_output.numpy(), small_guide.numpy(), guide.numpy()))


IMPLEMENTATIONS = pytest.mark.parametrize("upsample", [_numpy, guided_upsample_torch], ids=["opencv", "torch"])


@IMPLEMENTATIONS
def test_edges_come_back_sharper_than_bilinear(photo, upsample):
    """Upsampling the photo's own 4x-reduced copy, guided by the full photo, must be closer to the photo
    than bilinear upsampling: the filter restores edges from the guide."""
    full = to_tensor(photo)
    small = F.interpolate(full, scale_factor=0.25, mode="area")
    guided = upsample(small, small, full).clamp(0, 1)
    bilinear = F.interpolate(small, size=full.shape[-2:], mode="bilinear", align_corners=False)
    assert guided.shape == full.shape
    err_guided = (guided - full).abs().mean().item()
    err_bilinear = (bilinear - full).abs().mean().item()
    assert err_guided < 0.8 * err_bilinear, (err_guided, err_bilinear)


def test_brush_size_runs_through_the_stylizer(random_style, photo):
    from nstvideo.core.stylize import Stylizer, StyleOptions
    s = Stylizer.from_style(random_style, "cpu", )
    for brush in (1.0, 2.0, 3.5, 8.0):
        assert s.stylize_image(photo, StyleOptions(brush=brush)).shape == photo.shape
    tiny = photo[:9, :5]
    assert s.stylize_image(tiny, StyleOptions(brush=8.0)).shape == tiny.shape  # a 1x1 painting
    with pytest.raises(ValueError):
        StyleOptions(brush=0.5)


@IMPLEMENTATIONS
def test_the_paintings_texture_survives(photo, painting, upsample):
    """Strokes the photo does not have (here: the painting itself, upsampled under the photo's guidance)
    keep at least 80% of their fine detail compared with plain bicubic upsampling; a filter that only
    followed the photo's edges would return a smooth image."""
    full = to_tensor(photo)
    h, w = full.shape[-2:]
    small_guide = F.interpolate(full, size=(h // 2, w // 2), mode="area")
    strokes = to_tensor(cv2.resize(painting, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
    guided = upsample(strokes, small_guide, full)
    bicubic = F.interpolate(strokes, size=(h, w), mode="bicubic", align_corners=False)
    detail = lambda x: (x - F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)).abs().mean().item()
    assert detail(guided) > 0.8 * detail(bicubic), (detail(guided), detail(bicubic))
    flat = full.mean().expand_as(full).contiguous()  # a guide with no edges: only the texture term keeps strokes
    on_flat = upsample(strokes, flat[..., : h // 2, : w // 2].contiguous(), flat)
    assert detail(on_flat) > 0.8 * detail(bicubic), (detail(on_flat), detail(bicubic))


@pytest.mark.parametrize("size,small", [((640, 360), (320, 180)), ((641, 361), (183, 103))], ids=["brush2", "odd"])
def test_opencv_matches_torch_on_a_real_photo(data_dir, size, small):
    """The OpenCV upsampler paints what the torch one (the reference since the brush shipped) paints: on
    a real photo guiding a real painting's strokes, a batch of two, an even and an odd brush, every value
    agrees within 1e-4 (0.03 of a level of 255; measured 4e-6) and the uint8 images within one level."""
    from nstvideo.core.images import read_image
    photos = [cv2.resize(read_image(data_dir / "content" / name), size, interpolation=cv2.INTER_AREA)
              for name in ("tubingen.jpg", "portrait_street.jpg")]
    full = to_tensor(np.stack(photos))
    small_guide = F.interpolate(full, size=small[::-1], mode="area")
    painting = read_image(data_dir / "styles" / "starry_night.jpg")
    strokes = to_tensor(np.stack([cv2.resize(painting, small, interpolation=cv2.INTER_AREA)] * 2))
    ours = _numpy(strokes, small_guide, full)
    reference = guided_upsample_torch(strokes, small_guide, full)
    assert ours.shape == reference.shape == full.shape
    assert (ours - reference).abs().max().item() < 1e-4
    to_u8 = lambda t: t.clamp(0, 1).mul(255).round().to(torch.uint8).int()  # noqa: E731
    assert (to_u8(ours) - to_u8(reference)).abs().max().item() <= 1
