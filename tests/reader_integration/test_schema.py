"""The typed ``reader_study`` block (issue #12 item 4): every part of it is a declared model, so a
renamed key or a modality missing from a table stops the report with its path, never a blank."""
from __future__ import annotations

import copy
import re

import pytest

from valkit.report.render import render_html
from valkit.report.sections import reader_study
from valkit.results_schema import ResultsSchemaError, validate_results

#: one key per part that used to be an untyped JSON object: (where, key)
TYPED_PARTS = [
    ("settings", "fom"),
    ("tests.RRRC.differences[0]", "comparison"),
    ("tests.FRRC.readers[0]", "reader"),
    ("tests.RRFC.modalities[0]", "interval"),
    ("dbm.MS", "TRC"),
    ("dbm.RRRC", "ddf"),
    ("roc.aided.mean", "fpr"),
    ("roc.model", "tpr"),
    ("model.vs_readers[0].RRRC", "p_value"),
    ("comparison", "verdict"),
    ("reading_time.aided", "mean_s"),
    ("binary", "model_threshold"),
    ("binary.sensitivity.settings", "threshold"),
    ("binary.specificity.model", "value"),
    ("variance_components", "var_TR"),
    ("anova", "MS_TR"),
    ("per_reader[0]", "reader"),
]


def _at(block, where: str):
    """The part at ``where`` (``tests.RRRC.differences[0]``, as the schema errors name it)."""
    for part in re.findall(r"[^.\[\]]+", where):
        block = block[int(part)] if isinstance(block, list) else block[part]
    return block


@pytest.mark.parametrize(("where", "key"), TYPED_PARTS)
def test_a_renamed_key_in_any_part_stops_the_report_naming_its_path(reader_results, where, key):
    broken = copy.deepcopy(reader_results)
    part = _at(broken["reader_study"], where)
    part[key + "_renamed"] = part.pop(key)
    with pytest.raises(ResultsSchemaError) as exc:
        render_html(broken, results_sha256="0" * 64)
    paths = [p for p, _ in exc.value.problems]
    assert f"reader_study.{where}.{key}" in paths, paths  # the declared key: missing
    assert f"reader_study.{where}.{key}_renamed" in paths, paths  # and the unknown one


@pytest.mark.parametrize("where", ["per_reader[1]", "binary.sensitivity.per_reader[0]", "estimates",
                                   "binary.specificity.estimates"])
def test_a_table_without_a_modality_stops_the_report_naming_table_and_modality(reader_results, where):
    broken = copy.deepcopy(reader_results)
    del _at(broken["reader_study"], where)["unaided"]
    with pytest.raises(ResultsSchemaError, match=r"no entry for modality 'unaided'; the study's modalities"):
        render_html(broken, results_sha256="0" * 64)


def test_a_misspelt_modality_key_of_the_roc_map_fails_as_a_modality(reader_results):
    """The ROC map's free keys are modalities: a curve under any other key is not one."""
    broken = copy.deepcopy(reader_results)
    broken["reader_study"]["roc"]["modle"] = broken["reader_study"]["roc"].pop("model")
    with pytest.raises(ResultsSchemaError) as exc:
        validate_results(broken)
    assert any(p.startswith("reader_study.roc.modle") for p, _ in exc.value.problems), exc.value.problems


def test_the_reader_study_row_reads_the_typed_results(reader_results):
    """The summary and the conclusions get the reader-study row from the typed results; a dict is refused."""
    typed = validate_results(reader_results)
    rows = reader_study.endpoint_rows(typed)
    assert rows[0]["verdict"] == reader_results["reader_study"]["endpoint"]["verdict"]
    with pytest.raises(AttributeError):
        reader_study.endpoint_rows(reader_results)


def test_a_superiority_study_without_a_margin_writes_and_reports(tmp_path, make_study):
    """Superiority takes no margin (valkit.reader_study.config): the null margin is valid and not printed."""
    import json

    from valkit.cli import main

    p = make_study(tmp_path, {"ratings": "ratings.csv", "hypothesis": "superiority", "model_scores": "none"})
    assert main(["run", str(p), "--runs-dir", str(tmp_path / "runs"), "--no-report", "--quiet"]) in (0, 1, 4)
    results = json.loads((tmp_path / "runs" / "fake" / "results.json").read_text())
    rs = results["reader_study"]
    assert rs["endpoint"]["margin"] is None and rs["protocol"]["margin"] is None and rs["endpoint"]["bound"] == 0
    html = render_html(results, results_sha256="0" * 64)
    section = html[html.index('<section id="reader-study"'):]
    assert "Hypothesis (superiority)" in section and "margin" not in section.split("</table>")[0]
