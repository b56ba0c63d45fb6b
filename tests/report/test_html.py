"""The HTML report from results.json: content rules, optional sections, edge cases.

These render HTML only (fast); the PDF itself is checked in test_pdf.py.
"""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from valkit.cli import main
from valkit.errors import InputError
from valkit.report import render_report
from valkit.report.formatting import pct
from valkit.report.render import render_html


@pytest.fixture(scope="module")
def results(fake_run) -> dict:
    return json.loads((fake_run / "results.json").read_text())


def _html(results: dict) -> str:
    return render_html(results, results_sha256="0" * 64)


def _visible_text(html: str) -> str:
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _section(html: str, anchor: str) -> str:
    start = html.index(f'<section id="{anchor}"')
    return html[start:html.index("</section>", start)]


def test_html_has_roc_svg_with_alt_text(results):
    html = _html(results)
    roc = re.search(r'<svg[^>]*class="figure-svg roc".*?</svg>', html, re.S)
    assert roc, "no inline ROC <svg> in the HTML"
    assert "<title" in roc.group(0) and "<desc" in roc.group(0)
    assert "<circle" in roc.group(0)  # the operating point is marked
    assert "<polyline" in roc.group(0)


def test_no_nan_none_or_null_in_visible_text(results):
    text = _visible_text(_html(results))
    assert not re.search(r"\b(nan|NaN|None|null|inf)\b", text)


def test_cli_report_command_writes_html(fake_run, tmp_path):
    (tmp_path / "results.json").write_bytes((fake_run / "results.json").read_bytes())
    assert main(["report", str(tmp_path), "--format", "html"]) == 0
    assert (tmp_path / "report.html").is_file() and not (tmp_path / "report.pdf").exists()


def test_unknown_format_is_an_input_error(fake_run):
    with pytest.raises(InputError, match="docx"):
        render_report(fake_run, formats=("docx",))


def test_missing_results_json_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="results.json"):
        render_report(tmp_path, formats=("html",))


def test_rendering_is_deterministic(results):
    assert _html(results) == _html(results)


def test_null_estimates_print_not_estimable_with_their_warning(results):
    r = copy.deepcopy(results)
    warning = "sensitivity is not estimable: no reference-positive cases in this group"
    r.pop("sites_and_scanners", None)  # the per-level tables alone (no heterogeneity analysis)
    r["by_site"][0]["sensitivity"].update(value=None, interval=None, warnings=[warning])
    r["primary"]["lr_negative"].update(value=None, interval=None, warnings=["LR- undefined: specificity is 0"])
    r["endpoints"][0]["estimate"].update(value=None, interval=None, warnings=[warning])
    r["endpoints"][0]["verdict"] = "NOT ESTIMABLE"
    html = _html(r)
    text = _visible_text(html)
    assert "not estimable" in _section(html, "sites-and-scanners")
    assert warning in _section(html, "sites-and-scanners")
    assert "LR- undefined: specificity is 0" in _section(html, "primary-results")
    assert "NOT ESTIMABLE" in _section(html, "executive-summary")
    assert not re.search(r"\b(nan|NaN|None|null)\b", text)


def test_insufficient_evidence_replaces_the_estimate(results):
    r = copy.deepcopy(results)
    r.pop("sites_and_scanners", None)  # the per-level tables alone (no heterogeneity analysis)
    row = r["by_site"][1]
    row["sufficient_evidence"] = False
    html = _section(_html(r), "sites-and-scanners")
    table_row = re.search(rf"<tr class=\"insufficient\">.*?{re.escape(row['level'])}.*?</tr>", html, re.S)
    assert table_row, "the level without sufficient evidence is not flagged"
    assert "insufficient evidence" in table_row.group(0)
    assert pct(row["sensitivity"]["value"]) not in table_row.group(0)
    assert f">{row['confusion']['tp']}<" in table_row.group(0)  # raw counts are still shown


def test_exploratory_banner(results):
    assert "EXPLORATORY" not in _html(results)
    r = copy.deepcopy(results)
    r["operating_point"].update(exploratory=True, source="choose_on_test_data",
                                note="EXPLORATORY: threshold chosen on the test data itself")
    html = _html(r)
    assert html.count("exploratory-banner") >= 3  # cover, summary, primary results
    assert '@top-right { content: "EXPLORATORY"; }' in html  # every PDF page header


def test_optional_sections_render_only_when_present(results):
    r = copy.deepcopy(results)
    for key in ("sites_and_scanners", "failures_counted_as_errors"):
        del r[key]
    r["by_site"] = r["by_manufacturer"] = []  # how results.json says a column was not recorded
    html = _html(r)
    assert 'id="sites-and-scanners"' not in html
    assert "counted as errors</h2>" not in html
    numbers = re.findall(r'<span class="secnum">(\d+)</span>', html)
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)], "section numbers have a gap"


def test_percent_agreement_wording_without_true_reference_standard(results):
    r = copy.deepcopy(results)
    r["protocol"]["reference_standard"]["is_true_reference_standard"] = False
    r["protocol"]["reference_standard"]["kind"] = "comparator"  # the two spellings must agree
    html = _html(r)
    assert "Positive percent agreement (PPA)" in _section(html, "executive-summary")


def test_no_patient_identifiers(results, fake_run):
    """results.json holds no patient ids; the report must not print any cases.csv value either."""
    import csv

    with open(fake_run / "cases.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    text = _visible_text(_html(results))
    leaked = {row["patient_id"] for row in rows if row["patient_id"] and re.search(
        rf"\b{re.escape(row['patient_id'])}\b", text)}
    assert not leaked


def test_user_text_is_escaped(results):
    r = copy.deepcopy(results)
    r["protocol"]["title"] = "<script>alert(1)</script> & co"
    r["by_site"][0]["level"] = "<b>Site</b>"
    html = _html(r)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<b>Site</b>" not in html


def test_renderer_does_not_import_statistics_code(fake_run):
    """Seam 3: the renderer reads results.json only; valkit.stats and valkit.analyses stay unloaded."""
    code = ("import sys; from pathlib import Path; from valkit.report import render_report; "
            f"render_report(Path({str(fake_run)!r}), formats=('html',)); "
            "bad = [m for m in sys.modules if m.startswith(('valkit.stats', 'valkit.analyses'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stdout + out.stderr


def test_one_sites_section_with_the_heterogeneity_analysis_when_present(results):
    """by_site/by_manufacturer and the heterogeneity analysis render as one section, not two."""
    assert results.get("sites_and_scanners") is not None
    r = copy.deepcopy(results)
    warning = "sensitivity not estimable: no positive cases"
    cell = r["sites_and_scanners"]["families"][0]["cells"][0]
    cell["sufficient_evidence"] = True
    cell["sensitivity"].update(value=None, interval=None, warnings=[warning])
    html = _html(r)
    ids = re.findall(r'<section id="([^"]+)"', html)
    assert ids.count("sites-and-scanners") == 1 and not any("heterogeneity" in i for i in ids)
    sec = _section(html, "sites-and-scanners")
    assert "Random-effects pooling and heterogeneity by site" in sec and "Accuracy by site:" not in sec
    assert "not estimable" in sec and warning in sec
