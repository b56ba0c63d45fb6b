"""The run registry (runs/registry.sqlite): record, list, find, and the messages when it cannot."""
from __future__ import annotations

import sqlite3

import pytest

from valkit.errors import InputError
from valkit.registry import find_run, list_runs, record_run
from valkit.run_comparison import compare_runs


def _results(version: str, sens: tuple[float, float, float], verdict: str = "PASS") -> dict:
    est = {"value": sens[0], "interval": {"low": sens[1], "high": sens[2], "confidence_level": 0.95,
                                          "method": "wilson"}, "n": 100}
    return {"protocol": {"id": "p", "version": "1", "sha256": "ps"},
            "model": {"name": "M", "version": version, "weights_sha256": f"w{version}"},
            "provenance": {"manifests": [{"sha256": "m1"}], "predictions_sha256": None, "finished_utc": "t",
                           "valkit": {"version": "0"}},
            "operating_point": {"threshold": 0.5}, "data": {"flow": {"analysed": 100}},
            "primary": {"sensitivity": est}, "endpoints": [{"id": "sens", "estimate": est}], "verdict": verdict}


def test_record_list_find_and_compare(tmp_path):
    a = record_run(tmp_path, tmp_path / "p", _results("1", (0.80, 0.72, 0.86)))
    b = record_run(tmp_path, tmp_path / "p", _results("2", (0.95, 0.89, 0.98), verdict="FAIL"))
    runs = list_runs(tmp_path)
    assert [r.id for r in runs] == [a, b] and runs[1].verdict == "FAIL"
    assert find_run(tmp_path, "p").id == b  # a folder name finds its latest run
    assert find_run(tmp_path, f"#{a}").model_version == "1"
    c = compare_runs(runs[0], runs[1])
    row = [r for r in c["estimates"] if r["name"] == "sensitivity"][0]
    assert row["delta"] == pytest.approx(0.15) and row["beyond_cis"] is True
    assert c["same"] == {"model": False, "protocol": True, "data": True, "predictions": True}
    assert c["drift"]["available"] is False and "no longer exists" in c["drift"]["reason"]
    with pytest.raises(InputError, match="no run 'q'.*registered folders: p"):
        find_run(tmp_path, "q")


def test_missing_registry_and_other_schema_versions_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no run registry here"):
        list_runs(tmp_path)
    with sqlite3.connect(tmp_path / "registry.sqlite") as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(InputError, match="schema version 99"):
        list_runs(tmp_path)
