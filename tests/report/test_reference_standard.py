"""Reference standard: truthing fields, truther agreement (kappa) end to end, PPA/NPA labels.

A synthetic study: the fake study's manifest with three truthers' own labels added (each the
reference label with a seeded share flipped, a few left empty), run with --no-report.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from valkit.errors import InputError
from valkit.protocol import Protocol, protocol_problems

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"
TRUTHERS = ["reader_a", "reader_b", "reader_c"]


def _study(tmp: Path, *, reference: dict, truther_values=None) -> Path:
    shutil.copytree(FAKE, tmp, dirs_exist_ok=True)
    m = pd.read_csv(tmp / "manifest.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(7)
    for k, col in enumerate(TRUTHERS):
        label = m["label"].astype(int).to_numpy()
        flipped = np.where(rng.random(len(m)) < 0.05 * (k + 1), 1 - label, label).astype(str)
        flipped[rng.random(len(m)) < 0.02] = ""  # not read by this truther
        m[col] = flipped
    if truther_values is not None:
        m.loc[0, TRUTHERS[0]] = truther_values
    m.to_csv(tmp / "manifest.csv", index=False)
    proto = yaml.safe_load((tmp / "fake.yaml").read_text())
    proto["reference_standard"].update(reference)
    (tmp / "fake.yaml").write_text(yaml.safe_dump(proto, sort_keys=False))
    return tmp / "fake.yaml"


REFERENCE = {"kind": "comparator",
             "truthers": {"number": 3, "qualifications": "board-certified thoracic radiologists"},
             "adjudication": "majority of three",
             "truther_columns": TRUTHERS}


@pytest.fixture(scope="module")
def comparator_run(tmp_path_factory) -> tuple[dict, pd.DataFrame]:
    from valkit.cli import main

    tmp = tmp_path_factory.mktemp("truthers")
    protocol = _study(tmp, reference=REFERENCE)
    assert main(["run", str(protocol), "--runs-dir", str(tmp / "runs"), "--no-report", "--quiet"]) in (0, 1)
    results = json.loads((tmp / "runs" / "fake" / "results.json").read_text())
    return results, pd.read_csv(tmp / "manifest.csv", dtype=str, keep_default_na=False)


def test_agreement_in_results_matches_the_statistics(comparator_run):
    from valkit.stats import cohens_kappa, fleiss_kappa

    results, manifest = comparator_run
    block = results["reference_agreement"]
    complete = (manifest[TRUTHERS] != "").all(axis=1)
    ratings = manifest.loc[complete, TRUTHERS].to_numpy().astype(int)
    assert block["n_cases"] == len(manifest) and block["n_complete"] == int(complete.sum()) < len(manifest)
    assert block["fleiss"]["kappa"]["value"] == pytest.approx(fleiss_kappa(ratings).kappa.value, abs=1e-12)
    pair = next(p for p in block["cohen"] if p["truthers"] == ["reader_a", "reader_c"])
    assert pair["kappa"]["value"] == pytest.approx(cohens_kappa(ratings[:, 0], ratings[:, 2]).kappa.value, abs=1e-12)
    assert len(block["cohen"]) == 3
    assert results["protocol"]["reference_standard"]["kind"] == "comparator"
    assert results["protocol"]["reference_standard"]["is_true_reference_standard"] is False


def test_fake_study_kappas_resample_patients(comparator_run):
    # the fake study has 500 images of 400 patients and clustering auto: every kappa gets the patient-clustered
    # percentile bootstrap (Davison & Hinkley 1997, sec. 3.8) with the protocol's 2000 resamples
    block = comparator_run[0]["reference_agreement"]
    assert block["several_images_per_patient"] and block["clustered"] and block["clustering_rule"] == "auto"
    for kappa in [block["fleiss"], *block["cohen"]]:
        assert kappa["kappa"]["interval"]["method"] == "cluster_bootstrap_percentile"
        assert kappa["n_resamples"] == 2000 and kappa["n_clusters"] == block["n_patients"]


@pytest.fixture(scope="module")
def comparator_html(comparator_run) -> str:
    from valkit.report.render import render_html

    return render_html(comparator_run[0], results_sha256="0" * 64)


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    nxt = re.search(r'<section[^>]* id="', html[start + 10:])
    return html[start: start + 10 + nxt.start()] if nxt else html[start:]


def test_reference_section_prints_truthing_and_kappa(comparator_html):
    sec = _section(comparator_html, "reference-standard")
    assert "board-certified thoracic radiologists" in sec and "majority of three" in sec
    assert "Fleiss&#39; kappa" in sec or "Fleiss' kappa" in sec
    assert sec.count("Cohen") >= 3
    assert "Statistical Guidance on Reporting Results from Studies Evaluating Diagnostic Tests (2007)" in sec
    assert "patient-clustered bootstrap intervals (resampling patients" in sec


def test_comparator_results_are_named_agreement_everywhere(comparator_html):
    # sensitivity/specificity as a printed label: none left (method prose like "sensitivity analysis" aside)
    for anchor in ("primary-results", "executive-summary", "subgroups-and-fairness", "sites-and-scanners",
                   "conclusions"):
        sec = _section(comparator_html, anchor)
        labels = re.findall(r"<th[^>]*>\s*(Sensitivity|Specificity)\b", sec)
        assert not labels, (anchor, labels)
        assert not re.search(r"Sensitivity and specificity", sec), anchor
        assert "Reference positive" not in sec, anchor
    primary = _section(comparator_html, "primary-results")
    assert "Positive percent agreement (PPA)" in primary and "Negative percent agreement (NPA)" in primary
    assert "Comparator positive" in primary


def test_reference_standard_default_keeps_sensitivity(fake_results):
    from valkit.report.sections.common import comparison_terms, metric_label
    from valkit.results_schema import validate_results

    typed = validate_results(fake_results)
    assert metric_label("sensitivity", typed) == "Sensitivity"
    assert comparison_terms(typed)["reason"] == ""
    # results.json written before `kind` existed: the older flag alone still gives agreement words
    ref = {k: v for k, v in fake_results["protocol"]["reference_standard"].items() if k != "kind"}
    old = validate_results({**fake_results, "protocol": {**fake_results["protocol"],
                                                         "reference_standard": {**ref, "is_true_reference_standard": False}}})
    assert metric_label("specificity", old) == "Negative percent agreement (NPA)"
    assert comparison_terms(old)["positive"] == "Comparator positive"


def test_truther_labels_must_be_binary(tmp_path):
    from valkit.cli import main

    protocol = _study(tmp_path, reference=REFERENCE, truther_values="maybe")
    with pytest.raises(InputError, match=r"truther column 'reader_a'.*'maybe'.*expected 0, 1 or empty"):
        from valkit.protocol import load_protocol
        from valkit.study import load_study

        load_study(load_protocol(protocol))
    assert main(["run", str(protocol), "--runs-dir", str(tmp_path / "runs"), "--no-report", "--quiet"]) == 2


def _problems(reference: dict) -> list[str]:
    data = yaml.safe_load((FAKE / "fake.yaml").read_text())
    data["reference_standard"].update(reference)
    return protocol_problems(data, source="p.yaml")


@pytest.mark.parametrize("reference, message", [
    ({"kind": "comparitor"}, "Did you mean 'comparator'?"),
    ({"truther_colums": ["a", "b"]}, "Did you mean 'truther_columns'?"),
    ({"kind": "comparator", "is_true_reference_standard": True}, "contradicts is_true_reference_standard"),
    ({"truther_columns": ["a"]}, "one column ('a') gives no agreement"),
    ({"truther_columns": ["a", "a"]}, "repeated column(s) a"),
    ({"truther_columns": ["label", "a"]}, "is the reference standard column itself"),
    ({"truthers": {"number": 2, "qualifications": "x"}, "truther_columns": ["a", "b", "c"]},
     "truthers.number is 2 but truther_columns lists 3"),
    ({"truthers": {"number": 2, "qualification": "x"}}, "Did you mean 'qualifications'?"),
])
def test_protocol_validation(reference, message):
    problems = _problems(reference)
    assert any(message in p for p in problems), problems


def test_kind_and_older_flag_agree():
    base = yaml.safe_load((FAKE / "fake.yaml").read_text())
    for ref, kind in (({}, "reference_standard"), ({"is_true_reference_standard": False}, "comparator"),
                      ({"kind": "comparator"}, "comparator")):
        data = {**base, "reference_standard": {**base["reference_standard"], **ref}}
        rs = Protocol.model_validate(data).reference_standard
        assert rs.kind == kind and rs.is_true_reference_standard == (kind == "reference_standard")


def test_missing_truther_column_is_named(tmp_path):
    from valkit.preflight import preflight
    from valkit.protocol import load_protocol

    protocol = _study(tmp_path, reference={**REFERENCE, "truther_columns": ["reader_a", "reader_bb", "reader_c"]})
    problems = preflight(load_protocol(protocol), source="fake.yaml").problems
    assert any("reference_standard.truther_columns[1]: column 'reader_bb' not found" in p
               and "Did you mean 'reader_b'?" in p for p in problems), problems
