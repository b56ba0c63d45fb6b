"""The release gate: every pre-specified acceptance criterion of a run, and the overall verdict.

Criteria come from the protocol and are judged where they are computed (endpoints on the CI
bound, fairness gaps pair by pair on their CIs, the latency budget on its percentile's CI); this
module only collects them. The overall verdict is PASS when every criterion passes; a criterion that is
not estimable or has insufficient evidence cannot support a claim, so it does not pass.
Exploratory criteria and secondary endpoints are listed but do not gate. A protocol ``baseline:``
block with ``non_inferiority`` adds one gating criterion per metric (the new version against the
cleared one, overall and in every pre-specified subgroup; docs/model-versions.md).
"""
from __future__ import annotations

import math


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def acceptance(results: dict) -> dict:
    criteria = []
    for e in results.get("endpoints", []):
        if e.get("goal") is not None:
            criteria.append({"kind": "endpoint", "criterion": f"endpoint {e['id']}", "verdict": e["verdict"], "gates": bool(e["primary"]),
                             "rule": e.get("judged_on"), "metric": e.get("metric")})
    for fam in (results.get("fairness") or {}).get("families", []):
        for c in fam.get("criteria", []):
            criteria.append({"kind": "fairness", "criterion": f"fairness {c.get('metric')} ({fam['name']})", "verdict": c["verdict"],
                             "gates": not c.get("exploratory", False), "rule": c.get("basis"),
                             "metric": c.get("metric"), "column": fam["name"]})
    budget = (results.get("latency") or {}).get("budget")
    if budget:
        criteria.append({"kind": "latency", "criterion": "latency budget", "verdict": budget["verdict"], "gates": True,
                         "rule": budget.get("statement")})
    rs_endpoint = (results.get("reader_study") or {}).get("endpoint")
    if rs_endpoint:
        criteria.append({"kind": "reader_study", "criterion": f"reader study ({rs_endpoint['hypothesis'].replace('_', '-')})",
                         "verdict": rs_endpoint["verdict"], "gates": bool(rs_endpoint.get("primary")),
                         "rule": rs_endpoint.get("judged_on")})
    ni = (results.get("baseline") or {}).get("non_inferiority")
    for c in (ni or {}).get("criteria", []):  # N vs N-1: overall and every pre-specified subgroup
        label = results["baseline"]["version"]["label"]
        criteria.append({"kind": "baseline", "criterion": f"non-inferiority to {label}: {c['metric']}",
                         "verdict": c["verdict"], "gates": True, "rule": _ni_rule(ni, c), "metric": c["metric"]})
    tool = results.get("tool_validation")
    if tool:  # an engine that does not reproduce the literature here cannot support a claim
        criteria.append({"kind": "tool_validation", "criterion": "tool validation", "verdict": tool["verdict"],
                         "gates": True, "rule": tool.get("statement")})
    gating = [c for c in criteria if c["gates"]]
    if not gating:
        verdict = "NO GOALS"
    else:
        verdict = "PASS" if all(c["verdict"] == "PASS" for c in gating) else "FAIL"
    return {"verdict": verdict, "criteria": criteria}


def _ni_rule(ni: dict, c: dict) -> str:
    """The rule of a non-inferiority criterion, naming every component that did not pass.

    >>> _ni_rule({"margin": 0.02, "subgroups": "prespecified"}, {"n_components": 5, "not_passed": [
    ...     {"where": "sex = F", "verdict": "FAIL", "bound": -0.061}]})
    'N - (N-1) lower bound > -0.02 overall and in every pre-specified subgroup (5 components); not met in: sex = F (FAIL, lower bound -0.061)'
    """
    scope = "overall and in every pre-specified subgroup" if ni["subgroups"] == "prespecified" else "overall"
    rule = f"N - (N-1) lower bound > -{ni['margin']:g} {scope} ({c['n_components']} components)"
    if c["not_passed"]:
        rule += "; not met in: " + ", ".join(
            f"{p['where']} ({p['verdict']}" + (f", lower bound {p['bound']:.3f})" if _finite(p.get("bound")) else ")")
            for p in c["not_passed"])
    return rule
