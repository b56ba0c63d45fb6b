"""Device and model, regulatory basis, index test, model card and training data (issue #12 item 4): these
sections read the typed results, so a renamed key in the card's training block fails loudly instead of
printing as a row of its own, and a model card's rows come from the card's fields only."""
from __future__ import annotations

import copy

import pytest

from valkit.report.context import SECTIONS, build_context
from valkit.report.render import render_html
from valkit.report.sections import device
from valkit.report.sections.training_data import LABELS, training_data
from valkit.results_schema import ResultsSchemaError, validate_results
from valkit.results_schema.run_info import TrainingRecord

DOC = {"weights_label": "Weights SHA-256", "exploratory_note": ""}
TRAINING = {"script": "../models/m/train.py", "seed": 3, "data": "synthetic squares",
            "data_seeds": {"train": [11], "tuning": [12]}, "n_images": {"train": 100, "tuning": 40},
            "tuning_auc": 0.81, "excluded_seeds": [99], "notes": None}


def _card(**changes) -> dict:
    """A model block as valkit.pipeline writes it for a card (values arbitrary, digests fake)."""
    return {"kind": "model_card", "card_path": "../models/m/model.yaml", "id": "m", "name": "Tiny", "version": "1.2",
            "finding": "square present", "intended_use": "tests only", "architecture": "monai.networks.nets.DenseNet",
            "format": "monai", "architecture_params": {"init_features": 8}, "output": {"activation": "sigmoid"},
            "input_size": [32, 32], "window": "dicom", "weights_file": "model.safetensors",
            "weights_sha256": "a" * 64, "threshold": 0.4, "threshold_rule": "youden",
            "threshold_tuning_set": "seed 12", "limitations": ["Tiny."], "training": TRAINING,
            "explainability_target_layer": None, "details": None, "card_sha256": "c" * 64, **changes}


@pytest.fixture(scope="module")
def card_results(fake_results) -> dict:
    """The fake study's results.json with a model card's model block (threshold from the card)."""
    results = copy.deepcopy(fake_results)
    results["model"] = _card()
    results["operating_point"] = {**results["operating_point"], "threshold": 0.4, "source": "model_card",
                                  "rule": "youden"}
    return results


def _section(results: dict, section_id: str) -> dict:
    """One section's template context, built as the renderer builds it."""
    ctx = build_context(results, results_sha256="0" * 64)
    return next(s["ctx"] for s in ctx["sections"] if s["id"] == section_id)


def test_the_sections_are_registered():
    assert {"device-and-model", "regulatory-basis", "index-test", "model-card"} <= {s.id for s in SECTIONS}


def test_every_training_field_has_words():
    assert set(LABELS) == set(TrainingRecord.model_fields)


def test_device_rows_come_from_the_card(card_results):
    ctx = device.device_and_model(validate_results(card_results), DOC)
    rows = {r["key"]: r["value"] for r in ctx["rows"]}
    assert rows["Model card file"] == "model.yaml"  # a file name, never a path
    assert rows["Output"] == "sigmoid of one logit" and rows["Weights SHA-256"] == "a" * 64
    assert "Predictions file" not in rows
    training = {r["key"]: r["value"] for r in ctx["training"]}
    assert training == {"Training script": "train.py", "Training random seed": "3",
                        "Development data": "synthetic squares", "Data seeds, by split": "training: 11; tuning: 12",
                        "Images, by split": "training: 100; tuning: 40", "AUC on the tuning split": "0.810",
                        "Data seeds kept out of development": "99"}
    assert ctx["tuning_set"] == "seed 12" and ctx["op_text"].endswith("; tuning set: seed 12.")
    assert not ctx["external"] and ctx["limitations"] == ["Tiny."]


def test_external_scores_have_no_card_rows(fake_results):
    results = validate_results(fake_results)
    ctx = device.device_and_model(results, DOC)
    assert [r["key"] for r in ctx["rows"]] == ["Name", "Version", "Predictions file", "Weights SHA-256"]
    assert ctx["external"] and ctx["training"] == [] and ctx["tuning_set"] is None
    card = _section(fake_results, "model-card")
    assert card["card_sha256"] is None and card["training"][0]["value"].endswith("to be supplied by the sponsor")
    assert device.index_test(results, DOC)["external"]


def test_training_data_reads_the_typed_results(card_results):
    typed = validate_results(card_results)
    assert training_data(typed).rows and "development data" in training_data(typed).independence
    with pytest.raises(AttributeError):  # results.json as a dict is no longer read
        training_data(card_results)


def test_a_renamed_training_key_fails_loudly(card_results):
    # before the training block was typed, 'tuning_aux' printed as a row "Tuning aux" and the AUC row vanished
    results = copy.deepcopy(card_results)
    training = results["model"]["training"]
    training["tuning_aux"] = training.pop("tuning_auc")
    with pytest.raises(ResultsSchemaError, match=r"training\.tuning_aux: unknown key"):
        render_html(results, results_sha256="0" * 64)


def test_model_card_without_a_card_digest_says_so(card_results):
    ctx = _section({**card_results, "model": _card(card_sha256=None)}, "model-card")
    assert ctx["card_sha256"] == "not recorded"  # no card digest and no lock: said so, not invented
    assert ctx["intended_use"] == "tests only" and ctx["architecture"].startswith("monai.networks.nets.DenseNet (")
