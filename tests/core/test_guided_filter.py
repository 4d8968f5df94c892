import cv2
import torch.nn.functional as F

from nstvideo.core.guided_filter import guided_upsample
from nstvideo.core.pixels import to_tensor


def test_edges_come_back_sharper_than_bilinear(photo):
    """Upsampling the photo's own 4x-reduced copy, guided by the full photo, must be closer to the photo
    than bilinear upsampling: the filter restores edges from the guide."""
    full = to_tensor(photo)
    small = F.interpolate(full, scale_factor=0.25, mode="area")
    guided = guided_upsample(small, small, full).clamp(0, 1)
    bilinear = F.interpolate(small, size=full.shape[-2:], mode="bilinear", align_corners=False)
    assert guided.shape == full.shape
    err_guided = (guided - full).abs().mean().item()
    err_bilinear = (bilinear - full).abs().mean().item()
    assert err_guided < 0.8 * err_bilinear, (err_guided, err_bilinear)


def test_brush_size_runs_through_the_stylizer(random_style, photo):
    from nstvideo.core.stylize import Stylizer, StyleOptions
    import pytest
    s = Stylizer.from_style(random_style, "cpu")
    for brush in (1.0, 2.0, 3.5):
        assert s.stylize_image(photo, StyleOptions(brush=brush)).shape == photo.shape
    with pytest.raises(ValueError):
        StyleOptions(brush=0.5)


def test_the_paintings_texture_survives(photo, painting):
    """Strokes the photo does not have (here: the painting itself, upsampled under the photo's guidance)
    keep at least 80% of their fine detail compared with plain bicubic upsampling; a filter that only
    followed the photo's edges would return a smooth image."""
    full = to_tensor(photo)
    h, w = full.shape[-2:]
    small_guide = F.interpolate(full, size=(h // 2, w // 2), mode="area")
    strokes = to_tensor(cv2.resize(painting, (w // 2, h // 2), interpolation=cv2.INTER_AREA))
    guided = guided_upsample(strokes, small_guide, full)
    bicubic = F.interpolate(strokes, size=(h, w), mode="bicubic", align_corners=False)
    detail = lambda x: (x - F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)).abs().mean().item()
    assert detail(guided) > 0.8 * detail(bicubic), (detail(guided), detail(bicubic))
    flat = full.mean().expand_as(full)  # a guide with no edges at all: only the texture term can keep strokes
    on_flat = guided_upsample(strokes, flat[..., : h // 2, : w // 2], flat)
    assert detail(on_flat) > 0.8 * detail(bicubic), (detail(on_flat), detail(bicubic))
