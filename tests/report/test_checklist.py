"""The STARD 2015 cross-reference appendix: every item once, honest statuses, links to real sections."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from valkit.report.context import SECTIONS, build_context
from valkit.report.checklists import MISSING, NOT_APPLICABLE, PARTLY, REPORTED
from valkit.report.checklists import cdsco, claim, fda, stard, tripod_ai
from valkit.report.sections.checklist import ITEMS, build
from valkit.results_schema import Results, validate_results

STARD_2015 = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10a", "10b", "11", "12a", "12b", "13a", "13b", "14",
              "15", "16", "17", "18", "19", "20", "21a", "21b", "22", "23", "24", "25", "26", "27", "28", "29", "30"]


def test_every_stard_item_once_in_order_and_linked_to_a_section_that_exists():
    # Bossuyt et al. (2015) BMJ 351:h5527: 30 items, 10, 12, 13 and 21 in two parts (34 rows)
    assert [i.number for i in ITEMS] == STARD_2015
    ids = {s.id for s in SECTIONS}
    assert all(i.anchor in ids for i in ITEMS)
    for cl in (claim, tripod_ai, cdsco):
        assert all(i.anchor in ids for i in cl.ITEMS), cl.__name__
    assert all(i.anchor in ids for i in fda.GUIDANCE)


def typed(results: dict) -> Results:
    """The checklists read the typed results (as the report gives them: validated)."""
    return validate_results(results)


def without(results: dict, block: str) -> Results:
    """The typed results with ``block`` absent (a required block too: the conditions must follow the data)."""
    return typed(results).model_copy(update={block: None})


def test_statuses_follow_the_results(fake_run):
    results = json.loads((fake_run / "results.json").read_text())
    rows = {r["number"]: r for r in build(typed(results), {})["rows"]}
    assert rows["23"]["status"] == REPORTED and rows["23"]["anchor"] == "primary-results"
    assert rows["28"]["status"] == MISSING and rows["28"]["anchor"] is None and "sponsor" in rows["28"]["note"]
    # the fake study uses external predictions: valkit cannot say what the vendor's model saw
    assert results["model"]["kind"] == "external_predictions" and rows["13a"]["status"] == MISSING
    assert {r["number"]: r for r in build(without(results, "primary"), {})["rows"]}["24"]["status"] != REPORTED


def test_the_appendix_links_render_with_page_numbers(fake_run):
    from valkit.report.render import render_html

    results = json.loads((fake_run / "results.json").read_text())
    html = render_html(results, results_sha256="0" * 64)
    sec = html.split('id="stard-checklist"', 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a class="xref" href="#([^"]+)"></a>', sec)
    assert links and all(f'id="{a}"' in html for a in links)
    assert "a.xref::after" in html and "target-counter(attr(href), page)" in html
    ctx = build_context(results, results_sha256="0" * 64)
    assert [s["id"] for s in ctx["sections"]][-6:] == ["stard-checklist", "claim-checklist", "tripod-ai-checklist",
                                                       "fda-cross-reference", "cdsco-cross-reference",
                                                       "per-case-listing"]


CHECKLISTS = {"claim-checklist": claim.CHECKLIST, "tripod-ai-checklist": tripod_ai.CHECKLIST,
              "fda-cross-reference": fda.CHECKLIST, "cdsco-cross-reference": cdsco.CHECKLIST}


def test_claim_and_tripod_ai_item_numbering():
    # CLAIM 2024: Tejani et al. (2024) Radiol Artif Intell 6(4):e240300, 44 items (test_claim_2024_* below)
    assert [i.number for i in claim.ITEMS] == [str(n) for n in range(1, 45)]
    # TRIPOD+AI: Collins et al. (2024) BMJ 385:e078378, 27 items, several in parts
    numbers = [i.number for i in tripod_ai.ITEMS]
    assert len(numbers) == len(set(numbers)) == 52
    assert sorted({int(n.rstrip("abcdefg")) for n in numbers}) == list(range(1, 28))
    assert [n for n in numbers if n.startswith("12")] == ["12a", "12b", "12c", "12d", "12e", "12f", "12g"]
    # development-only items carry the reason they do not apply
    assert all(i.otherwise_note for i in tripod_ai.ITEMS if i.otherwise == NOT_APPLICABLE)


def _with_regulation(results: dict, number: str) -> dict:
    r = json.loads(json.dumps(results))
    r["protocol"]["regulatory"]["fda"]["regulation_number"] = number
    return r


@pytest.mark.parametrize("regulation", ["21 CFR 892.2050", "21 CFR 892.2060", "21 CFR 892.2070", "21 CFR 892.2080",
                                        "21 CFR 892.2090"])
def test_every_mapped_anchor_exists_in_the_rendered_report(fake_run, regulation):
    from valkit.report.render import render_html

    results = _with_regulation(json.loads((fake_run / "results.json").read_text()), regulation)
    html = render_html(results, results_sha256="0" * 64)
    ctx = {s["id"]: s for s in build_context(results, results_sha256="0" * 64)["sections"]}
    for sid in ("stard-checklist", *CHECKLISTS):
        rows = ctx[sid]["ctx"]["rows"]
        # every row that the data answer links to a section that is in this report (none dropped)
        assert all(r["anchor"] for r in rows if r["status"] in (REPORTED, PARTLY)), sid
        sec = html.split(f'id="{sid}"', 1)[1].split("</section>", 1)[0]
        links = re.findall(r'<a class="xref" href="#([^"]+)"></a>', sec)
        assert len(links) == sum(bool(r["anchor"]) for r in rows)
        assert all(f'id="{a}"' in html for a in links), sid
    section = regulation.split()[-1]
    fda_rows = ctx["fda-cross-reference"]["ctx"]["rows"]
    assert sum(r["group"].startswith(f"Special controls of 21 CFR {section}") for r in fda_rows) == \
        len(fda.SPECIAL_CONTROLS[section][1])


def test_counts_and_statuses_are_honest(fake_run):
    results = json.loads((fake_run / "results.json").read_text())
    for cl in CHECKLISTS.values():
        ctx = build_context(results, results_sha256="0" * 64)
        sec = next(s for s in ctx["sections"] if s["id"] == cl.id)["ctx"]
        assert sum(sec["counts"].values()) == sec["n"] == len(sec["rows"])
        # nothing valkit cannot know is claimed: every row not answered names who must answer it
        for r in sec["rows"]:
            if r["status"] == MISSING:
                assert r["note"], (cl.id, r["number"])
    fda_rows = build_context(results, results_sha256="0" * 64)["sections"]
    fda_ctx = next(s for s in fda_rows if s["id"] == "fda-cross-reference")["ctx"]
    cyber = next(r for r in fda_ctx["rows"] if r["number"] == "Cybersecurity")
    assert cyber["status"] == MISSING and "to be supplied by the sponsor" in cyber["note"]


def test_an_item_flips_to_missing_when_its_data_is_absent(fake_run):
    from valkit.report.checklists import build as build_checklist

    results = json.loads((fake_run / "results.json").read_text())
    doc = {}
    before = {r["number"]: r for r in build_checklist(claim.CHECKLIST, typed(results), doc)["rows"]}
    assert before["38"]["status"] == REPORTED and before["38"]["anchor"] == "primary-results"
    after = {r["number"]: r for r in build_checklist(claim.CHECKLIST, without(results, "primary"), doc)["rows"]}
    assert after["38"]["status"] == MISSING and after["38"]["anchor"] is None
    tripod = {r["number"]: r for r in build_checklist(tripod_ai.CHECKLIST, without(results, "primary"), doc)["rows"]}
    assert tripod["23a"]["status"] == MISSING


def test_a_link_to_a_section_missing_from_the_report_is_dropped(fake_run):
    from valkit.report.checklists import build as build_checklist

    results = json.loads((fake_run / "results.json").read_text())
    rows = build_checklist(claim.CHECKLIST, typed(results), {"sections_present": ["executive-summary"]})["rows"]
    assert {r["anchor"] for r in rows} <= {None, "executive-summary"}


def test_fda_and_cdsco_appendices_follow_the_protocol_targets(fake_run):
    from valkit.report.checklists import build as build_checklist

    results = json.loads((fake_run / "results.json").read_text())
    results["protocol"]["regulatory"]["targets"] = ["CDSCO"]
    assert build_checklist(fda.CHECKLIST, typed(results), {}) is None
    assert build_checklist(cdsco.CHECKLIST, typed(results), {}) is not None
    unknown = _with_regulation(json.loads((fake_run / "results.json").read_text()), "21 CFR 892.1000")
    rows = build_checklist(fda.CHECKLIST, typed(unknown), {})["rows"]
    assert rows[-1]["status"] == MISSING and "no table" in rows[-1]["note"]


def test_reporting_guidelines_listed_as_followed_point_to_their_appendix(fake_run):
    from valkit.report.render import render_html

    results = json.loads((fake_run / "results.json").read_text())
    html = render_html(results, results_sha256="0" * 64)
    sec = html.split('id="regulatory-basis"', 1)[1].split("</section>", 1)[0]
    assert "CLAIM" in sec and 'href="#claim-checklist"' in sec and 'href="#tripod-ai-checklist"' in sec
    assert "rationale to be supplied by the sponsor" in sec
    results["protocol"]["regulatory"]["cdsco"]["class_rationale"] = "Rule 7: software for diagnosis"
    html = render_html(results, results_sha256="0" * 64)
    assert "Rule 7: software for diagnosis" in html and "rationale to be supplied by the sponsor" not in html


def test_sample_size_rows_are_reported_partly_from_the_sample_size_block(fake_run):
    """STARD 18, CLAIM 'intended sample size' and TRIPOD+AI 10: with results.json's sample_size block the
    report gives the achieved precision and power (section 'Sample size and achieved power'); the protocol's
    own justification stays the sponsor's (status partly, never reported in full)."""
    from valkit.report.checklists import build as build_checklist

    results = json.loads((fake_run / "results.json").read_text())
    assert results.get("sample_size") is not None
    number = {"stard": "18", "claim": "21", "tripod": "10"}
    for name, checklist in (("stard", stard.CHECKLIST), ("claim", claim.CHECKLIST), ("tripod", tripod_ai.CHECKLIST)):
        row = {r["number"]: r for r in build_checklist(checklist, typed(results), {})["rows"]}[number[name]]
        assert row["status"] == PARTLY and row["anchor"] == "statistical-methods", (name, row)
        assert "Sample size and achieved power" in row["note"] and "to be supplied by the sponsor" in row["note"]
    del results["sample_size"]
    for name, checklist in (("stard", stard.CHECKLIST), ("claim", claim.CHECKLIST), ("tripod", tripod_ai.CHECKLIST)):
        row = {r["number"]: r for r in build_checklist(checklist, typed(results), {})["rows"]}[number[name]]
        assert row["status"] == MISSING and row["anchor"] is None


