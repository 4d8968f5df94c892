import pytest
import torch

from nstvideo.core import losses


def test_gram_matrix_by_hand():
    # C=2, H=1, W=3: F = [[1, 2, 3], [0, 1, -1]]
    f = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]]).view(1, 2, 1, 3)
    expected = torch.tensor([[14.0, -1.0], [-1.0, 2.0]]) / (2 * 1 * 3)
    torch.testing.assert_close(losses.gram_matrix(f)[0], expected)


def test_gram_is_float32_under_bfloat16_autocast():
    f = torch.rand(2, 8, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        g = losses.gram_matrix(f.to(torch.bfloat16) * 300)
    assert g.dtype == torch.float32
    ref = losses.gram_matrix((f.to(torch.bfloat16) * 300).float())
    torch.testing.assert_close(g, ref)


def test_style_loss_sums_squared_gram_errors_over_layers_and_broadcasts_the_target():
    a = {"x": torch.ones(2, 3, 3), "y": torch.zeros(2, 4, 4)}
    t = {"x": torch.zeros(1, 3, 3), "y": torch.ones(1, 4, 4)}
    assert losses.style_loss(a, t).item() == pytest.approx(9 + 16)
    assert losses.style_loss(a, a).item() == 0


def test_content_and_tv_loss():
    x = torch.zeros(1, 1, 2, 2)
    assert losses.content_loss(x, x + 2).item() == pytest.approx(4.0)
    step = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    assert losses.tv_loss(step).item() == pytest.approx(1.0)  # no vertical change, horizontal 1 everywhere
