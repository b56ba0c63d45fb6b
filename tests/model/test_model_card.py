"""Model card parsing: valid cards load; every bad card fails with the file, key path and fix."""
from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from valkit.errors import InputError
from valkit.model_card import ARCHITECTURES, ModelCard
from valkit.model_card_io import load_model_card, parse_model_card

SHA = "ab" * 32


def _write(folder: Path, text: str, *, weights: bool = True) -> Path:
    folder.mkdir(exist_ok=True)
    if weights:
        (folder / "model.safetensors").write_bytes(b"not checked when parsing")
    card = folder / "model.yaml"
    card.write_text(text)
    return card


@pytest.fixture
def data(card_yaml) -> dict:
    return yaml.safe_load(card_yaml("model.safetensors", SHA))


def test_valid_card_loads_with_provenance(tmp_path, card_yaml):
    path = _write(tmp_path / "m", card_yaml("model.safetensors", SHA))
    card = load_model_card(path)
    assert card.id == "tiny-test"
    assert card.architecture.params["growth_rate"] == 4
    assert card.preprocessing.size == (32, 32)
    assert card.preprocessing.window.percentiles == (1.0, 99.0)
    assert card.threshold.rule == "youden"
    assert card.weights_path == tmp_path / "m" / "model.safetensors"
    assert card.path == path
    assert card.card_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # a folder is accepted for its model.yaml
    assert load_model_card(tmp_path / "m") == card


def test_card_is_frozen(tmp_path, card_yaml):
    card = load_model_card(_write(tmp_path / "m", card_yaml("model.safetensors", SHA)))
    with pytest.raises(ValidationError):
        card.threshold.value = 0.1  # type: ignore[misc]


def test_unknown_top_level_key_is_named_with_suggestion(tmp_path, card_yaml):
    path = _write(tmp_path / "m", card_yaml("model.safetensors", SHA) + "intended_uses: typo\n")
    with pytest.raises(InputError) as info:
        load_model_card(path)
    assert str(info.value) == (
        f"{path}:20: intended_uses: unknown key 'intended_uses'. Did you mean 'intended_use'? "
        "Valid: accepts, architecture, explainability, finding, id, intended_use, limitations, name, output, "
        "preprocessing, schema_version, threshold, training, version, weights."
    )


def test_unknown_nested_key_has_key_path(tmp_path, card_yaml):
    text = card_yaml("model.safetensors", SHA).replace("window: {source: dicom", "window: {sourse: dicom")
    with pytest.raises(InputError) as info:
        load_model_card(_write(tmp_path / "m", text))
    assert str(info.value).endswith(
        "model.yaml:13: preprocessing.window.sourse: unknown key 'sourse'. Did you mean 'source'? "
        "Valid: center, percentiles, source, width."
    )


def test_unknown_architecture_suggests_a_valid_name(tmp_path, card_yaml):
    text = card_yaml("model.safetensors", SHA).replace("monai.networks.nets.DenseNet\n", "DenseNet12\n")
    path = _write(tmp_path / "m", text)
    with pytest.raises(InputError) as info:
        load_model_card(path)
    assert str(info.value) == (
        f"{path}:7: architecture.family: unknown architecture 'DenseNet12'. "
        "Did you mean 'monai.networks.nets.DenseNet121'? Valid: monai.networks.nets.DenseNet, "
        "monai.networks.nets.DenseNet121, monai.networks.nets.EfficientNetBN, monai.networks.nets.ResNet, "
        "monai.networks.nets.resnet10, monai.networks.nets.resnet18."
    )


def test_an_import_path_is_not_an_architecture(data):
    data["architecture"]["family"] = "os.system"
    with pytest.raises(InputError, match="unknown architecture 'os.system'"):
        parse_model_card(data)


def test_unknown_constructor_param_suggests(tmp_path, data):
    data["architecture"]["params"] = {"growth": 4}
    with pytest.raises(InputError) as info:
        parse_model_card(data, source="models/x/model.yaml")
    assert str(info.value) == (
        "models/x/model.yaml: architecture.params: 'monai.networks.nets.DenseNet' takes no parameter 'growth' "
        "in a card. Did you mean 'growth_rate'? Valid: act, block_config, bn_size, dropout_prob, growth_rate, "
        "init_features, norm."
    )


@pytest.mark.parametrize("param", ["pretrained", "progress"])
def test_a_card_cannot_ask_for_downloads(param, data):
    data["architecture"]["family"] = "monai.networks.nets.DenseNet121"
    data["architecture"]["params"] = {param: True}
    with pytest.raises(InputError, match=f"takes no parameter '{param}'"):
        parse_model_card(data)