CLAIM_2024 = Path(__file__).resolve().parents[1] / "data" / "checklists" / "claim_2024_items.csv"


def _claim_2024_reference() -> list[dict[str, str]]:
    """The 44 items of CLAIM 2024 (Tejani et al., Radiol Artif Intell 2024;6(4):e240300), transcribed from the
    official RSNA checklist with its provenance in tests/data/checklists/PROVENANCE.md."""
    with CLAIM_2024.open(newline="") as f:
        return list(csv.DictReader(f))


def test_claim_2024_numbering_and_headings_match_the_published_checklist():
    ref = _claim_2024_reference()
    assert [r["number"] for r in ref] == [str(n) for n in range(1, 45)]
    assert [i.number for i in claim.ITEMS] == [r["number"] for r in ref]
    for item, r in zip(claim.ITEMS, ref):
        # methods rows are listed under their subsection (Data, Reference standard ...), results rows as
        # "Results: <subsection>", the others under their section
        heading = r["topic"] if r["section"] == "Methods" else (
            f"{r['section']}: {r['topic']}" if r["topic"] else r["section"])
        assert item.topic.lower() == heading.lower(), (item.number, item.topic, heading)
    # spot checks of items whose number moved from CLAIM 2020 (Mongan et al. 2020) to 2024
    by_number = {i.number: i for i in claim.ITEMS}
    assert "sample size" in by_number["21"].text.lower()
    assert "acquisition protocol" in by_number["13"].text.lower()
    assert "external" in by_number["33"].text.lower() and "registration" in by_number["34"].text.lower()
    assert "failure analysis" in by_number["39"].text.lower()
    assert "availability" in by_number["43"].text.lower() and "funding" in by_number["44"].text.lower()


