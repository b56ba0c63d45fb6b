"""results.json from a whole run (external predictions: no model, no images needed)."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valkit import stats
from valkit.cli import main

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("fake")
    for f in FAKE.iterdir():
        shutil.copy(f, d / f.name)
    rc = main(["run", str(d / "fake.yaml"), "--runs-dir", str(d / "runs"), "--no-report", "--quiet"])
    return rc, d, d / "runs" / "fake"


def test_exit_code_is_the_gate(run):
    rc, _, run_dir = run
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == "FAIL"  # sensitivity's lower bound misses its goal in the fake study
    assert rc == 1


def test_every_manifest_row_accounted(run):
    _, d, run_dir = run
    r = json.loads((run_dir / "results.json").read_text())
    flow = r["data"]["flow"]
    manifest = pd.read_csv(d / "manifest.csv")
    assert flow["in_manifest"] == len(manifest) == 500
    assert flow["analysed"] + flow["failed"] == flow["in_manifest"]
    assert sum(x["n"] for x in flow["failure_reasons"]) == flow["failed"] == 3
    cases = pd.read_csv(run_dir / "cases.csv")
    assert len(cases) == 500 and cases["case_id"].is_unique


def test_primary_numbers_match_the_engine_on_the_same_data(run):
    _, d, run_dir = run
    r = json.loads((run_dir / "results.json").read_text())
    m = pd.read_csv(d / "manifest.csv", dtype={"case_id": str}).merge(pd.read_csv(d / "scores.csv"), on="case_id")
    m = m[np.isfinite(m["score"])]
    y, s = m["label"].to_numpy(), m["score"].to_numpy()
    tp = int(((s >= 0.5) & (y == 1)).sum())
    fn = int(((s < 0.5) & (y == 1)).sum())
    assert r["primary"]["confusion"]["tp"] == tp and r["primary"]["confusion"]["fn"] == fn
    assert r["primary"]["sensitivity"]["value"] == pytest.approx(tp / (tp + fn), abs=1e-12)
    # patients with two images -> the clustered AUC method is used automatically and recorded
    assert r["methods"]["clustered"] is True
    auc = stats.roc_auc(y, s, ci="clustered", cluster=m["patient_id"].to_numpy())
    assert r["primary"]["auc"]["value"] == pytest.approx(auc.value, abs=1e-12)
    assert r["primary"]["auc"]["interval"]["method"] == "clustered"
    # ... and so are the proportions' intervals (images of one patient are not independent)
    assert r["primary"]["sensitivity"]["interval"]["method"] == "cluster_bootstrap_percentile"
    assert r["methods"]["proportion_ci"] == "cluster_bootstrap_percentile"
    # recomputed from the documented recipe (docs/statistical-methods.md, "one set of counts, one
    # interval"): patients resampled within outcome strata, seed [analysis seed, digest of the case set]
    from valkit.analyses.estimates import case_set_digest
    from valkit.stats.fairness import bootstrap_cell_counts

    _, patient = np.unique(m["patient_id"].astype(str).to_numpy(), return_inverse=True)
    boot = bootstrap_cell_counts(y, (s >= 0.5).astype(int), np.zeros(len(y), dtype=int), n_cells=1, cluster=patient,
                                 n_resamples=r["methods"]["bootstrap_resamples"],
                                 seed=[r["methods"]["seed"], case_set_digest(np.arange(len(y)))])
    reps = boot.replicates[:, 0, :].astype(float)
    sens = reps[:, 0] / (reps[:, 0] + reps[:, 2])
    low, high = np.quantile(sens, [0.025, 0.975])
    assert r["primary"]["sensitivity"]["interval"]["low"] == pytest.approx(low, abs=1e-12)
    assert r["primary"]["sensitivity"]["interval"]["high"] == pytest.approx(high, abs=1e-12)


def test_endpoints_judged_on_ci_lower_bound(run):
    _, _, run_dir = run
    r = json.loads((run_dir / "results.json").read_text())
    for e in r["endpoints"]:
        low = e["estimate"]["interval"]["low"]
        assert e["verdict"] == ("PASS" if low >= e["goal"] else "FAIL")
        assert "lower bound" in e["judged_on"]
        if e["metric"] == "sensitivity":
            assert "patient-clustered" in e["ci_note"]


def test_provenance_recorded(run):
    _, _, run_dir = run
    p = json.loads((run_dir / "results.json").read_text())["provenance"]
    for key in ("protocol_sha256", "manifests", "model_weights_sha256", "predictions_sha256", "valkit",
                "packages", "hardware", "seed", "started_utc", "finished_utc"):
        assert p[key] not in (None, "", []), key
    assert len(p["protocol_sha256"]) == 64 and len(p["manifests"][0]["sha256"]) == 64
    assert p["packages"]["numpy"]


def test_results_json_is_strict_json(run):
    _, _, run_dir = run
    text = (run_dir / "results.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert "NaN" not in text


def test_by_group_tables_sum_to_analysed(run):
    _, _, run_dir = run
    r = json.loads((run_dir / "results.json").read_text())
    for key in ("by_site", "by_manufacturer"):
        assert sum(g["n"] for g in r[key]) == r["data"]["flow"]["analysed"]
        for g in r[key]:
            c = g["confusion"]
            assert c["tp"] + c["fp"] + c["fn"] + c["tn"] == g["n"]
            if not math.isnan(g["sensitivity"]["value"] or math.nan):
                assert g["sensitivity"]["interval"]["low"] <= g["sensitivity"]["value"]


def test_rerun_is_identical_apart_from_times(run, tmp_path):
    _, d, run_dir = run
    first = json.loads((run_dir / "results.json").read_text())
    assert main(["run", str(d / "fake.yaml"), "--runs-dir", str(tmp_path), "--no-report", "--quiet"]) == 1
    second = json.loads((tmp_path / "fake" / "results.json").read_text())
    for r in (first, second):
        for k in ("started_utc", "finished_utc", "seconds", "valkit"):
            r["provenance"].pop(k)
        r["tool_validation"].pop("seconds")  # a time too
        r.pop("traceability")  # audit-log times and digests, different in every runs folder
        r["integrity"]["determinism"].pop("seconds")
    assert first == second


def test_calibration_recorded_and_matches_the_engine(run):
    _, d, run_dir = run
    r = json.loads((run_dir / "results.json").read_text())
    m = pd.read_csv(d / "manifest.csv", dtype={"case_id": str}).merge(pd.read_csv(d / "scores.csv"), on="case_id")
    m = m[np.isfinite(m["score"])]
    slope = stats.calibration_slope(m["label"].to_numpy(), m["score"].to_numpy())
    assert r["calibration"]["calibration_slope"]["value"] == pytest.approx(slope.value, rel=1e-9)
    assert sum(r["calibration"]["curve"]["counts"]) == r["data"]["flow"]["analysed"]


# --- a run with a model: saved predictions are reused only for unchanged inputs (issue #11 item 8) ---

MODEL_PROTOCOL = """\
id: rerun
version: "1.0"
title: Rerun test
intended_use: tests only
regulatory: {targets: [FDA], document_id: VK-TEST, revision: A}
model: {card: model/model.yaml}
datasets:
  - manifest: manifest.csv
