"""Wang et al. 2020's compound regularization: zero for a network that moves with its input, positive otherwise."""
import torch

from nstvideo.core import pixels
from nstvideo.core.stability_loss import compound_loss, random_flow


def test_the_random_flow_is_smooth_and_about_eight_pixels():
    flow = random_flow(4, 128, 160, torch.Generator().manual_seed(0))
    assert flow.shape == (4, 2, 128, 160)
    assert 2 < flow.abs().mean() < 16
    step = (flow[..., 1:] - flow[..., :-1]).abs().max()
    assert step < 1.0  # neighbours move together: no tearing


def test_zero_for_an_identity_network_and_positive_for_a_real_style(photo):
    from nstvideo.core.styles import load_style, resolve_style
    x = pixels.to_tensor(photo)
    identity = torch.nn.Identity()
    assert compound_loss(identity, x, identity(x), torch.Generator().manual_seed(0), noise=0.0).item() < 1e-6
    model, _ = load_style(resolve_style("starry_night"))
    with torch.no_grad():
        y = model(x)
        loss = compound_loss(model, x, y, torch.Generator().manual_seed(0)).item()
    assert loss > 0.01
