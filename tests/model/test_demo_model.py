"""The shipped demo model: its card parses, its weights match the card, it never saw the test seed."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from valkit.model_card import file_sha256
from valkit.model_card_io import load_model_card
from valkit.predictor import load_predictor

DEMO = Path(__file__).resolve().parents[2] / "models" / "demo-nodule"
DEMO_TEST_SEED = 20261122  # `make demo` generates its test study with this seed


def test_demo_card_weights_match_and_load():
    card = load_model_card(DEMO / "model.yaml")
    assert file_sha256(card.weights_path) == card.weights.sha256
    assert card.weights_path.suffix == ".safetensors"
    assert card.weights_path.stat().st_size < 5 * 1024 * 1024
    predictor = load_predictor(card, device="cpu")
    assert predictor.weights_sha256 == card.weights.sha256
    probs = predictor.predict(torch.zeros((2, *predictor.input_shape)))
    assert probs.shape == (2,) and np.all((probs >= 0) & (probs <= 1))


def test_demo_card_provenance_is_complete_and_clean():
    card = load_model_card(DEMO / "model.yaml")
    training = card.training
    assert training is not None
    used = {seed for seeds in training.data_seeds.values() for seed in seeds}
    assert DEMO_TEST_SEED not in used and DEMO_TEST_SEED in training.excluded_seeds
    assert set(training.data_seeds["train"]).isdisjoint(training.data_seeds["tuning"])
    assert card.threshold.rule == "sensitivity>=0.85"
    assert card.threshold.tuning_sensitivity >= 0.85
    assert 0.0 < card.threshold.value < 1.0
    assert card.threshold.tuning_sensitivity is not None and card.threshold.tuning_specificity is not None
    assert training.tuning_auc is not None and 0.75 < training.tuning_auc < 0.97
    assert "not for clinical use" in card.intended_use.lower()


def test_training_report_agrees_with_card():
    card = load_model_card(DEMO / "model.yaml")
    report = json.loads((DEMO / "training_report.json").read_text())
    assert report["weights_sha256"] == card.weights.sha256
    assert report["threshold"] == card.threshold.value
    assert report["tuning"]["sensitivity"] == card.threshold.tuning_sensitivity
    assert report["tuning"]["by_vendor"]["all"]["auc"] == card.training.tuning_auc


def test_demo_model_was_trained_on_the_current_phantom_generator():
    """A new generator version changes the demo images; the shipped model must be retrained with it."""
    from valkit.synth import GENERATOR_VERSION

    trained_on = json.loads((DEMO / "training_report.json").read_text())["generator_version"]
    assert trained_on == GENERATOR_VERSION, (
        f"models/demo-nodule was trained on valkit.synth generator version {trained_on}, but the generator is "
        f"now version {GENERATOR_VERSION}. Retrain: `.venv/bin/python models/demo-nodule/train.py` (a few "
        "minutes on CPU) and commit models/demo-nodule/ (weights, model.yaml, README.md, training_report.json)."
    )
