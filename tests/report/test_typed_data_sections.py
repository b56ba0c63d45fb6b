"""The test-data, reference-standard, sample-size, secondary-results and missing-demographics pieces read
the typed results (issue #12 item 4): a renamed or missing key is an error naming its path, never a blank.

The agreement block is built from valkit.stats' Fleiss and Cohen kappa on a hand-made 6 x 2 table of
ratings (Fleiss, Psychol Bull 1971;76:378-382; Cohen, Educ Psychol Meas 1960;20:37-46); the values are
printed as stored, so the test checks that they reach the section, not the statistics themselves.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from pydantic import ValidationError

from valkit.report.context import SECTIONS, build_context
from valkit.report.sections.data import data_summary
from valkit.report.sections.missing_data import missing_demographics_statement
from valkit.report.sections.reference import reference_standard
from valkit.report.sections.sample_size import sample_size_rows
from valkit.report.sections.secondary_results import secondary_results
from valkit.results_schema import ResultsSchemaError, validate_results
from valkit.results_schema.subgroups import MissingDemographics

RATINGS = np.array([[1, 1], [0, 0], [1, 0], [0, 0], [1, 1], [0, 1]])


def _agreement() -> dict:
    from valkit.stats import cohens_kappa, fleiss_kappa

    fleiss, cohen = fleiss_kappa(RATINGS), cohens_kappa(RATINGS[:, 0], RATINGS[:, 1])
    return {"truther_columns": ["reader_a", "reader_b"], "n_cases": 6, "n_complete": 6, "n_incomplete": 0,
            "n_patients": 6, "several_images_per_patient": False,
            "positive_by_truther": [{"truther": "reader_a", "positive": 3, "n": 6},
                                    {"truther": "reader_b", "positive": 3, "n": 6}],
            "confidence_level": 0.95, "percent_agreement": fleiss.percent_agreement.to_dict(),
            "fleiss": fleiss.to_dict(), "cohen": [{"truthers": ["reader_a", "reader_b"], **cohen.to_dict()}]}


def test_these_sections_are_registered():
    assert {"test-data", "reference-standard"} <= {s.id for s in SECTIONS}


def test_reference_section_prints_the_typed_agreement_block(fake_results):
    results = validate_results({**fake_results, "reference_agreement": _agreement()})
    ctx = reference_standard(results, {})
    rows = ctx["agreement"]["rows"]
    assert [r["label"] for r in rows] == ["Percent agreement (all truthers gave the same label)", "Fleiss' kappa",
                                          "Cohen's kappa"]
    assert rows[2]["who"] == "reader_a and reader_b" and rows[1]["n"] == "6"
    assert ctx["agreement"]["positives"][0] == {"truther": "reader_a", "positive": "3", "n": "6"}
    assert validate_results(fake_results).reference_agreement is None
    assert reference_standard(validate_results(fake_results), {})["agreement"] is None  # fewer than two truthers


def test_a_renamed_key_in_the_agreement_block_is_an_error_naming_it(fake_results):
    block = _agreement()
    block["cohen"][0]["kapa"] = block["cohen"][0].pop("kappa")
    with pytest.raises(ResultsSchemaError) as err:
        build_context({**fake_results, "reference_agreement": block}, results_sha256="0" * 64)
    assert "reference_agreement.cohen[0].kapa: unknown key" in str(err.value)
    assert "reference_agreement.cohen[0].kappa: missing" in str(err.value)
    block = _agreement()
    block["fleiss"]["categories"] = ["yes", "no"]  # the truthers' labels are 0/1
    with pytest.raises(ResultsSchemaError, match=r"reference_agreement\.fleiss\.categories\[0\]"):
        validate_results({**fake_results, "reference_agreement": block})


def test_a_missing_flow_count_stops_the_test_data_section(fake_results):
    doc = copy.deepcopy(fake_results)
    del doc["data"]["flow"]["failed_negative"]
    with pytest.raises(ResultsSchemaError, match=r"data\.flow\.failed_negative: missing"):
        build_context(doc, results_sha256="0" * 64)


def test_test_data_without_the_optional_missing_demographics_blocks_prints_no_statement(fake_results):
    doc = {**fake_results, "data": {k: v for k, v in fake_results["data"].items() if k != "missing_demographics"},
           "subgroups": None}
    assert data_summary(validate_results(doc), {})["missing_demographics"] is None
    assert data_summary(validate_results(fake_results), {})["missing_demographics"]


def test_shared_entry_points_take_the_typed_results_only(fake_results):
    """results.py calls these with the typed results; a dict is refused, and a renamed key fails validation."""
    typed = validate_results(fake_results)
    assert sample_size_rows(typed) is not None and secondary_results(typed)["scores_svg"]
    for helper in (sample_size_rows, secondary_results):
        with pytest.raises(AttributeError):
            helper(copy.deepcopy(fake_results))
    doc = copy.deepcopy(fake_results)
    doc["sample_size"]["rows"][0]["halfwidth"] = doc["sample_size"]["rows"][0].pop("half_width")
    with pytest.raises(ResultsSchemaError, match=r"sample_size\.rows\[0\]\.half_width: missing"):
        validate_results(doc)


def test_missing_demographics_from_a_dict_names_a_misspelt_key():
    block = {"by_column": {"sex": {"recorded": True, "n_missing": 1, "fraction_missing": 0.1}},
             "statement": "", "n_case": 10}
    with pytest.raises(ValidationError, match="n_case"):
        missing_demographics_statement(MissingDemographics.model_validate(block))
    block["n_cases"] = block.pop("n_case")
    statement = missing_demographics_statement(MissingDemographics.model_validate(block))
    assert statement.startswith("Sex is not recorded for 1 of 10 cases (10.0%)")
