"""Results added by issue #15: score distributions, sensitivity by lesion size, and the indeterminate
reference standard counted both ways (same estimator, so the same interval method as the primary)."""
from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from valkit.analyses import OperatingPointChoice, analyse, merge_predictions
from valkit.analyses.indeterminate import indeterminate_counted_both_ways
from valkit.protocol import load_protocol
from valkit.report.distribution_figures import score_histogram_svg
from valkit.report.sections.secondary_results import secondary_results
from valkit.results_schema import validate_results
from valkit.study import load_study

ROOT = Path(__file__).resolve().parents[2]
FAKE = ROOT / "tests" / "data" / "fake_study"


def test_both_ways_by_hand_with_the_wilson_interval():
    # determinate: positives a (called +), b (called -); negatives c (called +), d (called -);
    # indeterminate: e (called +), f (called -). As positive: TP = a, e -> 2 of 4 positives.
    # As negative: TN = d, f -> 2 of 4 negatives.
    out = indeterminate_counted_both_ways([1, 1, 0, 0], [1, 0, 1, 0], list("abcd"), [1, 0], list("ef"),
                                          clustering="auto", seed=1, n_resamples=200)
    pos, neg = out["as_positive"], out["as_negative"]
    assert pos["confusion"] == {"tp": 2, "fp": 1, "fn": 2, "tn": 1}
    assert neg["confusion"] == {"tp": 1, "fp": 2, "fn": 1, "tn": 2}
    assert (pos["sensitivity"]["numerator"], pos["sensitivity"]["denominator"]) == (2, 4)
    assert (neg["specificity"]["numerator"], neg["specificity"]["denominator"]) == (2, 4)
    # statsmodels 0.15.0: proportion_confint(2, 4, method="wilson") = (0.1500390, 0.8499610)
    assert pos["sensitivity"]["interval"]["method"] == "wilson"
    assert pos["sensitivity"]["interval"]["low"] == pytest.approx(0.1500390, abs=1e-7)
    assert pos["sensitivity"]["interval"]["high"] == pytest.approx(0.8499610, abs=1e-7)
    assert out["n_indeterminate"] == 2 and out["n_indeterminate_patients"] == 2


