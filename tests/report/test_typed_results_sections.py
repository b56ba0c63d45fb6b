"""Statistical methods, primary results, the per-level sites tables, calibration, design, deviations,
limitations and conclusions read the typed results (issue #12 item 4): a renamed or missing key they
need stops the report with the key's path instead of printing a dash, and the builders take
:class:`~valkit.results_schema.Results`."""
from __future__ import annotations

import copy
import json
import typing

import pytest

from valkit.report.context import SECTIONS, build_context
from valkit.results_schema import Results, ResultsSchemaError, validate_results
from valkit.results_schema.accuracy import Criterion
from valkit.results_schema.traceability import Traceability

TYPED_HERE = ("statistical-methods", "primary-results", "calibration", "design", "deviations", "limitations",
              "conclusions")


@pytest.fixture(scope="module")
def results(fake_run) -> dict:
    return json.loads((fake_run / "results.json").read_text())


def test_these_sections_are_registered():
    assert set(TYPED_HERE) <= {s.id for s in SECTIONS}


# one key each of these sections reads, renamed: (path to its parent, key, section that reads it)
RENAMED = [
    (("methods",), "cluster_unit", "statistical-methods"),
    (("primary", "roc"), "fpr", "primary-results"),
    (("by_site", 0), "sufficient_evidence", "sites-and-scanners (per level)"),
    (("calibration", "curve"), "observed", "calibration"),
    (("traceability", "audit_head"), "seq", "design"),
    (("integrity", "determinism"), "checked", "deviations"),
    (("deviations", 0), "reason", "deviations"),
    (("acceptance", "criteria", 0), "rule", "conclusions"),
]


@pytest.mark.parametrize(("parent", "key", "section"), RENAMED, ids=[r[2] + ":" + r[1] for r in RENAMED])
def test_a_renamed_key_stops_the_report_naming_its_path(results, parent, key, section):
    data = copy.deepcopy(results)
    block = data
    for part in parent:
        block = block[part]
    block[key + "_renamed"] = block.pop(key)
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parent).lstrip(".")
    with pytest.raises(ResultsSchemaError) as err:
        build_context(data, results_sha256="0" * 64)
    message = str(err.value)
    assert f"{path}.{key}: missing (required key)" in message
    assert f"{path}.{key}_renamed: unknown key" in message


def test_the_per_level_tables_take_the_typed_results(results):
    """The sites section (built in context.py) hands the per-level tables the typed results; a dict is refused."""
    from valkit.report.sections.results import sites_and_scanners

    typed = validate_results(results)
    from_typed = sites_and_scanners(typed, {})
    assert from_typed is not None and [g["key"] for g in from_typed["groups"]] == ["by_site", "by_manufacturer"]
    with pytest.raises(AttributeError):
        sites_and_scanners(copy.deepcopy(results), {})
    assert from_typed["evidence_unit"] == typed.methods.evidence_unit  # no fallback word: the recorded unit


def test_a_typed_builder_reads_attributes_not_keys(results):
    """Handing a typed builder a plain dict is a programming error that shows at once, not a blank."""
    from valkit.report.sections import calibration, design, deviations

    for build in (calibration.build, design.build, deviations.build):
        with pytest.raises(AttributeError):
            build(copy.deepcopy(results), {"exploratory": False})


def test_every_status_and_criterion_kind_has_report_words():
    """The design section looks the traceability status up by key and conclusions the criterion kind: a value
    the schema allows but the report has no words for must fail here, not in a user's report."""
    from valkit.report.sections.design import STATUS_TEXT
    from valkit.report.sections.discussion import _KIND_WORDS

    statuses = typing.get_args(Traceability.model_fields["status"].annotation)
    kinds = typing.get_args(Criterion.model_fields["kind"].annotation)
    assert set(statuses) <= set(STATUS_TEXT) and statuses
    assert set(kinds) <= set(_KIND_WORDS) and kinds


def test_a_run_without_traceability_or_calibration_leaves_those_sections_out(results):
    data = copy.deepcopy(results)
    data.pop("traceability")
    data.pop("integrity")
    data["calibration"] = None
    typed = validate_results(data)
    assert isinstance(typed, Results)
    ids = [s["id"] for s in build_context(typed, results_sha256="0" * 64)["sections"]]
    assert "design" not in ids and "calibration" not in ids
    deviations = next(s["ctx"] for s in build_context(typed, results_sha256="0" * 64)["sections"]
                      if s["id"] == "deviations")
    assert deviations["determinism"] is None and deviations["audit"] is None and deviations["rows"]
