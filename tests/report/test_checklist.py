"""The STARD 2015 cross-reference appendix: every item once, honest statuses, links to real sections."""
from __future__ import annotations

import json
import re

from valkit.report.context import SECTIONS, build_context
from valkit.report.sections.checklist import ITEMS, MISSING, REPORTED, build

STARD_2015 = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10a", "10b", "11", "12a", "12b", "13a", "13b", "14",
              "15", "16", "17", "18", "19", "20", "21a", "21b", "22", "23", "24", "25", "26", "27", "28", "29", "30"]


def test_every_stard_item_once_in_order_and_linked_to_a_section_that_exists():
    # Bossuyt et al. (2015) BMJ 351:h5527: 30 items, 10, 12, 13 and 21 in two parts (34 rows)
    assert [i[0] for i in ITEMS] == STARD_2015
    ids = {s.id for s in SECTIONS}
    assert all(i[3] in ids for i in ITEMS)


def test_statuses_follow_the_results(fake_run):
    results = json.loads((fake_run / "results.json").read_text())
    rows = {r["number"]: r for r in build(results, {})["rows"]}
    assert rows["23"]["status"] == REPORTED and rows["23"]["anchor"] == "primary-results"
    assert rows["28"]["status"] == MISSING and rows["28"]["anchor"] is None and "sponsor" in rows["28"]["note"]
    # the fake study uses external predictions: valkit cannot say what the vendor's model saw
    assert results["model"]["kind"] == "external_predictions" and rows["13a"]["status"] == MISSING
    del results["primary"]
    assert {r["number"]: r for r in build(results, {})["rows"]}["24"]["status"] != REPORTED


def test_the_appendix_links_render_with_page_numbers(fake_run):
    from valkit.report.render import render_html

    results = json.loads((fake_run / "results.json").read_text())
    html = render_html(results, results_sha256="0" * 64)
    sec = html.split('id="stard-checklist"', 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a class="xref" href="#([^"]+)"></a>', sec)
    assert links and all(f'id="{a}"' in html for a in links)
    assert "a.xref::after" in html and "target-counter(attr(href), page)" in html
    ctx = build_context(results, results_sha256="0" * 64)
    assert [s["id"] for s in ctx["sections"]][-2:] == ["stard-checklist", "per-case-listing"]
