"""The "Reader study" section of the report, rendered from results.json alone."""
from __future__ import annotations

import copy
import re
import shutil
import subprocess
from html import unescape

import pytest

from valkit.report.formatting import value_text
from valkit.report.render import render_html
from valkit.report.sections.reader_study import signed, signed_ci


def _html(results: dict) -> str:
    return render_html(results, results_sha256="0" * 64)


def _section(html: str, anchor: str) -> str:
    start = html.index(f'<section id="{anchor}"')
    return html[start:html.index("</section>", start)]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture(scope="module")
def html(reader_results) -> str:
    return _html(reader_results)


def test_section_prints_design_verdict_and_difference(html, reader_results):
    rs = reader_results["reader_study"]
    sec = _section(html, "reader-study")
    text = _text(sec)
    assert "Reader study" in sec
    assert "4 readers each interpreted 60 cases (30 reference positive, 30 reference negative)" in text
    assert "fully crossed" in text and "Washout between the readings of a case: 28 days" in text
    ep = rs["endpoint"]
    d = ep["difference"]
    assert f"{signed(d['estimate'], 'auc')} (95% CI {signed_ci(d['interval'], 'auc')}" in text
    assert ep["verdict"] in text and ep["conclusion"] in text
    assert "H 0 : ΔAUC ≤ -0.050" in text
    for mod in ("aided", "unaided"):
        est = rs["estimates"][mod]
        assert value_text(est["value"], "auc") in text
    assert "Obuchowski" in text and "Hillis" in text  # the methods line


def test_every_reader_and_analysis_is_in_the_tables(html, reader_results):
    rs = reader_results["reader_study"]
    text = _text(_section(html, "reader-study"))
    for row in rs["per_reader"]:
        assert re.search(rf"{row['reader']} {re.escape(value_text(row['unaided'], 'auc'))} "
                         rf"{re.escape(value_text(row['aided'], 'auc'))} aided − unaided", text), row
    for name in ("RRRC", "FRRC", "RRFC"):
        d = rs["tests"][name]["differences"][0]
        assert f"({name}" in text and signed_ci(d["interval"], "auc") in text
    model = rs["model"]
    assert f"standalone AUC on the same cases is {value_text(model['value'], 'auc')}" in text
    for v in model["vs_readers"]:
        assert f"model − readers {v['modality']}" in text and signed(v["RRRC"]["estimate"], "auc") in text
    sens = rs["binary"]["sensitivity"]["estimates"]["aided"]["value"]
    assert "Sensitivity (rating ≥ 3)" in text and f"{sens * 100:.1f}%" in text


def test_figures_are_vector_with_alt_text(html, reader_results):
    sec = _section(html, "reader-study")
    svgs = re.findall(r"<svg.*?</svg>", sec, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        assert "<title" in svg and "<desc" in svg
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svgs[0], flags=re.S).group(1)
    aided = reader_results["reader_study"]["estimates"]["aided"]
    assert f"aided {value_text(aided['value'], 'auc')}" in desc and "model" in desc
    assert svgs[0].count("<polyline") == 2 * (4 + 1 + 1)  # per panel: 4 readers, the average, the model


def test_secondary_row_in_executive_summary_and_objectives(html, reader_results):
    ep = reader_results["reader_study"]["endpoint"]
    summary = _text(_section(html, "executive-summary"))
    row = re.search(r"Reader study: ΔAUC aided − unaided \(non-inferiority\) secondary 4 readers, 60 cases "
                    r"(\S+) (.+?) > -0.050 (\S+) (PASS|FAIL)", summary)
    assert row, summary
    assert row.group(1) == signed(ep["difference"]["estimate"], "auc")
    assert row.group(3) == signed(ep["difference"]["interval"]["low"], "auc")
    assert row.group(4) == ep["verdict"]
    assert "ΔAUC > -0.050" in _text(_section(html, "objectives"))
    # a secondary endpoint does not enter the "Not met" list of primary endpoints
    assert "Reader study" not in summary.split("Not met:")[-1].split(".")[0]


def test_warnings_are_printed_and_absent_section_is_omitted(reader_results):
    r = copy.deepcopy(reader_results)
    r["reader_study"]["warnings"] = ["var_TR: the OR variance component estimate is negative (-6.0e-05)"]
    # printed with the component's symbol, not its results.json key
    assert "σ²TR: the OR variance component estimate is negative (-6.0e-05)" in _section(_html(r), "reader-study")
    del r["reader_study"]
    html = _html(r)
    assert 'id="reader-study"' not in html and "Reader study: Δ" not in html


def test_section_without_model_or_threshold(reader_results):
    r = copy.deepcopy(reader_results)
    rs = r["reader_study"]
    rs["model"], rs["binary"], rs["reading_time"] = None, None, None
    rs["roc"].pop("model")
    sec = _section(_html(r), "reader-study")
    assert "Model standalone versus readers" not in sec and "Sensitivity and specificity" not in sec
    assert re.findall(r"<svg.*?</svg>", sec, flags=re.S)[0].count("<polyline") == 2 * 5


@pytest.mark.slow  # WeasyPrint renders the whole report (~15 s)
def test_pdf_has_the_section_and_the_difference(reader_run, reader_results, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found: install poppler-utils (`make sysdeps`) to check the PDF text")
    from valkit.report import render_report

    shutil.copy(reader_run / "results.json", tmp_path / "results.json")
    render_report(tmp_path, formats=("pdf",))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert re.search(r"\d+\s+Reader study", text)  # a numbered section heading (and its contents entry)
    ep = reader_results["reader_study"]["endpoint"]
    d = ep["difference"]
    assert "ΔAUC (aided − unaided)" in text
    assert f"{signed(d['estimate'], 'auc')} (95% CI {signed_ci(d['interval'], 'auc')}" in text
    assert re.search(rf"Result\s+{ep['verdict']} — {ep['conclusion']}", text)


def test_sensitivity_as_the_main_measure(tmp_path, make_study):
    """A binary FOM prints percentages and percentage points, and draws no ROC panel."""
    import json

    from valkit.cli import main

    p = make_study(tmp_path, {"ratings": "ratings.csv", "fom": "sensitivity", "threshold": 3,
                              "hypothesis": "non_inferiority", "margin": 0.1, "model_scores": "run"})
    assert main(["run", str(p), "--runs-dir", str(tmp_path / "runs"), "--no-report", "--quiet"]) in (0, 1, 4)
    results = json.loads((tmp_path / "runs" / "fake" / "results.json").read_text())
    ep = results["reader_study"]["endpoint"]
    assert ep["fom"] == "sensitivity" and ep["bound"] == -0.1
    text = _text(_section(_html(results), "reader-study"))
    assert "Hypothesis (non-inferiority, margin 10.0 pp)" in text
    assert "ΔSensitivity (rating ≥ 3) ≤ -10.0 pp" in text
    assert signed(ep["difference"]["estimate"], "proportion") in text
    assert "ROC curves of the readers" not in text


def test_section_reads_as_words(html, reader_results):
    """No raw variance-component keys (var_TR), file names or unexplained abbreviations (valkit.report.wording)."""
    from valkit.report.wording import wording_problems

    problems = [p for p in wording_problems(html, reader_results) if p.startswith("section 'Reader study'")]
    assert not problems, "\n".join(problems)
