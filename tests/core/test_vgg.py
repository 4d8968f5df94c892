import pytest
import torch
from safetensors.torch import load_file, save_file

from nstvideo.core import vgg as V
from nstvideo.core.errors import ModelLoadError


def test_both_weight_sources_give_identical_features_for_the_same_weights(vgg_file, tmp_path, photo):
    """Caffe safetensors and a torchvision-layout .pth holding the same tensors build the same network."""
    caffe_state, convention = V.load_weight_file(vgg_file)
    assert convention == "caffe"
    torchvision_layout = {
        f"features.{V._TORCHVISION_INDEX[name]}.{kind}": caffe_state[f"{name}.{kind}"].clone()
        for name in V.CONV_NAMES for kind in ("weight", "bias")
    }
    torchvision_layout["classifier.0.weight"] = torch.zeros(4, 4)  # a real vgg16 state dict has these too
    pth = tmp_path / "vgg16-torchvision-layout.pth"
    torch.save(torchvision_layout, pth)
    tv_state, tv_convention = V.load_weight_file(pth)
    assert tv_convention == "torchvision"

    from nstvideo.core.pixels import to_tensor
    x = to_tensor(photo)
    a = V.VGG16Features(caffe_state, "caffe")(x, V.LAYER_NAMES)
    b = V.VGG16Features(tv_state, "caffe")(x, V.LAYER_NAMES)
    assert a.keys() == b.keys() == set(V.LAYER_NAMES)
    for name in V.LAYER_NAMES:
        assert torch.equal(a[name], b[name]), name
    assert a["relu4_3"].shape[-2:] == (x.shape[-2] // 8, x.shape[-1] // 8)


def test_conventions_feed_their_own_normalisation(vgg_file, photo):
    from nstvideo.core.pixels import to_tensor
    state, _ = V.load_weight_file(vgg_file)
    x = to_tensor(photo)
    caffe = V.VGG16Features(state, "caffe")(x, ["relu1_1"])["relu1_1"]
    tv = V.VGG16Features(state, "torchvision")(x, ["relu1_1"])["relu1_1"]
    assert not torch.allclose(caffe, tv)


def test_wrong_shape_file_is_refused(vgg_file, tmp_path):
    state = load_file(vgg_file)
    state["conv2_1.weight"] = state["conv2_1.weight"][:, :32].contiguous()
    bad = tmp_path / "bad.safetensors"
    save_file(state, bad, metadata={"input": "caffe"})
    with pytest.raises(ModelLoadError, match=r"conv2_1.weight has shape"):
        V.load_vgg(bad)


def test_file_without_a_layer_and_missing_file(vgg_file, tmp_path):
    state = load_file(vgg_file)
    del state["conv4_3.bias"]
    bad = tmp_path / "short.safetensors"
    save_file(state, bad, metadata={"input": "caffe"})
    with pytest.raises(ModelLoadError, match="conv4_3.bias"):
        V.load_vgg(bad)
    with pytest.raises(ModelLoadError, match="NSTVIDEO_VGG_WEIGHTS"):
        V.load_vgg(tmp_path / "absent.safetensors")


def test_environment_variable_is_used(vgg_file, monkeypatch):
    monkeypatch.setenv(V.ENV_VAR, str(vgg_file))
    net = V.load_vgg()
    assert net.convention == "caffe" and not net.training
    assert all(not p.requires_grad for p in net.parameters())


def test_only_layers_up_to_relu4_3_exist_and_unknown_names_fail(vgg):
    assert len(vgg.convs) == 10
    with pytest.raises(ValueError, match="relu5_1"):
        vgg(torch.rand(1, 3, 32, 32), ["relu5_1"])


def test_no_weights_anywhere_names_both_ways_out(tmp_path, monkeypatch):
    """No --vgg-weights, no $NSTVIDEO_VGG_WEIGHTS, no cached download, no network: one clear error."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # the discard port: the download fails at once
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(ModelLoadError) as err:
        V.load_vgg()
    message = str(err.value)
    assert "--vgg-weights" in message and "NSTVIDEO_VGG_WEIGHTS" in message and "IMAGENET1K_V1" in message


def test_torchvision_layout_safetensors_is_remapped(vgg_file, tmp_path):
    state = load_file(vgg_file)
    layout = {f"features.{V._TORCHVISION_INDEX[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in state.items()}
    path = tmp_path / "tv.safetensors"
    save_file(layout, path, metadata={"input": "torchvision"})
    loaded, convention = V.load_weight_file(path)
    assert convention == "torchvision" and torch.equal(loaded["conv3_2.weight"], state["conv3_2.weight"])