def _study(tmp_path: Path, *, protocol: dict, manifest=None):
    for f in FAKE.iterdir():
        shutil.copy(f, tmp_path / f.name)
    data = yaml.safe_load((tmp_path / "fake.yaml").read_text())
    for key, value in protocol.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    data["analysis"] = {**data["analysis"], "bootstrap_resamples": 200}
    (tmp_path / "fake.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    if manifest is not None:
        m = pd.read_csv(tmp_path / "manifest.csv", dtype=str, keep_default_na=False)
        manifest(m).to_csv(tmp_path / "manifest.csv", index=False)
    loaded = load_protocol(tmp_path / "fake.yaml")
    table = load_study(loaded).table
    scores = pd.read_csv(tmp_path / "scores.csv", dtype={"case_id": str})
    pred = table[["case_id"]].merge(scores, on="case_id", how="left")
    pred["status"] = np.where(pred["score"].notna(), "ok", "failed")
    pred["error"] = np.where(pred["score"].notna(), "", "no score")
    merged = merge_predictions(table, pred.assign(model_sha256="x"))
    # the blocks as results.json writes them
    return merged, analyse(merged, loaded.protocol, OperatingPointChoice(0.5, "fixed", None, False, "")).written()


def _graft(fake_results: dict, out: dict, *, indeterminate: list[str]):
    """The blocks ``analyse`` returned, in a complete results.json (the fake study's), typed as the report reads it."""
    ref = {**fake_results["protocol"]["reference_standard"], "indeterminate": indeterminate}
    return validate_results({**fake_results, **out, "protocol": {**fake_results["protocol"], "reference_standard": ref}})


def test_indeterminate_references_leave_the_primary_and_are_counted_both_ways(tmp_path, fake_results):
    def mark(m):
        m.loc[m.index[:30], "label"] = "equivocal"
        return m

    merged, out = _study(tmp_path, protocol={"reference_standard": {"indeterminate": ["equivocal"]}}, manifest=mark)
    scored = merged.index[:30][merged.loc[merged.index[:30], "status"] == "indeterminate"]
    flow, primary, both = out["data"]["flow"], out["primary"], out["indeterminate_counted_both_ways"]
    assert flow["indeterminate_reference"] == len(scored) > 0
    assert primary["n"] == flow["analysed"] == int((merged["status"] == "ok").sum())
    assert flow["analysed"] + flow["failed"] + flow["excluded"] + flow["indeterminate_reference"] == len(merged)
    calls = (merged.loc[scored, "score"] >= 0.5).astype(int)
    p, n = both["as_positive"]["confusion"], both["as_negative"]["confusion"]
    c = primary["confusion"]
    # counted as positive: the scored indeterminate cases join the positives (TP if called positive, else FN)
    assert (p["tp"], p["fn"], p["fp"], p["tn"]) == (c["tp"] + calls.sum(), c["fn"] + (1 - calls).sum(), c["fp"], c["tn"])
    assert (n["fp"], n["tn"], n["tp"], n["fn"]) == (c["fp"] + calls.sum(), c["tn"] + (1 - calls).sum(), c["tp"], c["fn"])
    # the same interval method as the primary (patients with several images: clustered bootstrap)
    assert both["as_positive"]["sensitivity"]["method"] == primary["sensitivity"]["method"]
    # the failures table never scores an indeterminate case
    assert sum(out["failures_counted_as_errors"]["confusion"].values()) == flow["analysed"] + flow["failed"] - \
        int(((merged["label"] == -1) & (merged["status"] == "failed")).sum())
    # the report prints both rows per metric
    results = _graft(fake_results, out, indeterminate=["equivocal"])
    ind = secondary_results(results)["indeterminate"]
    assert [r["label"] for r in ind["rows"]][:2] == ["Sensitivity, indeterminate counted as positive",
                                                     "Specificity, indeterminate counted as positive"]


def test_indeterminate_value_cannot_be_0_or_1(tmp_path):
    from valkit.errors import InputError

    with pytest.raises((InputError, ValueError), match="0 and 1 are the reference standard"):
        _study(tmp_path, protocol={"reference_standard": {"indeterminate": [1]}})


def test_lesion_size_bands_partition_the_positives_and_share_the_primary_interval(tmp_path):
    def sizes(m):
        rng = np.random.default_rng(3)
        m["size_mm"] = np.where(m["label"] == "1", np.round(rng.uniform(3, 40, len(m)), 1).astype(str), "")
        m.loc[m.index[(m["label"] == "1").to_numpy()][:3], "size_mm"] = ""  # a positive without a size
        return m

    merged, out = _study(tmp_path, protocol={"secondary": {"lesion_size_column": "size_mm",
                                                           "lesion_size_bands_mm": [0, 10, 20, 30]}},
                         manifest=sizes)
    rows = out["secondary"]["lesion_size"]["rows"]
    assert [r["level"] for r in rows] == ["0–<10 mm", "10–<20 mm", "20–<30 mm", "outside 0–30 mm", "not recorded"]
    assert sum(r["n_positive"] for r in rows) == out["primary"]["n_positive"] == out["secondary"]["n_positive"]
    assert sum(r["detected"] for r in rows) == out["primary"]["confusion"]["tp"]

    # one band holding every positive is the primary's case set: the very same estimate and interval
    (tmp_path / "one").mkdir()
    _, one = _study(tmp_path / "one",
                    protocol={"secondary": {"lesion_size_column": "size_mm", "lesion_size_bands_mm": [0, 1000]}},
                    manifest=lambda m: sizes(m).assign(size_mm=lambda d: np.where(d["label"] == "1", "5", "")))
    assert one["secondary"]["lesion_size"]["rows"][0]["sensitivity"] == one["primary"]["sensitivity"]


def test_score_histogram_counts_every_analysed_case_and_draws_the_threshold(tmp_path):
    _, out = _study(tmp_path, protocol={})
    h = out["primary"]["score_histogram"]
    assert (sum(h["positive"]), sum(h["negative"])) == (out["primary"]["n_positive"], out["primary"]["n_negative"])
    assert len(h["edges"]) == len(h["positive"]) + 1 == 21
    svg = score_histogram_svg(h["edges"], h["positive"], h["negative"], threshold=0.5,
                              positive_label="Reference positive", negative_label="Reference negative")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    dashed = [ln for ln in root.iter(f"{ns}line") if ln.get("stroke-dasharray") == "5 3"]
    assert len(dashed) == 2 and {ln.get("x1") for ln in dashed} == {f"{52 + 0.5 * (560 - 52 - 16):.1f}"}
    assert "threshold 0.5" in root.find(f"{ns}desc").text


def test_new_keys_are_declared_in_the_results_schema(fake_results):
    doc = dict(fake_results)
    doc["primary"] = {**doc["primary"], "score_histogram": {"edges": [0, 0.5, 1], "positive": [1, 2],
                                                            "negative": [3, 0], "n_outside": 0}}
    est = doc["primary"]["sensitivity"]
    doc["secondary"] = {"n_positive": 3, "lesion_type": None, "lesion_size": {
        "column": "size", "edges_mm": [0, 10], "rows": [{"level": "0–<10 mm", "n_positive": 3, "n_positive_patients": 3,
                                                        "detected": 2, "clustered": False,
                                                        "sufficient_evidence": False, "sensitivity": est}]}}
    both = {"confusion": doc["failures_counted_as_errors"]["confusion"], "sensitivity": est, "specificity": est}
    doc["indeterminate_counted_both_ways"] = {"n_indeterminate": 1, "n_indeterminate_patients": 1, "n_not_scored": 0,
                                              "as_positive": both, "as_negative": both}
    validate_results(doc)
    doc["secondary"]["lesion_sizes"] = doc["secondary"].pop("lesion_size")
    with pytest.raises(ValueError, match="secondary.lesion_sizes"):
        validate_results(doc)


def test_flow_of_cases_has_a_box_for_the_indeterminate_reference_and_its_counts_add_up(tmp_path, fake_results):
    """STARD 2015 item 19 (flow of participants, Cohen et al. BMJ 2016;352:i5337): cases with an indeterminate
    reference standard get their own box, and every box's counts add up to its total even when indeterminate
    cases also failed (the fake study's C0005 and C0017 have no score and are in the first 30 rows)."""
    from valkit.report.render import Captions, environment
    from valkit.report.sections.data import data_summary

    def mark(m):
        m.loc[m.index[:30], "label"] = "equivocal"
        return m

    merged, out = _study(tmp_path, protocol={"reference_standard": {"indeterminate": ["equivocal"]}}, manifest=mark)
    flow = out["data"]["flow"]
    failed_ind = int(((merged["label"] == -1) & (merged["status"] == "failed")).sum())
    assert failed_ind == 2 and flow["indeterminate_reference"] > 0
    assert flow["failed_positive"] + flow["failed_negative"] + failed_ind == flow["failed"]
    results = _graft(fake_results, out, indeterminate=["equivocal"])
    ctx = data_summary(results, {})
    assert ctx["flow"]["failed_indeterminate"] == "2"
    svg = str(ctx["flow_svg"])
    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert f"Reference standard indeterminate: {flow['indeterminate_reference']}" in texts
    # the box's line by reference standard (wrapped to the box) adds up to its total
    assert (f"({flow['failed_positive']} reference positive, {flow['failed_negative']} negative, "
            f"{failed_ind} indeterminate)") in " ".join(texts).replace("\u00a0", " ")
    assert f"{flow['indeterminate_reference']} with an indeterminate reference standard" in svg  # the description
    side = sorted((float(r.get("y")), float(r.get("height"))) for r in ET.fromstring(svg).iter(
        "{http://www.w3.org/2000/svg}rect") if float(r.get("x")) == 352)  # boxes right of the trunk, stacked apart
    assert len(side) == 2 + (ctx["flow"]["excluded"] is not None) and all(a[0] + a[1] < b[0] for a, b in zip(side, side[1:]))
    html = environment().get_template("sections/test_data.html.j2").render(s=ctx, captions=Captions())
    sentence = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert (f"{flow['failed']} without a valid result ({flow['failed_positive']} reference positive, "
            f"{flow['failed_negative']} reference negative, {failed_ind} indeterminate)") in sentence


def test_flow_of_cases_without_indeterminate_cases_has_no_such_box():
    from valkit.report.figures import FlowCounts, flow_svg

    c = FlowCounts(in_manifest="10", failed="1", failed_positive="1", failed_negative="0", failure_reasons=[("x", "1")],
                   analysed="9", positive="4", negative="5", tp="3", fn="1", fp="1", tn="4")
    assert "indeterminate" not in flow_svg(c)
