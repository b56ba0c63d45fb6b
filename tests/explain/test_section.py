"""explainability_section end to end on a small DICOM study: galleries, localisation, sanity, files."""
from __future__ import annotations

import json

import pytest

from valkit.errors import InputError
from valkit.explain.config import ExplainabilityOptions
from valkit.explain.section import explainability_section
from valkit.results import write_json_atomic

OPTIONS = ExplainabilityOptions.model_validate({
    "gallery": {"true_positive": 3, "false_positive": 2, "false_negative": 2, "true_negative": 2},
    "localisation": {"bootstrap_resamples": 200, "min_group_size": 2},
    "sanity": {"n_images": 3, "stages": 2},
})


@pytest.fixture
def section(tmp_path, blob_study, blob_predictor):
    run = tmp_path / "run"
    return run, explainability_section(run, blob_study, blob_predictor, OPTIONS, threshold=0.5, seed=11).written()


def test_categories_gallery_and_overlays(section):
    run, res = section
    g = res["gallery"]
    assert {k: v["available"] for k, v in g.items()} == {
        "true_positive": 5, "false_positive": 1, "false_negative": 1, "true_negative": 5}
    assert [len(v["cases"]) for v in g.values()] == [3, 1, 1, 2]
    assert g["false_negative"]["cases"][0]["case_id"] == "I-0010"
    assert g["false_positive"]["cases"][0]["case_id"] == "I-0011"
    for cat, block in g.items():
        for e in block["cases"]:
            assert e["category"] == cat
            assert set(e) >= {"case_id", "site", "scanner", "score", "overlay"}
            assert e["scanner"] == "Acme DX1"
            png = run / e["overlay"]
            assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert png.name == f"{e['case_id']}.png"
    from PIL import Image

    with Image.open(run / g["true_positive"]["cases"][0]["overlay"]) as im:
        assert im.size == (256, 256) and not im.text  # enlarged 8x; no metadata chunks


def test_no_patient_identifiers_anywhere(section):
    run, res = section
    text = json.dumps(res)
    blobs = [p.read_bytes() for p in run.rglob("*") if p.is_file()]
    for ident in ("MRN-123456", "Real^Name"):
        assert ident not in text
        assert not any(ident.encode() in b for b in blobs)


def test_localisation_hits_every_true_positive(section):
    run, res = section
    loc = res["localisation"]
    assert loc["available"] and loc["n_true_positives"] == 5 and loc["n_scored"] == 5
    assert loc["n_without_box"] == 0 and loc["n_invalid_box"] == 0 and loc["n_empty_heatmaps"] == 0
    pg = loc["overall"]["pointing_game"]
    assert (pg["value"], pg["numerator"], pg["denominator"], pg["method"]) == (1.0, 5, 5, "wilson")
    assert res["feature_grid"] == [32, 32]  # the blob net's target layer keeps the input resolution
    assert loc["overall"]["pointing_game_feature_cell"]["value"] == 1.0
    assert loc["overall"]["mean_cell_chance"] < 0.05
    assert pg["interval"]["low"] == pytest.approx(0.5655, abs=1e-4)  # Wilson 5/5 (statsmodels 0.15.0)
    ef = loc["overall"]["energy_fraction"]
    assert ef["value"] > 0.5 and ef["interval"]["low"] <= ef["value"] <= ef["interval"]["high"]
    assert ef["value"] > 5 * loc["overall"]["mean_box_area_fraction"]  # far above the chance level
    sites = {g["group"]: g for g in loc["by"]["site"]}
    assert set(sites) == {"site0", "site1", "site2"}
    assert sum(g["n"] for g in sites.values()) == 5  # subgroup n's sum to the total
    assert [g["insufficient"] for g in loc["by"]["site"]] == [False, True, False]  # 2, 1, 2 cases
    assert loc["by"]["manufacturer"][0]["n"] == 5
    import pandas as pd

    table = pd.read_csv(run / loc["cases_csv"])
    assert len(table) == 5 and table["hit"].all() and "patient_id" in table.columns


