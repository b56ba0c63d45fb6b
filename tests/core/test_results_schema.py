"""The typed results contract (issue #12 item 4): results.json is validated where it is written
and where the report reads it; a missing or renamed key fails loudly, naming its path and the file."""
from __future__ import annotations

import copy
import json
import shutil
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from valkit.cli import main
from valkit.errors import InputError
from valkit.results import load_results, write_results
from valkit.results_schema import Results, ResultsSchemaError, results_json_schema, validate_results

REPO = Path(__file__).resolve().parents[2]
FAKE = REPO / "tests" / "data" / "fake_study"

#: optional fields a fake-study run (external scores, no optional sections) does not write, and why;
#: each is written by another run that its own tests cover
NOT_IN_FAKE_RUN = {
    "Results.reader_study": "protocol reader_study block (tests/reader_integration)",
    "Results.latency": "protocol latency block or `valkit bench` (tests/latency)",
    "Results.explainability": "protocol explainability block with a model card (tests/explain)",
    "Results.baseline": "protocol baseline block (tests/core/test_model_version_run.py)",
    "Inference.*": "a model run inside valkit; external scores leave inference empty",
    "ModelCardModel.*": "a model run inside valkit from its card (tests/model, tests/core/test_pipeline.py)",
    "Estimate.insufficient_evidence": "only on rows below the evidence rule",
    "Endpoint.exact_binomial_p": "independent images only; the fake study has patients with several images",
    "ToolCheck.error": "a self-check that crashed",
    "AcquisitionRow.*": "DICOM headers; external scores record none",
    "Combination.*": "the recorded equipment columns only",
    "DifferenceTest.note": "a family with fewer than two sufficient cells",
    "PoolingTest.*": "set when pooling was possible (or only the note when not)",
    "PairGap.judged_on": "deciding pairs of a fairness criterion",
    "Criterion.column": "fairness criteria; the fake protocol sets none",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("schema")
    shutil.copytree(FAKE, d, dirs_exist_ok=True)
    assert main(["run", str(d / "fake.yaml"), "--runs-dir", str(d / "runs"), "--no-report", "--quiet"]) in (0, 1, 4)
    return d / "runs" / "fake"


@pytest.fixture()
def results(run_dir) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def _write(tmp_path: Path, data: dict) -> Path:
    (tmp_path / "results.json").write_text(json.dumps(data))
    return tmp_path


def test_a_full_fake_study_run_validates(run_dir, results):
    typed = load_results(run_dir)
    assert isinstance(typed, Results)
    assert typed.primary.sensitivity.value == results["primary"]["sensitivity"]["value"]
    assert typed.model.kind == "external_predictions" and typed.verdict == results["verdict"]
    with pytest.raises(Exception):  # frozen: a block cannot be changed after validation
        typed.primary.n = 0  # type: ignore[misc]


@pytest.mark.parametrize("path", [("primary", "sensitivity", "interval"), ("endpoints", 0, "verdict"),
                                  ("data", "flow", "analysed"), ("verdict",)])
def test_a_missing_key_fails_at_render_naming_the_key_and_the_file(results, tmp_path, path):
    from valkit.report import render_report

    broken = copy.deepcopy(results)
    parent = broken
    for p in path[:-1]:
        parent = parent[p]
    del parent[path[-1]]
    d = _write(tmp_path, broken)
    with pytest.raises(InputError) as exc:
        render_report(d, formats=("html",))
    text = str(exc.value)
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    assert f"{shown}: missing (required key)" in text
    assert str(d / "results.json") in text and "re-run `valkit run" in text
    assert "valkit 0" in text or "written by valkit" in text  # which valkit wrote it
    assert not (d / "report.html").exists()


def test_a_renamed_key_names_both_the_missing_and_the_unknown_key(results, tmp_path):
    broken = copy.deepcopy(results)
    broken["primary"]["sensitivty"] = broken["primary"].pop("sensitivity")
    with pytest.raises(InputError) as exc:
        load_results(_write(tmp_path, broken))
    text = str(exc.value)
    assert "primary.sensitivity: missing (required key)" in text
    assert "primary.sensitivty: unknown key" in text


def test_write_results_refuses_a_misspelt_block_and_writes_nothing(results, tmp_path):
    bad = {k: v for k, v in results.items() if k != "schema_version"}
    bad["operating_point"] = {**bad["operating_point"], "treshold": 0.5}
    with pytest.raises(ResultsSchemaError) as exc:
        write_results(tmp_path, bad)
    assert ("operating_point.treshold", "unknown key (misspelt, or written by a different valkit version)") in \
        exc.value.problems
    assert not (tmp_path / "results.json").exists()


def test_render_html_of_a_plain_dict_validates_it_first(results):
    from valkit.report.render import render_html

    broken = copy.deepcopy(results)
    del broken["methods"]["clustering_rule"]
    with pytest.raises(ResultsSchemaError, match=r"methods\.clustering_rule: missing"):
        render_html(broken, results_sha256="0" * 64)


def _field_types(model: type[BaseModel]):
    hints = typing.get_type_hints(model, include_extras=False)
    for name, info in model.model_fields.items():
        yield (info.alias or name), info, hints.get(name, info.annotation)


def _models_in(tp) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for a in typing.get_args(tp) for m in _models_in(a)]


