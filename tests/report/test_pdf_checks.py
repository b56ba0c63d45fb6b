"""The report PDF passes valkit's structural PDF/A-2b and accessibility checks (valkit.report.pdf_checks).

The checks follow ISO 19005-2 (PDF/A-2: XMP identification 6.6.4, output intent 6.2.3, embedded
fonts 6.2.11.4, no encryption 6.1.3, no JavaScript/Launch actions 6.5.1/6.6.1, no embedded
non-PDF/A files 6.8) and FDA's "Portable Document Format (PDF) Specifications" (bookmarks,
searchable text, fonts embedded, no security). Each check is shown failing on a PDF made to break it.
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from valkit.report.pdf_checks import CHECKS, LIMITS, check_pdf, failed, figure_alt_texts

pytestmark = pytest.mark.slow  # uses the session's rendered fake-study report

DOCS = Path(__file__).resolve().parents[2] / "docs" / "report.md"


@pytest.fixture(scope="module")
def section_titles(rendered) -> list[str]:
    from valkit.report.context import build_context

    ctx = build_context(json.loads((rendered / "results.json").read_text()), results_sha256="0" * 64)
    return [s["title"] for s in ctx["sections"]]


@pytest.fixture(scope="module")
def report_checks(rendered, section_titles):
    return check_pdf(rendered / "report.pdf", section_titles=section_titles)


@pytest.fixture(scope="module")
def small_pdf() -> bytes:
    """A two-page tagged PDF/A-2b through valkit's own html_to_pdf (one figure with a title)."""
    from valkit.report.render import html_to_pdf

    html = ('<!DOCTYPE html><html lang="en"><head><title>Small</title><style>@page { @bottom-right { '
            'content: "Page " counter(page) " of " counter(pages); } } h1 { bookmark-level: 1; }</style></head>'
            '<body><h1>First</h1><p>Some text.</p><svg xmlns="http://www.w3.org/2000/svg" role="img" width="20" '
            'height="20"><title>A square</title><rect width="20" height="20"/></svg>'
            '<h1 style="break-before: page">Second</h1><p>More text.</p></body></html>')
    return html_to_pdf(html, base_url=Path("."))


def test_report_passes_every_check(report_checks):
    assert [c.name for c in report_checks] == [name for name, _ in CHECKS]
    assert not failed(report_checks), "\n".join(failed(report_checks))


def test_every_figure_in_the_report_has_alt_text(report_checks, rendered):
    tagged = next(c for c in report_checks if c.name == "tagged")
    html = (rendered / "report.html").read_text()
    n_figures = html.count("<svg") + html.count("<img")
    assert f"{n_figures} figure(s), 0 without /Alt" in tagged.detail, (n_figures, tagged.detail)


def test_alt_text_says_what_the_figure_shows(rendered):
    """/Alt carries the SVG's description (the numbers drawn), not only its title."""
    results = json.loads((rendered / "results.json").read_text())
    alts = figure_alt_texts(rendered / "report.pdf")
    roc = next(a for a in alts if a.startswith("ROC curve"))
    assert f"{results['primary']['auc']['value']:.3f}" in roc, roc
    forests = [a for a in alts if a.startswith("Sensitivity and specificity by")]
    assert forests and all(re.search(r"\d+\.\d%", a) for a in forests), forests[:3]


def test_small_pdf_passes(small_pdf):
    assert not failed(check_pdf(small_pdf, section_titles=["First", "Second"]))


def _by_name(checks) -> dict[str, bool]:
    return {c.name: c.passed for c in checks}


def test_plain_pdf_fails_pdfa_and_tagging_checks(small_pdf):
    from valkit.report.render import _weasyprint

    plain = _weasyprint().HTML(string="<html><body><h1>x</h1><svg width='9' height='9'></svg></body></html>").write_pdf()
    got = _by_name(check_pdf(plain, section_titles=["Missing heading"]))
    for name in ("pdfa_identification", "output_intent", "tagged", "bookmarks", "page_x_of_y", "info_matches_xmp"):
        assert got[name] is False, name


def _rewrite(pdf: bytes, change) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("name, change", [
    ("no_javascript", lambda w: w._root_object.__setitem__(  # noqa: SLF001 - an open action running JavaScript
        NameObject("/OpenAction"), DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                                     NameObject("/JS"): TextStringObject("app.alert(1);")}))),
    ("no_embedded_files", lambda w: w.add_attachment("data.csv", b"a,b\n")),
    ("not_encrypted", lambda w: w.encrypt("", "owner", algorithm="RC4-128")),
])
def test_each_forbidden_feature_is_caught(small_pdf, name, change):
    assert _by_name(check_pdf(small_pdf, section_titles=["First"]))[name] is True
    assert _by_name(check_pdf(_rewrite(small_pdf, change), section_titles=["First"]))[name] is False


def test_figure_without_alt_is_caught(small_pdf):
    def strip_alt(writer):
        for obj in writer._objects:  # noqa: SLF001 - test surgery on the structure tree
            if obj is not None and hasattr(obj, "get") and obj.get("/S") == "/Figure":
                del obj["/Alt"]

    assert _by_name(check_pdf(_rewrite(small_pdf, strip_alt)))["tagged"] is False


def test_docs_name_every_check_and_its_limits():
    text = " ".join(DOCS.read_text().split())
    for name, what in CHECKS:
        assert f"`{name}`" in text, f"docs/report.md does not describe the check {name}"
    assert "veraPDF" in text and "not a PDF/A validator" in text, "docs/report.md must state the checks' limits"
    assert LIMITS
