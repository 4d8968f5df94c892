import pytest
import torch

from nstvideo.core.transformer_net import NETWORKS, LiteNet, TransformerNet, build_network, channels_for


@pytest.mark.parametrize("network", sorted(NETWORKS))
@pytest.mark.parametrize("width", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("size", [(339, 641), (241, 321), (1, 7), (64, 64), (33, 2)])
def test_output_has_the_input_size(network, width, size):
    net = build_network(network, width, 2).eval()
    with torch.no_grad():
        y = net(torch.rand(1, 3, *size))
    assert y.shape == (1, 3, *size)


def test_width_scales_channels_and_parameters():
    assert channels_for(1.0) == (32, 64, 128)
    assert channels_for(0.5) == (16, 32, 64)
    full = sum(p.numel() for p in TransformerNet(1.0).parameters())
    half = sum(p.numel() for p in TransformerNet(0.5).parameters())
    assert 3.5 < full / half < 4.1  # parameters grow with width squared
    with pytest.raises(ValueError):
        channels_for(0)


def test_instance_norm_keeps_no_running_statistics():
    keys = TransformerNet(0.25).state_dict().keys()
    assert not [k for k in keys if "running" in k or "num_batches" in k]


def test_batch_items_are_independent():
    """Instance norm: an image's output must not depend on the other images in its batch."""
    net = TransformerNet(0.25).eval()
    a, b = torch.rand(1, 3, 40, 52), torch.rand(1, 3, 40, 52)
    with torch.no_grad():
        alone = net(a)
        together = net(torch.cat([a, b]))[:1]
    torch.testing.assert_close(alone, together, rtol=1e-4, atol=1e-5)


def test_bfloat16_and_channels_last_run_and_match_float32():
    net = TransformerNet(0.25).eval()
    x = torch.rand(1, 3, 48, 60)
    with torch.no_grad():
        ref = net(x)
        cl = net.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
        bf = net.to(torch.bfloat16)(x.to(torch.bfloat16))
    torch.testing.assert_close(cl, ref, rtol=1e-4, atol=1e-4)
    assert bf.dtype == torch.bfloat16
    assert (bf.float() - ref).abs().mean() < 0.05


def test_the_lite_network_keeps_nothing_but_rgb_at_full_resolution():
    """Every layer's output but the last is at half resolution or less: what makes it cheap on a CPU."""
    net = LiteNet().eval()
    x = torch.rand(1, 3, 64, 96)
    sizes = []
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.append((o.shape[1], o.shape[-1])))
             for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        y = net(x)
    for h in hooks:
        h.remove()
    assert sizes[-1] == (3, 96) and all(w <= 48 for _, w in sizes[:-1]), sizes
    assert y.shape == x.shape
    assert LiteNet.architecture != TransformerNet.architecture


def test_an_unknown_network_is_refused():
    with pytest.raises(ValueError, match="unknown network"):
        build_network("resnet", 1.0, 5)
