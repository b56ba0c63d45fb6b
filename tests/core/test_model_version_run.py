"""A whole run of version N with a ``baseline:`` naming the run of N-1 (external scores: no model, no images):
results.json, the gate, flips.csv, the run registry, `valkit runs list/compare` and the report section."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from valkit.cli import main

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"
MADE_WORSE = 15  # sex F positives the new version misses


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("versions")
    for f in FAKE.iterdir():
        shutil.copy(f, d / f.name)
    runs = d / "runs"
    assert main(["run", str(d / "fake.yaml"), "--runs-dir", str(runs), "--no-report", "--no-progress"]) in (0, 1)
    scores = pd.read_csv(d / "scores.csv").merge(pd.read_csv(d / "manifest.csv")[["case_id", "label", "sex"]])
    hit = np.flatnonzero((scores["sex"] == "F") & (scores["label"] == 1) & (scores["score"] >= 0.5))[:MADE_WORSE]
    scores.loc[hit, "score"] = 0.1
    scores[["case_id", "score"]].to_csv(d / "scores_v2.csv", index=False)
    p = yaml.safe_load((d / "fake.yaml").read_text())
    p.update(id="fake-v2", predictions={**p["predictions"], "path": "scores_v2.csv", "model_version": "2.2"},
             baseline={"label": "Vendor X 2.1 (cleared)", "run": "runs/fake",
                       "non_inferiority": {"margin": 0.1, "metrics": ["sensitivity", "specificity"]}})
    (d / "v2.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    rc = main(["run", str(d / "v2.yaml"), "--runs-dir", str(runs), "--no-report", "--no-progress"])
    return rc, d, runs


def test_results_carry_the_comparison_and_the_gate_names_the_subgroup(two_runs):
    rc, _, runs = two_runs
    r = json.loads((runs / "fake-v2" / "results.json").read_text())
    b = r["baseline"]
    assert b["matching"]["paired"] == r["data"]["flow"]["analysed"]
    assert b["flips"]["became_wrong"] == b["flips"]["changed"] == MADE_WORSE
    [crit] = [c for c in r["acceptance"]["criteria"] if c["kind"] == "baseline" and c["metric"] == "sensitivity"]
    assert crit["verdict"] == "FAIL" and "sex = F (FAIL" in crit["rule"] and crit["gates"]
    assert r["verdict"] == "FAIL" and rc == 1
    flips = pd.read_csv(runs / "fake-v2" / "flips.csv")
    assert len(flips) == MADE_WORSE and set(flips["change"]) == {"became wrong"}


def test_registry_records_both_runs(two_runs):
    _, _, runs = two_runs
    with sqlite3.connect(runs / "registry.sqlite") as con:
        rows = con.execute("SELECT protocol_id, model_version, data_sha256, verdict, baseline_verdict FROM runs").fetchall()
        n_est = con.execute("SELECT COUNT(*) FROM estimates").fetchone()[0]
    assert [x[:2] for x in rows] == [("fake", "2.1"), ("fake-v2", "2.2")]
    assert rows[0][2] == rows[1][2]  # same data digest
    assert rows[1][4] == "FAIL" and n_est >= 6


def test_runs_list_and_compare(two_runs, capsys):
    _, _, runs = two_runs
    capsys.readouterr()
    assert main(["runs", "list", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "fake-v2" in out and "Vendor X 2.2" in out
    assert main(["runs", "compare", "1", "fake-v2", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "same model: no, protocol: no, data: yes" in out
    assert "sensitivity" in out and "pp" in out and "PSI" in out and "KS D =" in out
    assert main(["runs", "compare", "1", "nosuchrun", "--runs-dir", str(runs)]) == 2


def test_report_section_and_conclusions(two_runs):
    from valkit.report import render_report

    _, _, runs = two_runs
    [html] = render_report(runs / "fake-v2", formats=("html",))
    text = html.read_text()
    assert "Comparison with the cleared version" in text and "Vendor X 2.1 (cleared)" in text
    assert "Against the cleared version" in text and "Sex: F" in text
    assert "Intersection-union test" in text and "flips.csv" in text


def test_the_section_reads_the_typed_baseline_block(two_runs):
    """Issue #12 item 4: the comparison section and its conclusion read the typed ``baseline`` block; a renamed
    key of it is an error naming the key, never a blank in the report."""
    from valkit.report.context import build_context
    from valkit.report.sections import baseline
    from valkit.results_schema import ResultsSchemaError, validate_results

    _, _, runs = two_runs
    data = json.loads((runs / "fake-v2" / "results.json").read_text())
    typed = validate_results(data)
    ctx = baseline.build(typed, {})
    assert ctx["label"] == "Vendor X 2.1 (cleared)" and ctx["flips"]["became_wrong"] == MADE_WORSE
    assert [r["label"] for r in ctx["overall"]][:2] == ["Sensitivity", "Specificity"]
    assert ctx["ni"]["verdict"] == "FAIL" and "Sex: F" in ctx["ni"]["criteria"][0]["not_passed"]
    # the conclusion is shared with the Conclusions section
    assert baseline.conclusion(typed)["verdict"] == "FAIL"
    assert baseline.build(typed.model_copy(update={"baseline": None}), {}) is None
    data["baseline"]["drift"]["psi"]["bnd"] = data["baseline"]["drift"]["psi"].pop("band")
    with pytest.raises(ResultsSchemaError) as err:
        build_context(data, results_sha256="0" * 64)
    assert "baseline.drift.psi.band: missing" in str(err.value)