def test_missing_weights_file(tmp_path, card_yaml):
    path = _write(tmp_path / "m", card_yaml("model.safetensors", SHA), weights=False)
    with pytest.raises(InputError) as info:
        load_model_card(path)
    assert str(info.value) == (
        f"{path}:18: weights.file: weights file '{tmp_path / 'm' / 'model.safetensors'}' does not exist. "
        "Put the weights next to the card or correct weights.file (relative to the card's folder)."
    )


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ("../elsewhere/model.safetensors", "must be a path relative to the card's folder, inside it"),
        ("/abs/model.safetensors", "must be a path relative to the card's folder, inside it"),
        ("model.pkl", "unsupported weights format '.pkl'"),
    ],
)
def test_weights_path_rules(weights, expected, data):
    data["weights"]["file"] = weights
    with pytest.raises(InputError, match=expected):
        parse_model_card(data)


def test_all_problems_reported_together(tmp_path, data):
    del data["name"]
    data["threshold"]["value"] = 1.5
    data["weights"]["sha256"] = "ABC"
    with pytest.raises(InputError) as info:
        parse_model_card(data, source="c.yaml")
    message = str(info.value)
    assert message.startswith("c.yaml: 3 problems in the model card:")
    assert "c.yaml: name: required key is missing." in message
    assert "c.yaml: threshold.value: Input should be less than or equal to 1; found 1.5" in message
    assert "c.yaml: weights.sha256: expected 64 lowercase hex digits" in message


def test_unquoted_numeric_digest_is_explained(tmp_path, card_yaml):
    text = card_yaml("model.safetensors", "1" * 64).replace('"' + "1" * 64 + '"', "1" * 64)
    with pytest.raises(InputError, match="weights.sha256: expected a quoted string of 64 hex digits, found the int"):
        load_model_card(_write(tmp_path / "m", text))


@pytest.mark.parametrize("rule", ["youden", "fixed", "sensitivity>=0.85", "specificity >= 0.9", "sensitivity>=1"])
def test_threshold_rules_accepted(rule, data):
    data["threshold"]["rule"] = rule
    assert parse_model_card(data).threshold.rule == rule.replace(" ", "")


@pytest.mark.parametrize("rule", ["youdens", "sensitivity>0.8", "sensitivity>=1.5", "ppv>=0.5"])
def test_threshold_rules_refused(rule, data):
    data["threshold"]["rule"] = rule
    with pytest.raises(InputError, match="unknown threshold rule"):
        parse_model_card(data)


def test_channels_must_agree(data):
    data["preprocessing"]["channels"] = 3
    with pytest.raises(InputError, match=r"preprocessing.channels \(3\) must equal architecture.in_channels \(1\)"):
        parse_model_card(data)


def test_fixed_window_needs_center_and_width(data):
    data["preprocessing"]["window"] = {"source": "fixed", "center": 40}
    with pytest.raises(InputError, match="source 'fixed' needs both 'center' and 'width'"):
        parse_model_card(data)


def test_not_a_mapping_and_bad_yaml(tmp_path):
    with pytest.raises(InputError, match="expected a mapping"):
        parse_model_card(["a", "list"], source="x.yaml")
    bad = _write(tmp_path / "m", "id: [unclosed\n")
    with pytest.raises(InputError, match=f"{bad}:[0-9]+: not valid YAML"):  # with the line
        load_model_card(bad)
    with pytest.raises(InputError, match="model card not found"):
        load_model_card(tmp_path / "nope" / "model.yaml")


def test_whitelist_matches_monai_signatures():
    """Every whitelisted family exists in MONAI and every allowed param is a real constructor argument."""
    import monai.networks.nets as nets
    from monai.networks.nets.densenet import DenseNet
    from monai.networks.nets.resnet import ResNet

    for name, spec in ARCHITECTURES.items():
        assert name == f"monai.networks.nets.{spec.attr}"
        ctor = getattr(nets, spec.attr)
        accepted = set(inspect.signature(ctor).parameters)
        # DenseNet121 and resnetNN forward **kwargs to DenseNet / ResNet
        if "kwargs" in accepted:
            base = DenseNet if "DenseNet" in spec.attr else ResNet
            accepted |= set(inspect.signature(base).parameters)
        assert spec.params | set(spec.channel_args) | {k for k, _ in spec.fixed} <= accepted, name


def test_model_card_schema_is_exported():
    schema = ModelCard.model_json_schema()
    assert schema["additionalProperties"] is False
    assert "architecture" in schema["required"]


def test_preprocessing_digest_follows_the_settings_not_their_spelling(data):
    # the digest saved predictions are matched on (valkit.runner): key order and spelled-out
    # defaults leave it alone, any setting that changes pixels changes it
    base = parse_model_card(data).preprocessing.sha256
    spelled = dict(data, preprocessing={**dict(reversed(list(data["preprocessing"].items()))),
                                        "invert_monochrome1": True, "resize": "bilinear", "channels": 1})
    assert parse_model_card(spelled).preprocessing.sha256 == base
    for change in ({"size": [64, 64]}, {"window": {"source": "percentile", "percentiles": [1, 99]}},
                   {"normalization": {"method": "fixed", "mean": 0.5, "std": 0.3}}):
        other = dict(data, preprocessing={**data["preprocessing"], **change})
        assert parse_model_card(other).preprocessing.sha256 != base, change