def test_claim_appendix_names_the_2024_update():
    text = claim.CHECKLIST.title + " " + claim.CHECKLIST.intro + " " + claim.CHECKLIST.citation
    assert "CLAIM 2024" in claim.CHECKLIST.title and "Tejani" in text and "e240300" in text
    assert "44 items" in claim.CHECKLIST.intro


def test_stated_eligibility_and_truthers_answer_their_items(fake_run):
    """Eligibility (STARD 6, TRIPOD+AI 6b, CLAIM 8) and the truthers (CLAIM 16, 17) are reported from the
    protocol when it states them, and left to the sponsor when it does not."""
    from valkit.report.checklists import build as build_checklist

    results = json.loads((fake_run / "results.json").read_text())
    rows = {name: {r["number"]: r for r in build_checklist(c, typed(results), {})["rows"]}
            for name, c in (("stard", stard.CHECKLIST), ("tripod", tripod_ai.CHECKLIST), ("claim", claim.CHECKLIST))}
    for name, number in (("stard", "6"), ("tripod", "6b"), ("claim", "8"), ("claim", "16"), ("claim", "17")):
        assert "to be supplied by the sponsor" in rows[name][number]["note"] or \
            "stated by the sponsor" in rows[name][number]["note"], (name, number)
    results["protocol"]["eligibility"] = {"inclusion": ["Adults"], "exclusion": ["Implants"]}
    results["protocol"]["reference_standard"]["truthers"] = {"number": 3, "qualifications": "thoracic radiologists"}
    rows = {name: {r["number"]: r for r in build_checklist(c, typed(results), {})["rows"]}
            for name, c in (("stard", stard.CHECKLIST), ("tripod", tripod_ai.CHECKLIST), ("claim", claim.CHECKLIST))}
    for name, number in (("stard", "6"), ("tripod", "6b"), ("claim", "8")):
        assert rows[name][number]["status"] == REPORTED and "inclusion and exclusion" in rows[name][number]["note"]
    assert rows["claim"]["16"]["status"] == REPORTED and "qualifications" in rows["claim"]["16"]["note"]
    assert rows["claim"]["17"]["status"] == PARTLY
