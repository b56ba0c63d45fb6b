"""Model card section (FDA AI-DSF draft guidance 2025, Appendix E style): filled from results.json only."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from valkit.report.render import render_html


@pytest.fixture(scope="module")
def card_model(tmp_path_factory) -> tuple[dict, object]:
    """The results.json model block the pipeline writes for a tiny real card with an accepts block."""
    from valkit.model_card_io import load_model_card
    from valkit.pipeline import _model_section
    from valkit.protocol import LoadedProtocol, Protocol
    from valkit.testing import write_tiny_model

    folder = tmp_path_factory.mktemp("card")
    card_path = write_tiny_model(folder / "m", extra="accepts: {modalities: [dx, CR], body_parts: [CHEST], "
                                                       "min_rows: 256, min_columns: 200}\n")
    card = load_model_card(card_path)
    proto = Protocol.model_construct(model=type("M", (), {"card": Path("m/model.yaml")})(), predictions=None)
    loaded = LoadedProtocol.model_construct(protocol=proto, path=folder / "p.yaml", sha256="0" * 64)
    _, _, model = _model_section(loaded)
    return model, card


def test_model_block_records_accepts_and_card_digest(card_model):
    model, card = card_model
    assert model["accepts"]["modalities"] == ["DX", "CR"] and model["accepts"]["min_columns"] == 200
    assert model["card_sha256"] == card.card_sha256 and len(model["card_sha256"]) == 64
    assert set(model["threshold_tuning"]) == {"tuning_n", "tuning_sensitivity", "tuning_specificity"}


def _section(html: str, anchor: str) -> str:
    i = html.index(f'id="{anchor}"')
    j = html.find("<section", i)
    return html[i: j if j > 0 else None]


def test_model_card_section(card_model, fake_results):
    model, card = card_model
    results = copy.deepcopy(fake_results)
    results["model"] = {**model, "card_path": "m/model.yaml"}
    html = render_html(results, results_sha256="0" * 64)
    sec = _section(html, "model-card")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", sec))
    assert "DX, CR" in text and "CHEST" in text and "256 × 200" in text
    assert card.weights.sha256 in text and card.card_sha256 in text
    # estimates reused from results.json with their counts, never recomputed
    sens = next(e for e in results["endpoints"] if e["metric"] == "sensitivity")["estimate"]
    assert f"{sens['numerator']}/{sens['denominator']}" in text
    assert "Area under the ROC curve (AUC)" in text
    # the tiny card records no training data: said so, not invented
    assert "not recorded in the model card — to be supplied by the sponsor" in text
    # excluded and failed counts from the case flow
    flow = results["data"]["flow"]
    assert f"{flow['failed']} could not be scored" in text
    # placed before the appendices
    assert html.index('id="model-card"') < html.index('id="provenance"')
    assert html.index('id="conclusions"') < html.index('id="model-card"')


def test_external_model_says_sponsor_supplies(fake_results):
    sec = _section(render_html(fake_results, results_sha256="0" * 64), "model-card")
    assert sec.count("to be supplied by the sponsor") >= 3
    assert "Model card SHA-256" not in sec
