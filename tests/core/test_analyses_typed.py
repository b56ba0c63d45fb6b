"""The analysis seam returns typed blocks (issue #12 item 4): ``analyse()`` hands over a frozen, validated
:class:`~valkit.results_schema.analyses.StudyAnalyses`, a misspelt key fails inside it, naming the key
path, before anything is written; and a validated block dumps exactly what it was given (results.json
keeps its bytes: key order, ints as ints)."""
from __future__ import annotations

import json
import shutil
import typing
from pathlib import Path

import pydantic
import pytest

from valkit.results import write_json_atomic
from valkit.results_schema import Results, ResultsSchemaError, validate_block, validate_results
from valkit.results_schema.analyses import StudyAnalyses
from valkit.results_schema.base import Estimate

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"


def test_a_misspelt_key_fails_inside_analyse_naming_its_path_before_anything_is_written(tmp_path, monkeypatch):
    import valkit.analyses as analyses
    from valkit.pipeline import run_protocol

    built = analyses.sample_size_block

    def misspelt(*args, **kwargs):
        return {**built(*args, **kwargs), "n_requried": 1}  # a typo in the block builder

    monkeypatch.setattr(analyses, "sample_size_block", misspelt)
    shutil.copytree(FAKE, tmp_path / "study")
    with pytest.raises(ResultsSchemaError) as exc:
        run_protocol(tmp_path / "study" / "fake.yaml", runs_root=tmp_path / "runs", render=False)
    assert exc.value.problems == [("sample_size.n_requried",
                                   "unknown key (misspelt, or written by a different valkit version)")]
    msg = str(exc.value)
    assert msg.startswith("the analyses built by this run: does not match the results.json schema")
    assert "Nothing was written" in msg and "valkit/results_schema" in msg
    assert not (tmp_path / "runs" / "fake" / "results.json").exists()
    # raised by analyse() itself, not by the final write
    assert any(code.co_name == "analyse" for code in _frames(exc.value.__traceback__))


def _frames(tb):
    while tb is not None:
        yield tb.tb_frame.f_code
        tb = tb.tb_next


def test_an_optional_block_is_named_by_its_results_json_path():
    with pytest.raises(ResultsSchemaError) as exc:
        validate_block(Estimate, {"value": 0.5, "interval": None, "n": 3, "nmuerator": 1}, path="latency")
    assert exc.value.problems[0][0] == "latency.nmuerator"


def test_the_analyses_are_frozen_and_typed_as_results_json_declares_them(fake_results):
    analyses = validate_block(StudyAnalyses, {k: fake_results[k] for k in StudyAnalyses.model_fields},
                              path="(analyses)")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        analyses.primary = None
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        analyses.primary.sensitivity.value = 0.0
    # one model per block: each key typed as Results types it (Results may also allow null: older runs)
    hints, declared = typing.get_type_hints(StudyAnalyses), typing.get_type_hints(Results)
    assert [k for k in hints if declared[k] not in (hints[k], hints[k] | None)] == []


def test_a_validated_results_json_dumps_byte_for_byte_as_written(fake_results, tmp_path):
    """Key order is the writer's, not the model's; counts stay ints (17, not 17.0)."""
    write_json_atomic(tmp_path / "a.json", fake_results)
    write_json_atomic(tmp_path / "b.json", validate_results(fake_results).written())
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    e = validate_block(Estimate, {"warnings": [], "value": 0.5, "n": 4, "interval": None, "numerator": 2,
                                  "denominator": 4.0}, path="primary")
    assert json.dumps(e.written()) == ('{"warnings": [], "value": 0.5, "n": 4, "interval": null, "numerator": 2, '
                                       '"denominator": 4.0}')
