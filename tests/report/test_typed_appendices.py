"""The appendices (provenance, tool validation, per-case listing, the five checklists) read the typed results.

Issue #12 item 4: every section gets :class:`valkit.results_schema.Results` and reads
attributes; a misspelt or renamed key is an error, never a row silently marked "not in this report".
"""
from __future__ import annotations

import json

import pytest

from valkit.report.checklists import MISSING, PARTLY, cdsco, claim, fda, has, stard, tripod_ai
from valkit.report.checklists import build as build_checklist
from valkit.report.context import SECTIONS, build_context
from valkit.report.sections import appendix
from valkit.report.sections.common import document_control
from valkit.results_schema import Results, ResultsSchemaError, validate_results

MINE = ("comparison-with-cleared-version", "provenance", "tool-validation", "stard-checklist", "claim-checklist",
        "tripod-ai-checklist", "fda-cross-reference", "cdsco-cross-reference", "per-case-listing")


@pytest.fixture
def typed(fake_run) -> Results:
    return validate_results(json.loads((fake_run / "results.json").read_text()))


def test_the_sections_are_registered():
    assert set(MINE) <= {s.id for s in SECTIONS}


def test_a_checklist_condition_on_a_misspelt_block_fails_when_defined():
    # before: has("primay") was a condition that was never true, so the row silently read "not in this report"
    with pytest.raises(ValueError, match=r"'primay'.*Did you mean 'primary'\?"):
        has("primay")


def test_every_checklist_condition_reads_typed_results(typed):
    doc = {"sections_present": None}
    for cl in (stard.CHECKLIST, claim.CHECKLIST, tripod_ai.CHECKLIST, fda.CHECKLIST, cdsco.CHECKLIST):
        ctx = build_checklist(cl, typed, doc)
        assert ctx is not None and ctx["n"] == len(ctx["rows"]), cl.id
    # STARD 18 (Bossuyt et al., BMJ 2015;351:h5527): partly answered by the sample_size block, missing without it
    row = {r["number"]: r for r in build_checklist(stard.CHECKLIST, typed, doc)["rows"]}["18"]
    assert row["status"] == PARTLY
    without = typed.model_copy(update={"sample_size": None})
    row = {r["number"]: r for r in build_checklist(stard.CHECKLIST, without, doc)["rows"]}["18"]
    assert row["status"] == MISSING and row["anchor"] is None


def test_fda_special_controls_follow_the_typed_protocol(typed):
    reg = typed.protocol.regulatory
    for number, n_rows in (("21 CFR 892.2080", len(fda.SPECIAL_CONTROLS["892.2080"][1])), (None, 0)):
        fda_target = reg.fda.model_copy(update={"regulation_number": number})
        protocol = typed.protocol.model_copy(update={"regulatory": reg.model_copy(update={"fda": fda_target})})
        items = fda.special_control_items(typed.model_copy(update={"protocol": protocol}))
        assert len(items) == n_rows


def test_provenance_tool_validation_and_listing_from_typed_results(typed):
    doc = document_control(typed, results_sha256="0" * 64)
    prov = appendix.provenance(typed, doc)
    assert prov["digests"][0]["sha256"] == "0" * 64
    assert prov["digests"][1]["sha256"] == typed.provenance.protocol_sha256
    assert prov["valkit"]["version"] == typed.provenance.valkit.version and prov["seed"] == typed.provenance.seed
    tv = appendix.tool_validation(typed, doc)
    assert len(tv["rows"]) == typed.tool_validation.n and tv["verdict"] == typed.tool_validation.verdict
    listing = appendix.per_case_listing(typed, doc)
    assert listing["columns"] == typed.per_case_listing.columns
    # the shared helper (also used by the failure analysis) reads the typed results
    assert appendix.identifiers_sentence(typed) == listing["identifiers"]
    assert listing["identifiers"].startswith("Case and patient ids are")


def test_a_renamed_tool_validation_key_is_an_error_naming_it(fake_run):
    results = json.loads((fake_run / "results.json").read_text())
    check = results["tool_validation"]["checks"][0]
    check["obtaned"] = check.pop("obtained")
    with pytest.raises(ResultsSchemaError) as err:
        build_context(results, results_sha256="0" * 64)
    assert "tool_validation.checks[0].obtained: missing" in str(err.value)
    assert "tool_validation.checks[0].obtaned: unknown key" in str(err.value)


def test_every_hardware_field_has_a_label():
    # the provenance appendix prints each recorded hardware field under its label (a new field needs one)
    from valkit.results_schema.run_info import Hardware

    assert set(Hardware.model_fields) == set(appendix.HARDWARE_LABELS)