reference_standard: {column: label, description: test labels}
operating_point: {source: fixed, threshold: 0.5}
endpoints:
  - {id: sensitivity, metric: sensitivity}
inference: {batch_size: 4, num_workers: 0, device: cpu}
report: {formats: [html]}
"""


def _image(i: int, *, bright: bool = False) -> np.ndarray:
    rng = np.random.default_rng(i)
    low = 2500 if bright else 0
    return rng.integers(low, low + 1500, size=(40, 40))


def _model_study(root: Path, n: int = 10) -> Path:
    """DICOMs with fixed case ids, a manifest built from them, a tiny model, a protocol; returns the protocol."""
    from valkit.manifest import build_manifest
    from valkit.testing import write_dicom, write_tiny_model

    (root / "dicom").mkdir()
    labels = ["path,label,case_id"]
    for i in range(n):
        write_dicom(root / "dicom" / f"img{i}.dcm", _image(i), patient_id=f"P{i}")
        labels.append(f"dicom/img{i}.dcm,{i % 2},C{i:03d}")
    (root / "labels.csv").write_text("\n".join(labels) + "\n")
    build_manifest(root / "dicom", out=root / "manifest.csv", labels=root / "labels.csv")
    write_tiny_model(root / "model", window="{source: dicom}", target_layer=None)
    (root / "p.yaml").write_text(MODEL_PROTOCOL)
    return root / "p.yaml"


def _run_model(protocol: Path, runs: Path, *, report: bool = False) -> tuple[dict, pd.DataFrame]:
    args = ["run", str(protocol), "--runs-dir", str(runs), "--quiet"] + ([] if report else ["--no-report"])
    assert main(args) in (0, 1, 4)
    return (json.loads((runs / "rerun" / "results.json").read_text()),
            pd.read_parquet(runs / "rerun" / "predictions.parquet").set_index("case_id"))


@pytest.mark.slow
def test_rerun_after_images_changed_rescores_them(tmp_path):
    from valkit.manifest import build_manifest
    from valkit.testing import write_dicom

    protocol = _model_study(tmp_path)
    _, first = _run_model(protocol, tmp_path / "runs")
    changed = ["C002", "C005", "C008"]
    for i in (2, 5, 8):  # new pixels behind the same case ids, manifest rebuilt
        write_dicom(tmp_path / "dicom" / f"img{i}.dcm", _image(i, bright=True), patient_id=f"P{i}")
    build_manifest(tmp_path / "dicom", out=tmp_path / "manifest.csv", labels=tmp_path / "labels.csv")

    results, second = _run_model(protocol, tmp_path / "runs", report=True)
    inf = results["inference"]
    assert inf["resumed_rows"] == 7
    assert inf["rescored"] == {"image_changed": 3, "model_or_preprocessing_changed": 0, "saved_without_digests": 0}
    assert list(second.index) == list(first.index) and second.index.is_unique
    assert not np.isclose(second.score[changed], first.score[changed], rtol=0, atol=1e-6).any()
    assert second.drop(index=changed).score.equals(first.drop(index=changed).score)
    manifest = pd.read_csv(tmp_path / "manifest.csv", dtype=str).set_index("case_id")
    assert (second["image_sha256"] == manifest.loc[second.index, "sha256"]).all()
    _, fresh = _run_model(protocol, tmp_path / "fresh")  # same as a run from scratch on the new images
    assert np.allclose(second.score, fresh.score, rtol=0, atol=1e-6)
    html = (tmp_path / "runs" / "rerun" / "report.html").read_text()
    assert ("3 predictions from an earlier run were not reused because their image had changed; "
            "they were re-scored.") in html


@pytest.mark.slow
def test_rerun_after_preprocessing_changed_rescores_everything(tmp_path):
    protocol = _model_study(tmp_path)
    _, first = _run_model(protocol, tmp_path / "runs")
    card = tmp_path / "model" / "model.yaml"
    card.write_text(card.read_text().replace("window: {source: dicom}", "window: {source: percentile}"))
    results, second = _run_model(protocol, tmp_path / "runs")
    inf = results["inference"]
    assert inf["resumed_rows"] == 0
    assert inf["rescored"] == {"image_changed": 0, "model_or_preprocessing_changed": 10, "saved_without_digests": 0}
    assert not np.allclose(second.score, first.score, rtol=0, atol=1e-6)
    assert (second["preprocessing_sha256"] == inf["preprocessing_sha256"]).all()
    assert second.index.is_unique and len(second) == 10


def test_external_scores_run_reads_no_image_files_so_none_are_not_found(run):
    # issue #11 item 11: the appendix said "500 image file(s) not found ... recorded as failures" for a
    # run whose case flow shows 3 failures, none of them about image files
    _, _, run_dir = run
    r = json.loads((run_dir / "results.json").read_text())
    for m in r["provenance"]["manifests"]:
        assert not any("not found" in n for n in m["notes"]), m["notes"]
    assert r["data"]["flow"]["failed"] == 3


def test_cases_csv_has_every_subgroup_column_the_protocol_names(run):
    # issue #11 item 11: ethnicity (a protocol subgroup column) was left out of cases.csv
    _, d, run_dir = run
    r = json.loads((run_dir / "results.json").read_text())
    cases = pd.read_csv(run_dir / "cases.csv", dtype=str, keep_default_na=False)
    for col in r["protocol"]["subgroups"]["columns"]:
        assert col in cases.columns, col
    manifest = pd.read_csv(d / "manifest.csv", dtype=str, keep_default_na=False)
    assert list(cases["ethnicity"]) == list(manifest["ethnicity"])
    assert r["per_case_listing"]["columns"] == list(cases.columns)


@pytest.fixture(scope="module")
def scaled_run(tmp_path_factory):
    """The fake study with a declared 0-100 score range and scores for three case ids not in the manifest."""
    d = tmp_path_factory.mktemp("scaled")
    for f in FAKE.iterdir():
        shutil.copy(f, d / f.name)
    scores = pd.read_csv(d / "scores.csv", dtype=str, keep_default_na=False)
    extra = pd.DataFrame({"case_id": ["Z1", "Z2", "Z3"], "score": ["0.2", "0.9", "0.4"]})
    pd.concat([scores, extra]).to_csv(d / "scores.csv", index=False)
    text = (d / "fake.yaml").read_text().replace("  threshold: 0.5\n", "  score_range: [0, 100]\n  threshold: 0.5\n")
    (d / "fake.yaml").write_text(text)
    rc = main(["run", str(d / "fake.yaml"), "--runs-dir", str(d / "runs"), "--no-report", "--quiet"])
    return rc, d, d / "runs" / "fake"


def test_calibration_not_run_on_a_declared_non_probability_range(scaled_run, run):
    # scores that happen to lie in [0, 1] are still not probabilities when the protocol says 0-100
    _, _, run_dir = scaled_run
    r = json.loads((run_dir / "results.json").read_text())
    assert r["calibration"] is None
    base = json.loads((run[2] / "results.json").read_text())
    assert r["primary"]["confusion"] == base["primary"]["confusion"]


def test_scores_for_unknown_case_ids_counted_in_results_and_report(scaled_run):
    _, _, run_dir = scaled_run
    r = json.loads((run_dir / "results.json").read_text())
    acc = r["data"]["external_scores"]
    assert acc == {"path": "scores.csv", "rows_in_file": 502, "matched": 499, "not_in_manifest": 3,
                   "not_in_manifest_examples": ["Z1", "Z2", "Z3"], "score_range": [0.0, 100.0]}
    from valkit.report.sections.data import data_summary
    from valkit.results_schema import validate_results

    line = data_summary(validate_results(r), {})["external_scores"]
    assert "502 rows" in line and "499" in line and "3 case ids not in the manifest" in line and "Z1" in line
