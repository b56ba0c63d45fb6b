"""Page layout of the report PDF: no near-empty pages, figure labels complete and distinct.

A near-empty page (a few lines, then a forced page break or a figure that did not fit) is what a
reviewer trips on (issue 15: pp. 9, 13, 26, 33 of the 47-page demo). The fill of a page is the
share of its body height down to the lowest word (tests/report/page_fill.py).
"""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from page_fill import page_fills, page_words
from valkit.report.figures import ForestGroup, ForestPanel, ForestRow, forest_svg

MIN_FILL = 0.25  # a page may end early (a figure moved on whole), not after a few lines


def _forced_breaks(rendered) -> set[str]:
    """The first body line of each page a page break is forced before (front matter, new_page
    sections, the first appendix)."""
    from valkit.report.context import build_context

    ctx = build_context(json.loads((rendered / "results.json").read_text()), results_sha256="0" * 64)
    forced = {"Document control", "Contents"}
    appendix_seen = False
    for s in ctx["sections"]:
        if s["new_page"] or (s["appendix"] and not appendix_seen):
            forced.add(f"{s['number']} {s['title']}")
        appendix_seen = appendix_seen or s["appendix"]
    return forced


@pytest.mark.slow
def test_no_near_empty_page(rendered):
    fills = page_fills(rendered / "report.pdf")
    forced = _forced_breaks(rendered)
    near_empty = []
    for page, nxt in zip(fills[1:-1], fills[2:]):  # the cover and the last page may be short
        if nxt.first_line in forced:
            continue  # the end of the front matter or of the body before the appendices
        if page.fill < MIN_FILL:
            near_empty.append(f"page {page.number}: {page.fill:.0%} filled, next page starts "
                              f"{nxt.first_line[:50]!r}")
    assert not near_empty, "near-empty pages:\n" + "\n".join(near_empty)


@pytest.mark.slow
def test_only_front_matter_summary_and_appendices_force_a_page(rendered):
    from valkit.report.context import SECTIONS

    forced = [s.id for s in SECTIONS if s.new_page]
    assert forced == ["executive-summary"], forced


def _label_column(svg: str) -> list[str]:
    """Text of the forest plot's label column (x < the pos/neg column), lines of one row joined."""
    rows: list[list[str]] = []
    last_y = None
    for x, y, text in re.findall(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="start"[^>]*>([^<]*)</text>', svg):
        if float(x) > 20 or not text:
            continue
        y = float(y)
        if last_y is not None and y - last_y < 12:
            rows[-1].append(unescape(text))
        else:
            rows.append([unescape(text)])
        last_y = y
    return [" ".join(r) for r in rows]


def test_forest_labels_are_complete_and_distinct():
    # two sites sharing a 24-character prefix were both printed "Ganga Valley Medical Co…" (issue 15, Fig. 10)
    names = ["Ganga Valley Medical College", "Ganga Valley Medical Centre",
             "Sanjivani Chest Hospital × Borealis Imaging Aurora 14", "F"]
    rows = [ForestRow(n, "10/20", 0.8, 0.7, 0.9) for n in names]
    svg = forest_svg([ForestPanel("Sensitivity", rows, goal=0.7)], title="By site",
                     groups=[ForestGroup("Site", len(rows))])
    labels = _label_column(svg)
    assert "…" not in svg
    for name in names:
        assert name in labels, (name, labels)
    assert len(set(labels)) == len(labels)


def test_wrapped_labels_make_the_rows_taller_not_overlap():
    long = ForestRow("A very long site name that needs three lines at this width", "1/2", 0.5, 0.4, 0.6)
    short = ForestRow("B", "1/2", 0.5, 0.4, 0.6)
    one = forest_svg([ForestPanel("Sensitivity", [short, short])], title="t")
    two = forest_svg([ForestPanel("Sensitivity", [long, short])], title="t")
    height = lambda svg: float(re.search(r'height="([\d.]+)"', svg).group(1))  # noqa: E731
    assert height(two) > height(one)
    ys = [float(y) for y in re.findall(r'<text x="0\.0" y="([\d.]+)" text-anchor="start" font-size="10"', two)]
    assert ys == sorted(ys) and min(b - a for a, b in zip(ys, ys[1:])) >= 10  # lines never overprint


SIDE_MARGIN_PT = 17 / 25.4 * 72  # report.css: @page margin 17 mm left and right


@pytest.mark.slow
def test_no_text_runs_past_the_right_margin(rendered):
    # a digest in a table's detail cell used to push the table off the page
    over = [f"page {i}: {w.text[:40]!r} ends at {w.x1:.0f} pt of {width - SIDE_MARGIN_PT:.0f}"
            for i, (width, _, words) in enumerate(page_words(rendered / "report.pdf"), 1)
            for w in words if w.x1 > width - SIDE_MARGIN_PT + 1]
    assert not over, "\n".join(over[:10])


@pytest.mark.slow
def test_endpoint_names_are_not_one_word_per_line(rendered):
    """The row label of the summary's endpoint table keeps its words on one line ("Area under the ROC
    curve" was set one word per line beside the nowrap number columns)."""
    for _, _, words in page_words(rendered / "report.pdf"):
        texts = [w.text for w in words]
        for i in range(len(texts) - 2):
            if texts[i:i + 3] == ["Area", "under", "the"]:
                assert words[i].y0 == words[i + 1].y0 == words[i + 2].y0, "'Area under the' wraps"
                return
    pytest.fail("no 'Area under the ROC curve' in the PDF")