def test_sanity_block_and_json(section, tmp_path):
    run, res = section
    s = res["sanity"]
    assert s["available"] and s["mode"] == "cascading" and len(s["stages"]) == 2
    assert len(s["case_ids"]) == 3 and set(s["case_ids"]) <= {"I-0000", "I-0002", "I-0004", "I-0006", "I-0008"}
    assert (run / s["figure"]).is_file()
    assert s["flagged"] is False
    write_json_atomic(tmp_path / "r.json", {"explainability": res})  # strict JSON (no NaN)
    assert res["heatmaps"]["n"] >= 9 and res["seed"] == 11 and res["target_layer"] == "features.relu"


def test_seed_fixes_the_sample(tmp_path, blob_study, blob_predictor):
    opts = OPTIONS.model_copy(update={"sanity": OPTIONS.sanity.model_copy(update={"enabled": False}),
                                      "localisation": OPTIONS.localisation.model_copy(update={"enabled": False})})
    picks = []
    for k, seed in enumerate([1, 1, 2, 3, 4]):
        res = explainability_section(tmp_path / f"r{k}", blob_study, blob_predictor, opts, threshold=0.5, seed=seed).written()
        picks.append(tuple(e["case_id"] for e in res["gallery"]["true_positive"]["cases"]))
        assert res["localisation"]["available"] is False and "disabled" in res["localisation"]["reason"]
        assert res["sanity"]["available"] is False
    assert picks[0] == picks[1]
    assert len(set(picks)) > 1
    override = opts.model_copy(update={"seed": 1})
    res = explainability_section(tmp_path / "o", blob_study, blob_predictor, override, threshold=0.5, seed=99).written()
    assert res["seed"] == 1 and tuple(e["case_id"] for e in res["gallery"]["true_positive"]["cases"]) == picks[0]


def test_missing_and_invalid_boxes_are_counted_not_dropped(tmp_path, blob_study, blob_predictor):
    study = blob_study.copy()
    study.loc[study["case_id"] == "I-0002", ["lesion_x0", "lesion_y0", "lesion_x1", "lesion_y1"]] = ""
    study.loc[study["case_id"] == "I-0004", "lesion_x1"] = "1"  # x1 < x0
    study.loc[study["case_id"] == "I-0006", "lesion_x1"] = "500"  # beyond the 80 columns
    study.loc[study["case_id"] == "I-0008", "lesion_y0"] = "n/a"
    opts = OPTIONS.model_copy(update={"sanity": OPTIONS.sanity.model_copy(update={"enabled": False})})
    loc = explainability_section(tmp_path, study, blob_predictor, opts, threshold=0.5, seed=1).written()["localisation"]
    assert (loc["n_scored"], loc["n_without_box"], loc["n_invalid_box"]) == (1, 1, 3)
    reasons = {b["case_id"]: b["reason"] for b in loc["invalid_boxes"]}
    assert "empty" in reasons["I-0004"] and "outside the 48 x 80" in reasons["I-0006"]
    assert "expected numbers" in reasons["I-0008"]
    no_cols = blob_study.drop(columns=["lesion_x0"])
    loc = explainability_section(tmp_path, no_cols, blob_predictor, opts, threshold=0.5, seed=1).written()["localisation"]
    assert loc["available"] is False and "lesion_x0" in loc["reason"]


def test_external_predictions_and_cards_without_a_target_layer(tmp_path, blob_study, blob_predictor):
    res = explainability_section(tmp_path, blob_study, None, OPTIONS, threshold=0.5, seed=1).written()
    assert res["available"] is False and "external" in res["reason"]
    from dataclasses import replace

    card = blob_predictor.card.model_copy(update={"explainability": None})
    with pytest.raises(InputError, match="explainability.target_layer is not set"):
        explainability_section(tmp_path, blob_study, replace(blob_predictor, card=card), OPTIONS,
                               threshold=0.5, seed=1)


def test_failed_and_unreadable_cases_are_accounted(tmp_path, blob_study, blob_predictor):
    study = blob_study.copy()
    study.loc[study["case_id"] == "I-0001", "status"] = "failed"  # failed at inference: not a TN, not shown
    gone = study.loc[study["case_id"] == "I-0000", "abs_path"].iloc[0]
    import os

    os.remove(gone)  # file vanished after inference
    opts = OPTIONS.model_copy(update={"sanity": OPTIONS.sanity.model_copy(update={"enabled": False})})
    res = explainability_section(tmp_path, study, blob_predictor, opts, threshold=0.5, seed=1).written()
    assert res["gallery"]["true_negative"]["available"] == 4
    assert [u["case_id"] for u in res["unreadable"]] == ["I-0000"]
    assert res["localisation"]["n_scored"] == 4


