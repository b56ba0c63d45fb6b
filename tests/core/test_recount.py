"""Issue #11 at the level of a whole run (external scores, no images needed).

Items: 3 (the protocol's CI method is replaced without disclosure), 4 (one set of counts, one
interval, everywhere it is printed), 7 (counts only below the evidence rule) and the scanner part
of 11 (scanner tables when the data record no scanner).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from valkit.cli import main

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"


def _run(tmp_path: Path, edit=None, manifest_edit=None, *, report: bool = False) -> dict:
    d = tmp_path / "study"
    d.mkdir(parents=True)
    for f in FAKE.iterdir():
        shutil.copy(f, d / f.name)
    protocol = yaml.safe_load((d / "fake.yaml").read_text())
    if edit:
        edit(protocol)
    (d / "fake.yaml").write_text(yaml.safe_dump(protocol, sort_keys=False))
    if manifest_edit:
        m = pd.read_csv(d / "manifest.csv", dtype=str, keep_default_na=False)
        manifest_edit(m).to_csv(d / "manifest.csv", index=False)
    args = ["run", str(d / "fake.yaml"), "--runs-dir", str(d / "runs"), "--quiet"]
    rc = main(args if report else args + ["--no-report"])
    assert rc in (0, 1, 4)
    return json.loads((d / "runs" / "fake" / "results.json").read_text())


@pytest.fixture(scope="module")
def fake_results(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("recount"))


def test_one_set_of_counts_one_interval_everywhere(fake_results):
    """The same cases reached through different sections (per-manufacturer table, the manufacturer
    family, the model family, a site x manufacturer cell, the endpoints) print one interval."""
    levels = {r["level"]: r for r in fake_results["by_manufacturer"]}
    fams = {f["name"]: f for f in fake_results["subgroups"]["families"]}
    for level, row in levels.items():
        cell = next(c for c in fams["manufacturer"]["cells"] if c["level"] == level)
        assert cell["specificity"]["interval"] == row["specificity"]["interval"]
        assert cell["sensitivity"]["interval"] == row["sensitivity"]["interval"]
    # overall and the endpoints: the same cases, the same interval
    for e in fake_results["endpoints"]:
        if e["metric"] in ("sensitivity", "specificity"):
            assert e["estimate"]["interval"] == fake_results["primary"][e["metric"]]["interval"]
    # the demo's defect: a scanner at one site only -> its manufacturer row, model row and
    # site x manufacturer cell are the same cases; find such triples and compare
    model_cells = {c["level"]: c for f in fake_results["sites_and_scanners"]["families"] if f["name"] == "model"
                   for c in f["cells"]}
    for level, row in levels.items():
        same = [c for c in model_cells.values() if c["confusion"] == row["confusion"] and c["n"] == row["n"]]
        for c in same:
            assert c["specificity"]["interval"] == row["specificity"]["interval"]


def test_the_method_actually_used_is_disclosed_and_an_unstated_switch_is_a_deviation(tmp_path):
    # fake.yaml asks for Wilson and does not set analysis.clustering; patients have several images
    r = _run(tmp_path / "a")
    assert r["methods"]["clustered"] and not r["methods"]["clustering_rule_stated"]
    sens = next(e for e in r["endpoints"] if e["id"] == "sensitivity")
    assert sens["ci_method_requested"] == "wilson" and sens["ci_method"] == "cluster_bootstrap_percentile"
    assert "analysis.clustering" in sens["ci_note"]
    devs = {d["what"]: d for d in r["deviations"]}
    assert devs["Endpoint sensitivity: confidence interval method"]["gating"] is True
    assert "exact_binomial_p" not in sens  # a binomial test on clustered images would be too liberal

    def stated(p):
        p.setdefault("analysis", {})["clustering"] = "auto"

    r2 = _run(tmp_path / "b", stated)
    # the fake study's 3 failed cases are a deviation of their own (issue #14); no method deviation is left
    assert [d["what"] for d in r2["deviations"]] == ["Cases not analysed (failed)"]
    sens2 = next(e for e in r2["endpoints"] if e["id"] == "sensitivity")
    assert sens2["ci_method"] == "cluster_bootstrap_percentile" and "clustering: auto" in sens2["ci_note"]

    def independent(p):
        p.setdefault("analysis", {})["clustering"] = "none"

    r3 = _run(tmp_path / "c", independent)
    sens3 = next(e for e in r3["endpoints"] if e["id"] == "sensitivity")
    assert sens3["ci_method"] == "wilson" and sens3["ci_note"] is None
    assert [d["what"] for d in r3["deviations"]] == ["Cases not analysed (failed)"]
    assert r3["subgroups"]["evidence_rule"]["unit"] == "images"


def test_the_report_states_the_method_beside_each_gating_estimate_and_lists_deviations(tmp_path):
    r = _run(tmp_path, report=True)
    html = (tmp_path / "study" / "runs" / "fake" / "report.html").read_text()
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"\s+", " ", text)
    assert "patient-clustered bootstrap †" in text and "instead of the method the protocol names" in text
    assert "Deviations from the protocol" in text
    assert "Endpoint sensitivity: confidence interval method" in text
    assert "as fixed in the protocol" in text  # the objectives table shows the protocol's own method
    assert r["deviations"]


def test_below_the_evidence_rule_only_counts_are_printed(fake_results):
    rows = [c for f in fake_results["subgroups"]["families"] for c in f["cells"]] + fake_results["by_site"]
    insufficient = [c for c in rows if not c["sufficient_evidence"] and c["n"]]
    assert insufficient
    for c in insufficient:
        for m in ("sensitivity", "specificity"):
            assert c[m]["insufficient_evidence"] is True
    from valkit.report.formatting import estimate_cells

    cells = estimate_cells(insufficient[0]["sensitivity"])
    assert cells["value"] == "insufficient evidence" and cells["ci"] == ""


def test_no_scanner_tables_when_the_data_record_no_scanner(tmp_path):
    def drop(m: pd.DataFrame) -> pd.DataFrame:
        return m.drop(columns=["manufacturer", "model"])

    def no_scanner_family(p):
        sg = p["subgroups"]
        sg["columns"] = [c for c in sg["columns"] if c != "manufacturer"]
        sg["intersections"] = [x for x in sg.get("intersections", []) if "manufacturer" not in x]
        sg["exploratory"] = [x for x in sg.get("exploratory", []) if "manufacturer" not in x]
        sg.get("heterogeneity", {}).pop("columns", None)

    r = _run(tmp_path, no_scanner_family, drop, report=True)
    assert r["by_manufacturer"] == []
    assert [f["name"] for f in r["sites_and_scanners"]["families"]] == ["site"]
    assert "manufacturer" not in r["data"]["table1"] and r["data"]["acquisition"] == []
    assert all(set(c) == {"site", "level", "n", "n_positive"} for c in r["sites_and_scanners"]["combinations"])
    html = (tmp_path / "study" / "runs" / "fake" / "report.html").read_text()
    assert "equipment" not in re.sub(r"<[^>]+>", " ", html.split('id="test-data"')[0])
    assert "acquired on" not in html
