"""The demo path end to end on a small phantom study: synth → manifest → run → PDF."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from valkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    assert main(["synth", str(d / "phantom"), "--n-images", "80", "--seed", "7"]) == 0
    (d / "manifests").mkdir()
    assert main(["manifest", "build", str(d / "phantom"), "--labels", str(d / "phantom" / "labels.csv"),
                 "--out", str(d / "manifests" / "demo.csv")]) == 0
    protocol = yaml.safe_load((ROOT / "protocols" / "demo.yaml").read_text())
    protocol["model"]["card"] = str(ROOT / "models" / "demo-nodule" / "model.yaml")
    protocol["datasets"] = [{"manifest": str(d / "manifests" / "demo.csv"), "image_root": str(d / "phantom")}]
    protocol["inference"] = {"batch_size": 16, "num_workers": 1}
    # the latency benchmark and the reader study have their own end-to-end tests; keep this one quick
    protocol.pop("latency", None)
    protocol.pop("reader_study", None)
    protocol["explainability"] = {"gallery": {"true_positive": 2, "false_positive": 2, "false_negative": 2,
                                              "true_negative": 1}, "localisation": {"max_cases": 10}}
    (d / "demo.yaml").write_text(yaml.safe_dump(protocol, sort_keys=False))
    # the demo protocol is pre-registered: like `make demo`, lock it before the run reads the labels
    assert main(["lock", str(d / "demo.yaml"), "--runs-dir", str(d / "runs")]) == 0
    rc = main(["run", str(d / "demo.yaml"), "--runs-dir", str(d / "runs"), "--quiet"])
    return rc, d, d / "runs" / "demo"


def test_the_demo_shows_a_complete_timeline(demo_run):
    """Issue #14: lock → unseal → run, with the locked digests and the masking statements."""
    _, _, run_dir = demo_run
    r = json.loads((run_dir / "results.json").read_text())
    t = r["traceability"]
    assert t["pre_registered"] and t["status"] == "pre-registered"
    assert t["lock"]["seq"] < t["run_start"]["seq"] < t["unseal"]["seq"] == t["first_unseal"]["seq"]
    keys = {f["key"] for f in t["lock"]["files"]}
    assert {"datasets[0].manifest", "model.card", "model.card → weights.file"} <= keys
    assert t["masking"] and r["integrity"]["determinism"]["identical"]
    html = (run_dir / "report.html").read_text()
    assert "Design and pre-specification" in html and "Test labels first read (unsealed)" in html


def test_run_writes_every_output(demo_run):
    rc, _, run_dir = demo_run
    assert rc in (0, 1, 4)
    for name in ("predictions.parquet", "results.json", "cases.csv", "report.html", "report.pdf"):
        assert (run_dir / name).is_file(), name


def test_every_image_predicted_once(demo_run):
    _, d, run_dir = demo_run
    pred = pd.read_parquet(run_dir / "predictions.parquet")
    manifest = pd.read_csv(d / "manifests" / "demo.csv", dtype=str)
    assert sorted(pred["case_id"]) == sorted(manifest["case_id"])
    assert (pred["status"] == "ok").all(), pred.loc[pred.status != "ok", "error"].tolist()
    card = yaml.safe_load((ROOT / "models" / "demo-nodule" / "model.yaml").read_text())
    assert set(pred["model_sha256"]) == {card["weights"]["sha256"]}


def test_pdf_text_has_endpoint_table_and_verdicts(demo_run):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; `make test` installs it")
    _, _, run_dir = demo_run
    results = json.loads((run_dir / "results.json").read_text())
    text = subprocess.run(["pdftotext", "-layout", str(run_dir / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "VK-DEMO-VAL-001" in text
    for e in results["endpoints"]:
        assert e["verdict"] in text
    assert "Sensitivity" in text and "Specificity" in text


def test_report_rerenders_from_results_json_alone(demo_run, tmp_path):
    _, _, run_dir = demo_run
    shutil.copy(run_dir / "results.json", tmp_path / "results.json")
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.pdf").stat().st_size > 10_000


def test_demo_report_reads_as_words(demo_run):
    """The whole demo report (model card, sites, heterogeneity, fairness, explainability) passes the wording
    checks of valkit.report.wording: no raw program text, every abbreviation explained."""
    from valkit.report.render import render_html
    from valkit.report.wording import wording_problems

    _, _, run = demo_run
    results = json.loads((run / "results.json").read_text())
    problems = wording_problems(render_html(results, results_sha256="0" * 64), results)
    assert not problems, "\n".join(problems)


def test_demo_pdf_text_stays_inside_the_right_margin(demo_run):
    """Every word of the demo-like report stays inside the page's text area. The acquisition table (one column
    per DICOM parameter recorded: photometric, transfer syntax, bits stored, pixel spacing, kVp, rows ...) used
    to run off the page's right edge, clipping its last column."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "report"))
    from page_fill import page_words

    margin = 17 / 25.4 * 72  # report.css: @page margin 17 mm left and right
    _, _, run = demo_run
    over = [f"page {i}: {w.text[:40]!r} ends at {w.x1:.0f} pt of {width - margin:.0f}"
            for i, (width, _, words) in enumerate(page_words(run / "report.pdf"), 1)
            for w in words if w.x1 > width - margin + 1]
    assert not over, "\n".join(over[:10])
