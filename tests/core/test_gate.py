"""The release gate collects every pre-specified acceptance criterion; any failure fails the run."""
from __future__ import annotations

from valkit.gate import acceptance


def _endpoint(id_, verdict, primary=True, goal=0.8):
    return {"id": id_, "verdict": verdict, "primary": primary, "goal": goal, "judged_on": "lower bound >= goal"}


def test_primary_endpoints_gate_secondary_do_not():
    r = {"endpoints": [_endpoint("sens", "PASS"), _endpoint("auc", "FAIL", primary=False)]}
    assert acceptance(r)["verdict"] == "PASS"
    r["endpoints"][0]["verdict"] = "NOT ESTIMABLE"
    assert acceptance(r)["verdict"] == "FAIL"


def test_latency_budget_and_prespecified_fairness_gate():
    base = {"endpoints": [_endpoint("sens", "PASS")]}
    r = {**base, "latency": {"budget": {"verdict": "FAIL", "statement": "p95 > 500 ms"}}}
    out = acceptance(r)
    assert out["verdict"] == "FAIL" and out["criteria"][-1]["criterion"] == "latency budget"
    assert [c["kind"] for c in out["criteria"]] == ["endpoint", "latency"]
    fam = {"name": "sex", "criteria": [{"metric": "tpr_difference", "verdict": "FAIL", "exploratory": True}]}
    assert acceptance({**base, "fairness": {"families": [fam]}})["verdict"] == "PASS"  # exploratory: listed only
    fam["criteria"][0]["exploratory"] = False
    assert acceptance({**base, "fairness": {"families": [fam]}})["verdict"] == "FAIL"
    fam["criteria"][0]["verdict"] = "INSUFFICIENT EVIDENCE"  # cannot support a claim
    assert acceptance({**base, "fairness": {"families": [fam]}})["verdict"] == "FAIL"


def test_no_goals():
    assert acceptance({"endpoints": [_endpoint("sens", "NO GOAL", goal=None)]})["verdict"] == "NO GOALS"