def test_real_model_card_through_load_predictor(tmp_path, blob_study, helpers):
    """The plumbing with a real MONAI DenseNet loaded from a card and safetensors weights (untrained)."""
    import monai.networks.nets as nets
    import torch
    import yaml
    from safetensors.torch import save_file

    from valkit.model_card import file_sha256
    from valkit.predictor import load_predictor

    torch.manual_seed(0)
    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, init_features=4, growth_rate=4,
                        block_config=[1, 1], bn_size=2)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "model.safetensors"))
    card = helpers.card_dict(target_layer="features.denseblock2")
    card["weights"]["sha256"] = file_sha256(tmp_path / "model.safetensors")
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(card))
    predictor = load_predictor(tmp_path / "model.yaml", device="cpu")
    res = explainability_section(tmp_path / "run", blob_study, predictor, OPTIONS, threshold=0.5, seed=2).written()
    assert res["target_layer"] == "features.denseblock2" and res["heatmaps"]["n"] >= 9
    assert res["feature_grid"] == [4, 4] and res["feature_cell_px"] == [8.0, 8.0]  # stride 8 at 32 x 32
    assert res["localisation"]["n_scored"] == 5 and res["sanity"]["available"]
    assert len(res["sanity"]["stages"]) == 2


def test_border_block_counts_every_sampled_case_and_writes_its_csv(section):
    import pandas as pd

    run, res = section
    b = res["border"]
    assert b["available"] and b["n"] == 12 and b["feature_grid"] == [32, 32]
    assert b["chance"] == pytest.approx(1 - 30 * 30 / (32 * 32))
    assert {r["group"]: r["n"] for r in b["by_category"]} == {
        "true_positive": 5, "false_positive": 1, "false_negative": 1, "true_negative": 5}
    assert sum(r["n"] for r in b["by"]["site"]) == 12
    # the blob detector looks at the blobs, which lie inside the image: no true positive peaks on the border
    tp = next(r for r in b["by_category"] if r["group"] == "true_positive")
    assert tp["peak_on_border"]["value"] == 0.0 and not tp["flagged"]
    table = pd.read_csv(run / b["cases_csv"])
    assert len(table) == 12 and set(table.columns) >= {"case_id", "patient_id", "category", "peak_on_border",
                                                       "border_energy_fraction", "site", "manufacturer", "model"}
    json.dumps(b, allow_nan=False)


def test_heatmaps_gathering_at_the_edge_are_flagged(tmp_path, blob_study, blob_predictor, monkeypatch):
    """A model whose heatmaps always peak in a corner: every group with enough cases is above chance."""
    import numpy as np

    import valkit.explain.cam as cam

    def corner_maps(network, layer, images, **kwargs):
        maps = np.zeros((len(images), *np.asarray(images).shape[2:]), np.float32)
        maps[:, 0, 0] = 1.0
        return maps

    monkeypatch.setattr(cam, "compute_heatmaps", corner_maps)
    opts = OPTIONS.model_copy(update={"border": OPTIONS.border.model_copy(update={"min_group_size": 2}),
                                      "sanity": OPTIONS.sanity.model_copy(update={"enabled": False})})
    res = explainability_section(tmp_path / "run", blob_study, blob_predictor, opts, threshold=0.5, seed=11).written()
    b = res["border"]
    assert b["overall"]["peak_on_border"]["value"] == 1.0 and b["overall"]["flagged"]
    assert "site = site0" in b["flagged"] and "outcome = true_positive" in b["flagged"]
    assert "outcome = false_positive" not in b["flagged"]  # one case: below min_group_size, not judged


def test_border_check_can_be_switched_off(tmp_path, blob_study, blob_predictor):
    opts = OPTIONS.model_copy(update={"border": OPTIONS.border.model_copy(update={"enabled": False})})
    res = explainability_section(tmp_path / "run", blob_study, blob_predictor, opts, threshold=0.5, seed=11).written()
    assert res["border"]["available"] is False and res["border"]["reason"] == "disabled in the protocol"
