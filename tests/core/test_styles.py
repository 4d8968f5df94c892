import pytest
import torch

from nstvideo.core import styles as S
from nstvideo.core.errors import InputError, ModelLoadError, OutputExistsError, StyleNotFoundError
from nstvideo.core.transformer_net import LiteNet, TransformerNet


def _info(**kw):
    base = dict(name="picasso", title="Self-Portrait", artist="Pablo Picasso", year="1907",
                rights="PD in the US only", iterations=123, recipe={"image_size": 128, "lr": 1e-3})
    return S.StyleInfo(**{**base, **kw})


def test_round_trip_keeps_weights_in_fp16_and_the_metadata(tmp_path):
    torch.manual_seed(0)
    model = TransformerNet(width=0.5).eval()
    path = S.save_style(tmp_path / "p.safetensors", model, _info())
    loaded, info = S.load_style(path)
    assert info.name == "picasso" and info.artist == "Pablo Picasso" and info.width == 0.5
    assert info.iterations == 123 and info.recipe == {"image_size": 128, "lr": 1e-3}
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value.half().float())
    x = torch.rand(1, 3, 37, 29)
    with torch.no_grad():
        assert (loaded(x) - model(x)).abs().max() < 2e-2
    with pytest.raises(OutputExistsError):
        S.save_style(path, model, _info())


def test_a_lite_network_round_trips_as_itself(tmp_path):
    model = LiteNet(1.0, residual_blocks=3).eval()
    loaded, info = S.load_style(S.save_style(tmp_path / "lite.safetensors", model, _info()))
    assert isinstance(loaded, LiteNet) and info.architecture == "lite_net" and info.residual_blocks == 3
    x = torch.rand(1, 3, 37, 29)
    with torch.no_grad():
        assert (loaded(x) - model(x)).abs().max() < 2e-2


def test_width_one_file_is_under_the_4_mb_budget(tmp_path):
    path = S.save_style(tmp_path / "full.safetensors", TransformerNet(1.0), _info())
    assert path.stat().st_size < 4_000_000


def test_corrupt_truncated_and_foreign_files_are_refused(tmp_path, random_style):
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(random_style.read_bytes()[:5000])
    with pytest.raises(ModelLoadError, match="corrupt or truncated"):
        S.load_style(truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"this is not a model")
    with pytest.raises(ModelLoadError, match="corrupt or truncated"):
        S.load_style(garbage)
    from safetensors.torch import save_file
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, other, metadata={"format": S.FORMAT, "architecture": "adain"})
    with pytest.raises(ModelLoadError, match="'adain' network"):
        S.load_style(other)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, plain)
    with pytest.raises(ModelLoadError, match="import-pth"):
        S.load_style(plain)
    lying = tmp_path / "lying.safetensors"
    state = {k: v.half() for k, v in TransformerNet(0.25).state_dict().items()}
    save_file(state, lying, metadata={**_info().to_metadata(), "width": "1.0"})
    with pytest.raises(ModelLoadError, match="does not match its declared architecture"):
        S.load_style(lying)
    with pytest.raises(InputError, match="does not exist"):
        S.load_style(tmp_path / "absent.safetensors")


def test_names_resolve_from_the_user_folder_and_unknown_names_suggest(tmp_path):
    S.save_style(S.user_style_dir() / "my_night.safetensors", TransformerNet(0.25), _info(name="my_night"))
    assert S.resolve_style("my_night") == S.user_style_dir() / "my_night.safetensors"
    assert "my_night" in S.installed_styles()
    with pytest.raises(StyleNotFoundError) as err:
        S.resolve_style("my_nigth")
    assert "my_night" in err.value.suggestions and "did you mean" in str(err.value)


def _examples_state(width=1.0):
    """A state dict laid out as pytorch/examples' fast_neural_style saves it, legacy keys included."""
    torch.manual_seed(1)
    net = TransformerNet(width)
    state = net.state_dict()
    for key in list(state):
        if key.endswith(".weight") and ".in" in key or key.startswith("in"):
            prefix = key.rsplit(".", 1)[0]
            if key.endswith("weight"):
                state[f"{prefix}.running_mean"] = torch.zeros_like(state[key])
                state[f"{prefix}.running_var"] = torch.ones_like(state[key])
    return net.eval(), state


def test_import_pth_reproduces_the_examples_network(tmp_path):
    """pytorch/examples works in 0..255 pixels; the imported style must give the same image in [0, 1]."""
    original, state = _examples_state()
    assert any("running_mean" in k for k in state)
    pth = tmp_path / "mosaic.pth"
    torch.save(state, pth)
    path = S.import_pth(pth, "mosaic")
    assert path == S.user_style_dir() / "mosaic.safetensors"
    imported, info = S.load_style(path)
    assert info.name == "mosaic" and info.recipe["imported_from"] == "mosaic.pth"
    x = torch.rand(1, 3, 45, 61)
    with torch.no_grad():
        expected = original(x * 255).clamp(0, 255) / 255
        got = imported(x).clamp(0, 1)
    assert (got - expected).abs().max() < 2e-2  # fp16 storage


def test_import_pth_refuses_pickled_objects(tmp_path):
    import argparse
    evil = tmp_path / "evil.pth"
    torch.save({"model": argparse.Namespace(a=1)}, evil)  # any non-allowlisted class stands for a payload
    with pytest.raises(ModelLoadError, match="never unpickled"):
        S.import_pth(evil, "evil")
    assert not (S.user_style_dir() / "evil.safetensors").exists()
