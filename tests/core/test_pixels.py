import numpy as np
import pytest
import torch

from nstvideo.core import pixels


def test_uint8_round_trip_is_exact_and_leaves_the_input_alone():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    before = image.copy()
    t = pixels.to_tensor(image)
    assert t.shape == (1, 3, 7, 9) and t.dtype == torch.float32
    assert 0.0 <= t.min() and t.max() <= 1.0
    np.testing.assert_array_equal(pixels.to_image(t), image)
    np.testing.assert_array_equal(image, before)


def test_channel_order_is_rgb_inside_torch():
    bgr = np.zeros((1, 1, 3), np.uint8)
    bgr[0, 0] = (10, 20, 255)  # pure-ish red in OpenCV's BGR
    t = pixels.to_tensor(bgr)
    assert t[0, 0, 0, 0] == 1.0 and t[0, 2, 0, 0] == pytest.approx(10 / 255)


def test_batches_round_trip():
    frames = np.random.default_rng(1).integers(0, 256, (3, 5, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(pixels.to_images(pixels.to_tensor(frames)), frames)


def test_caffe_normalisation_by_hand():
    x = torch.tensor([0.2, 0.4, 1.0]).view(1, 3, 1, 1)  # RGB
    y = pixels.caffe_normalize(x).flatten().tolist()
    assert y == pytest.approx([255 - 103.939, 0.4 * 255 - 116.779, 0.2 * 255 - 123.68], rel=1e-5)
    assert x.flatten().tolist() == pytest.approx([0.2, 0.4, 1.0])


def test_keep_colors_takes_luma_from_the_style_and_chroma_from_the_photo():
    # Values in [0.4, 0.6]: the result (photo + luma difference) stays inside [0, 1], so no clamping can
    # break the identity whatever the generator's state (with [0.25, 0.75] some seeds clamped and failed).
    g = torch.Generator().manual_seed(0)
    photo = torch.rand(1, 3, 8, 8, generator=g) * 0.2 + 0.4
    stylized = torch.rand(1, 3, 8, 8, generator=g) * 0.2 + 0.4
    out = pixels.keep_colors(stylized, photo)
    torch.testing.assert_close(pixels.luminance(out), pixels.luminance(stylized))
    # chroma = RGB minus its luma: unchanged from the photo
    torch.testing.assert_close(out - pixels.luminance(out), photo - pixels.luminance(photo))


def test_blend_endpoints():
    a, b = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    assert pixels.blend(b, a, 1.0).equal(b)
    assert pixels.blend(b, a, 0.0).equal(a)
    assert pixels.blend(b, a, 0.25).mean().item() == pytest.approx(0.25)


def test_the_opencv_conversions_give_the_bytes_the_torch_ones_do():
    """float32 on the CPU goes through OpenCV (fewer copies); float64 through torch: the same bytes."""
    g = torch.Generator().manual_seed(3)
    y = torch.rand(2, 3, 17, 23, generator=g) * 1.4 - 0.2  # out of range on both sides, as a network gives
    y[0, 0, 0, :4] = torch.tensor([0.5 / 255, 1.5 / 255, 2.5 / 255, 254.5 / 255])  # halves: round to even
    np.testing.assert_array_equal(pixels.to_images(y), pixels.to_images(y.double()))
    frames = np.random.default_rng(2).integers(0, 256, (2, 17, 23, 3), dtype=np.uint8)
    torch.testing.assert_close(pixels.to_tensor(frames), pixels.to_tensor(frames, dtype=torch.float64).float())
    view = frames[:, ::2, 1:]  # not contiguous
    assert pixels.to_tensor(view).shape == (2, 3, 9, 22)
    np.testing.assert_array_equal(pixels.to_images(pixels.to_tensor(view)), view)
