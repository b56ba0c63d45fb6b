"""The run-time self-check: published values re-derived by this installation, recorded and gating."""
from __future__ import annotations

import json

import pytest

import valkit.selfcheck as sc
from valkit.cli import main
from valkit.gate import acceptance


def test_every_published_value_is_reproduced_and_cited():
    out = sc.run_self_check()
    assert out["verdict"] == "PASS" and out["n"] == out["n_passed"] >= 15
    for c in out["checks"]:
        assert c["passed"] and c["source"] and c["quantity"] and c["obtained"] is not None
    json.dumps(out, allow_nan=False)


def test_a_value_not_reproduced_fails_the_check_and_the_gate(monkeypatch):
    real = sc.checks

    def tampered():
        out = real()
        first = out[0]
        return [sc.Check(first.id, first.quantity, first.source, first.expected + 1e-6, first.compute,
                         first.tolerance), *out[1:]]

    monkeypatch.setattr(sc, "checks", tampered)
    out = sc.run_self_check()
    assert out["verdict"] == "FAIL" and out["n_passed"] == out["n"] - 1
    assert out["checks"][0]["passed"] is False
    gate = acceptance({"tool_validation": out})
    assert gate["verdict"] == "FAIL" and gate["criteria"][0]["kind"] == "tool_validation"
    assert acceptance({"tool_validation": {**out, "verdict": "PASS"}})["verdict"] == "PASS"


def test_a_check_that_crashes_is_a_failed_check_with_its_reason():
    def boom() -> float:
        raise ZeroDivisionError("no data")

    res = sc.Check("x", "q", "s", 1.0, boom, 1e-9).run()
    assert res["passed"] is False and res["obtained"] is None and "ZeroDivisionError" in res["error"]


def test_cli_exit_codes(tmp_path, capsys, monkeypatch):
    assert main(["selfcheck", "--json", str(tmp_path / "sc.json")]) == 0
    assert "PASS: " in capsys.readouterr().out
    assert json.loads((tmp_path / "sc.json").read_text())["verdict"] == "PASS"
    monkeypatch.setattr(sc, "checks", lambda: [sc.Check("x", "q", "s", 1.0, lambda: 2.0, 1e-9)])
    assert main(["selfcheck"]) == 3


@pytest.mark.parametrize("verdict", ["PASS", "FAIL"])
def test_the_report_appendix_shows_each_value(verdict, fake_results):
    from valkit.report.render import render_html

    out = sc.run_self_check()
    out["verdict"] = verdict
    html = render_html({**fake_results, "tool_validation": out}, results_sha256="0" * 64)
    assert 'id="tool-validation"' in html and "Published reference values recomputed during this run" in html
    assert html.count("pROC 1.18") >= 4 and verdict in html
