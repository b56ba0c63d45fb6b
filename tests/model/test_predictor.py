"""Predictor: verified weights, safe loading, probabilities out."""
from __future__ import annotations

import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from valkit.errors import InputError, IntegrityError
from valkit.model_card import ARCHITECTURES, file_sha256
from valkit.model_card_io import load_model_card, parse_model_card
from valkit.predictor import build_network, load_predictor, resolve_device


def test_predictions_are_probabilities(tiny_card):
    predictor = load_predictor(tiny_card, device="cpu")
    assert predictor.input_shape == (1, 32, 32)
    assert predictor.device == torch.device("cpu")
    assert not predictor.network.training
    assert predictor.weights_sha256 == file_sha256(tiny_card.parent / "model.safetensors")
    assert predictor.threshold == 0.5
    batch = torch.from_numpy(np.random.default_rng(0).normal(size=(5, 1, 32, 32)).astype(np.float32))
    probs = predictor.predict(batch)
    assert probs.shape == (5,) and probs.dtype == np.float64
    assert np.all((probs >= 0) & (probs <= 1))
    assert len(np.unique(probs)) == 5  # the tiny network is not constant
    # eval mode: a case's score does not depend on its batch-mates; no gradient is kept
    np.testing.assert_allclose(predictor.predict(batch[2:3]), probs[2:3], rtol=1e-5)
    assert all(p.grad is None for p in predictor.network.parameters())


def test_predict_checks_shape(tiny_card):
    predictor = load_predictor(tiny_card, device="cpu")
    with pytest.raises(ValueError, match=r"expected a batch of shape \(N, 1, 32, 32\), found \(2, 1, 16, 16\)"):
        predictor.predict(torch.zeros(2, 1, 16, 16))


def test_end_to_end_from_dicom(tiny_card, dicom_writer, ramp):
    predictor = load_predictor(tiny_card, device="auto")
    preprocess = pickle.loads(pickle.dumps(predictor.preprocess))  # DataLoader workers need to pickle it
    x = preprocess(dicom_writer(ramp))
    assert x.shape == predictor.input_shape
    assert 0.0 <= predictor.predict(torch.from_numpy(x)[None])[0] <= 1.0


def test_sha256_mismatch_is_refused_with_both_digests(tiny_card):
    weights = tiny_card.parent / "model.safetensors"
    expected = file_sha256(weights)
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # one flipped bit in the last tensor
    weights.write_bytes(bytes(data))
    actual = file_sha256(weights)
    with pytest.raises(IntegrityError) as info:
        load_predictor(tiny_card, device="cpu")
    message = str(info.value)
    assert f"expected (card): {expected}" in message and f"found (file):    {actual}" in message
    assert "weights.sha256" in message and "Restore the original weights" in message


def _card_for(tmp_path, card_yaml, weights_name: str, payload_path):
    folder = payload_path.parent
    card = folder / "model.yaml"
    card.write_text(card_yaml(weights_name, file_sha256(payload_path)))
    return card


class _Bomb:
    """Unpickling this runs code: os.system would write the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_bomb_is_refused(tmp_path, card_yaml):
    marker = tmp_path / "pwned"
    payload = tmp_path / "model.pt"
    torch.save({"weight": _Bomb(marker)}, payload)
    card = _card_for(tmp_path, card_yaml, "model.pt", payload)  # digest matches: only the format protects us
    with pytest.raises(InputError, match=r"refused to load: .*weights_only=True.*never unpickles arbitrary"):
        load_predictor(card, device="cpu")
    assert not marker.exists()


def test_whole_module_pickle_is_refused(tmp_path, card_yaml, tiny_state):
    import monai.networks.nets as nets

    payload = tmp_path / "model.pth"
    torch.save(nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, init_features=4, growth_rate=4,
                             block_config=(1, 1), bn_size=2), payload)
    with pytest.raises(InputError, match="refused to load"):
        load_predictor(_card_for(tmp_path, card_yaml, "model.pth", payload), device="cpu")


def test_plain_state_dict_loads_with_weights_only(tmp_path, card_yaml, tiny_state, tiny_card):
    payload = tmp_path / "model.pt"
    torch.save(tiny_state, payload)
    from_pt = load_predictor(_card_for(tmp_path, card_yaml, "model.pt", payload), device="cpu")
    from_st = load_predictor(tiny_card, device="cpu")
    x = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(from_pt.predict(x), from_st.predict(x))


def test_garbage_safetensors_refused(tmp_path, card_yaml):
    payload = tmp_path / "model.safetensors"
    payload.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="not a readable safetensors file"):
        load_predictor(_card_for(tmp_path, card_yaml, "model.safetensors", payload), device="cpu")


def test_weights_that_do_not_fit_the_architecture(tiny_card, card_yaml):
    text = card_yaml("model.safetensors", file_sha256(tiny_card.parent / "model.safetensors"),
                     params={"init_features": 4, "growth_rate": 8, "block_config": [1, 1], "bn_size": 2})
    tiny_card.write_text(text)
    with pytest.raises(InputError, match="do not fit monai.networks.nets.DenseNet"):
        load_predictor(tiny_card, device="cpu")


def test_unknown_target_layer_suggests(tiny_card):
    tiny_card.write_text(tiny_card.read_text().replace("features.denseblock2", "features.denseblock9"))
    with pytest.raises(InputError, match="has no module 'features.denseblock9'. Did you mean 'features.denseblock2'"):
        load_predictor(tiny_card, device="cpu")


def test_target_layer_resolves(tiny_card):
    predictor = load_predictor(tiny_card, device="cpu")
    assert predictor.target_layer() is dict(predictor.network.named_modules())["features.denseblock2"]


def test_card_object_accepted_and_card_moves_with_weights(tiny_card, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(tiny_card.parent, moved)
    predictor = load_predictor(load_model_card(moved / "model.yaml"), device="cpu")
    assert predictor.card.weights_path == moved / "model.safetensors"


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(InputError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(InputError, match="CUDA is not available"):
            resolve_device("cuda")


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("monai.networks.nets.DenseNet", {"init_features": 4, "growth_rate": 4, "block_config": [1, 1]}),
        ("monai.networks.nets.ResNet", {"block": "basic", "layers": [1, 1, 1, 1], "block_inplanes": [4, 8, 8, 8]}),
        ("monai.networks.nets.resnet10", {}),
        ("monai.networks.nets.EfficientNetBN", {"model_name": "efficientnet-b0"}),
    ],
)
def test_whitelisted_families_build_with_one_logit(card_yaml, family, params):
    import yaml

    data = yaml.safe_load(card_yaml("model.safetensors", "ab" * 32))
    data["architecture"].update(family=family, params=params)
    net = build_network(parse_model_card(data)).eval()
    with torch.no_grad():
        assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 1)
    assert family in ARCHITECTURES
