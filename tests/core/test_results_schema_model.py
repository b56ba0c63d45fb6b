"""results.json ``model`` (issue #12 item 4): the card's ``training`` block and each format's ``details``
are typed, so a renamed key or another format's details fail where results.json is written or read."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from valkit.model_card import Training
from valkit.results_schema import key_path
from valkit.results_schema.run_info import (
    BundleNetworkDetails,
    BundleTorchScriptDetails,
    ModelCardModel,
    OnnxDetails,
    TrainingRecord,
)

TRAINING = {"script": "train.py", "seed": 3, "data": "phantoms", "data_seeds": {"train": [1001]},
            "n_images": {"train": 900}, "tuning_auc": 0.88, "excluded_seeds": [20261122], "notes": None}
ONNX = {"onnx_providers": ["CPUExecutionProvider"], "onnx_input": "image", "onnx_input_shape": ["batch", 1, 32, 32]}
BUNDLE = {"bundle": "nodule_bundle", "bundle_name": "nodule_bundle", "bundle_version": "0.1.0"}


def _model(**changes) -> dict:
    """A model block as valkit.pipeline writes it for a card (values arbitrary)."""
    return {"kind": "model_card", "card_path": "m/model.yaml", "id": "m", "name": "M", "version": "1",
            "finding": "nodule", "intended_use": "tests", "architecture": "monai.networks.nets.DenseNet",
            "format": "monai", "architecture_params": {"init_features": 8}, "input_size": [32, 32],
            "window": "dicom", "weights_file": "model.safetensors", "weights_sha256": "0" * 64, "threshold": 0.5,
            "threshold_rule": "youden", "threshold_tuning_set": None, "limitations": [], "training": TRAINING,
            "explainability_target_layer": None, "details": None, **changes}


def _problems(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as exc:
        ModelCardModel.model_validate(data)
    return [(key_path(("model", *e["loc"])), e["type"]) for e in exc.value.errors()]


def test_training_record_has_the_card_fields():
    # the pipeline writes Training.model_dump(): every card field must be a results field, and no other
    assert list(TrainingRecord.model_fields) == list(Training.model_fields)
    assert ModelCardModel.model_validate(_model()).training.data_seeds == {"train": [1001]}


def test_a_renamed_training_key_is_an_error_naming_its_path():
    training = {**{k: v for k, v in TRAINING.items() if k != "tuning_auc"}, "tuning_aux": 0.88}
    assert _problems(_model(training=training)) == [("model.training.tuning_aux", "extra_forbidden")]


def test_a_training_block_without_its_data_is_an_error():
    training = {k: v for k, v in TRAINING.items() if k != "data"}
    assert _problems(_model(training=training)) == [("model.training.data", "missing")]


@pytest.mark.parametrize("fmt, details, kind", [
    ("onnx", ONNX, OnnxDetails),
    ("monai_bundle", {**BUNDLE, "network_def": {"_target_": "DenseNet", "block_config": [2, 2]},
                      "config": "configs/inference.json", "config_sha256": "0" * 64}, BundleNetworkDetails),
    ("monai_bundle", {**BUNDLE, "network": "TorchScript models/model.ts; the config was not read"},
     BundleTorchScriptDetails),
])
def test_each_format_reads_its_own_details(fmt, details, kind):
    assert isinstance(ModelCardModel.model_validate(_model(format=fmt, details=details)).details, kind)


def test_a_misspelt_details_key_is_reported_against_its_format_only():
    details = {**{k: v for k, v in ONNX.items() if k != "onnx_providers"}, "onnx_provider": ["CPUExecutionProvider"]}
    assert sorted(_problems(_model(format="onnx", details=details))) == [
        ("model.details.onnx.onnx_provider", "extra_forbidden"), ("model.details.onnx.onnx_providers", "missing")]


@pytest.mark.parametrize("fmt", ["monai", "torchvision", "monai_bundle"])
def test_details_of_another_format_are_an_error(fmt):
    with pytest.raises(ValidationError, match=f"details: a '{fmt}' model records .*found OnnxDetails"):
        ModelCardModel.model_validate(_model(format=fmt, details=ONNX))
