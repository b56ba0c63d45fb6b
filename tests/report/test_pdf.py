"""The PDF as a reviewer receives it: text, footers, bookmarks, fonts, figures.

Rendered once from the fake study's results.json, copied alone into an empty folder.
Expected strings are the numbers of that results.json formatted the way the report prints them.
"""
from __future__ import annotations

import json
import re

import pytest

from valkit.report.formatting import ci_text, pct, value_text

pytestmark = pytest.mark.slow  # the session fixture runs the study and renders the PDF (~10 s)


def _results(rendered) -> dict:
    return json.loads((rendered / "results.json").read_text())


def test_renders_from_results_json_alone(rendered):
    assert sorted(p.name for p in rendered.iterdir()) == ["report.html", "report.pdf", "results.json"]
    assert (rendered / "report.pdf").read_bytes().startswith(b"%PDF-")


def test_endpoint_rows_and_verdicts_in_pdf_text(rendered, pdf_text):
    results = _results(rendered)
    labels = {"sensitivity": "Sensitivity", "specificity": "Specificity", "auc": "Area under the ROC curve"}
    lines = pdf_text.splitlines()
    for e in results["endpoints"]:
        kind = "auc" if e["metric"] == "auc" else "proportion"
        est = e["estimate"]
        expected = [labels[e["metric"]], value_text(est["value"], kind), ci_text(est["interval"], kind),
                    e["verdict"]]
        goal = f"{e['goal']:.3f}" if kind == "auc" else pct(e["goal"])
        rows = [ln for ln in lines if all(x in ln for x in expected) and goal in ln]
        assert rows, f"no row for endpoint {e['id']} with {expected} and goal {goal} in the PDF text"
    assert re.search(rf"Overall result\s+{results['verdict']}", pdf_text)


def test_fake_study_verdicts_are_the_known_ones(rendered, pdf_text):
    """The fake study fails on sensitivity (lower bound below 70%) and passes on specificity."""
    results = _results(rendered)
    verdicts = {e["id"]: e["verdict"] for e in results["endpoints"]}
    assert verdicts["sensitivity"] == "FAIL" and verdicts["specificity"] == "PASS"
    assert results["verdict"] == "FAIL"
    assert "not met" in pdf_text


def test_every_page_has_document_id_and_page_x_of_y(rendered, pdf_text, poppler):
    doc_id = _results(rendered)["protocol"]["regulatory"]["document_id"]
    n_pages = int(re.search(r"Pages:\s+(\d+)", poppler("pdfinfo", str(rendered / "report.pdf"))).group(1))
    pages = pdf_text.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) == n_pages > 5
    for i, page in enumerate(pages, start=1):
        assert doc_id in page, f"page {i}: document id {doc_id} missing from the footer"
        assert f"Page {i} of {n_pages}" in page, f"page {i}: footer 'Page {i} of {n_pages}' missing"


def test_bookmarks_for_every_section(rendered, poppler):
    xml = poppler("pdftohtml", "-xml", "-i", "-q", "-stdout", str(rendered / "report.pdf"))
    outline = xml[xml.index("<outline>"):]
    titles = re.findall(r'<item page="\d+">([^<]+)</item>', outline)
    for expected in ("Contents", "Executive summary", "Test data", "Primary results", "Sites and scanners",
                     "Limitations", "Conclusions", "Appendix A Provenance", "Appendix B Tool validation",
                     "Appendix C STARD 2015 checklist", "Appendix D CLAIM 2024 checklist",
                     "Appendix E TRIPOD+AI checklist", "Appendix F FDA cross-reference",
                     "Appendix G CDSCO cross-reference", "Appendix H Per-case listing"):
        assert any(expected in t for t in titles), f"no PDF bookmark for {expected!r}; have {titles}"


def test_contents_page_numbers_point_at_the_sections(rendered, pdf_text):
    pages = [p for p in pdf_text.split("\f") if p.strip()]
    contents = next(p for p in pages if "Contents" in p and "List of tables" in p)
    m = re.search(r"Primary results[ .]*?(\d+)\s*$", contents, re.M)
    assert m, "contents line for Primary results has no page number"
    target = pages[int(m.group(1)) - 1]
    assert re.search(r"^\s*\d+\s+Primary results", target, re.M)


def test_fonts_embedded_and_no_javascript(rendered, poppler):
    fonts = poppler("pdffonts", str(rendered / "report.pdf")).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the 'emb' column
    info = poppler("pdfinfo", str(rendered / "report.pdf"))
    assert re.search(r"JavaScript:\s+no", info) and re.search(r"Encrypted:\s+no", info)
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+", info)  # A4


def test_no_nan_or_none_in_pdf_text(pdf_text):
    assert not re.search(r"\b(nan|NaN|None|inf|null)\b", pdf_text)


def test_pdf_has_2x2_counts_and_failures_counted_as_errors(rendered, pdf_text):
    results = _results(rendered)
    c = results["primary"]["confusion"]
    assert re.search(rf"Index test positive\s+TP {c['tp']}\s+FP {c['fp']}", pdf_text)
    assert re.search(rf"Index test negative\s+FN {c['fn']}\s+TN {c['tn']}", pdf_text)
    both = results["failures_counted_as_errors"]["confusion"]
    assert re.search(rf"TP {both['tp']}\s+FP {both['fp']}", pdf_text)
    assert "cases.csv" in pdf_text