def _walk(model: type[BaseModel], value, seen: set[str], optional: set[str]) -> None:
    if not isinstance(value, dict):
        return
    for key, info, tp in _field_types(model):
        label = f"{model.__name__}.{key}"
        if not info.is_required():
            optional.add(label)
        if key not in value:
            continue
        seen.add(label)
        _walk_value(tp, value[key], seen, optional)


def _walk_value(tp, value, seen, optional):
    origin = typing.get_origin(tp)
    if origin is list and isinstance(value, list):
        for v in value:
            _walk_value(typing.get_args(tp)[0], v, seen, optional)
    elif origin is dict and isinstance(value, dict):
        for v in value.values():
            _walk_value(typing.get_args(tp)[1], v, seen, optional)
    elif origin in (typing.Union, getattr(__import__("types"), "UnionType")) or typing.get_args(tp):
        for arg in typing.get_args(tp):
            _walk_value(arg, value, seen, optional)
    else:
        for m in _models_in(tp):
            _walk(m, value, seen, optional)


def test_every_optional_field_is_written_by_the_fake_run_or_documented(results):
    # required fields are checked by validation itself; an optional one must be produced or explained
    seen: set[str] = set()
    optional: set[str] = set()
    _walk(Results, results, seen, optional)
    unexplained = sorted(
        f for f in optional - seen
        if f not in NOT_IN_FAKE_RUN and f"{f.split('.')[0]}.*" not in NOT_IN_FAKE_RUN
        and not f.startswith(("ProtocolEcho.", "Protocol"))  # the protocol's own defaults (valkit.protocol)
    )
    assert unexplained == []


def test_schema_cli_prints_the_committed_results_schema(capsys):
    assert main(["schema", "--results"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == results_json_schema()
    committed = json.loads((REPO / "docs" / "results.schema.json").read_text())
    assert printed == committed, ("docs/results.schema.json is out of date: run "
                                  "`valkit schema --results > docs/results.schema.json`")
    assert printed["title"] == "valkit results.json" and "primary" in printed["required"]
    assert "latency" not in printed["required"]  # an optional section


def test_an_estimate_accepts_the_insufficient_evidence_flag_and_nothing_else():
    from valkit.results_schema import Estimate

    e = {"value": None, "interval": None, "n": 3, "numerator": 1, "denominator": 3, "method": "wilson",
         "warnings": [], "insufficient_evidence": True}
    assert Estimate.model_validate(e).insufficient_evidence is True
    with pytest.raises(Exception, match="extra"):
        Estimate.model_validate({**e, "insufficent_evidence": True})


def test_validate_results_lists_problems_by_path():
    with pytest.raises(ResultsSchemaError) as exc:
        validate_results({"schema_version": 1}, source="x/results.json")
    paths = [p for p, _ in exc.value.problems]
    assert "primary" in paths and "protocol" in paths and str(exc.value).startswith("x/results.json: ")


def test_a_section_reading_an_undeclared_key_fails_loudly(fake_results):
    """Issue #12: a key renamed in results.json (or misspelt in a section) must not render as a silent "—"."""
    from valkit.report.context import Section, build_context

    def misspelt(results, doc):
        return {"value": results.primary.sensitivty}

    def optional_absent(results, doc):  # a declared optional block that this run lacks reads as None
        return {"value": results.reader_study}

    ok = Section("ok", "OK", "sections/summary.html.j2", optional_absent)
    assert build_context(fake_results, results_sha256="0" * 64, sections=(ok,))["sections"][0]["ctx"] == {"value": None}
    bad = Section("bad", "Bad", "sections/summary.html.j2", misspelt)
    with pytest.raises(AttributeError, match="'Primary' object has no attribute 'sensitivty'"):
        build_context(fake_results, results_sha256="0" * 64, sections=(bad,))
