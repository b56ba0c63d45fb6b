"""The release gate: every pre-specified acceptance criterion of a run, and the overall verdict.

Criteria come from the protocol and are judged where they are computed (endpoints on the CI
bound, fairness gaps pair by pair on their CIs, the latency budget on its percentile's CI); this
module only collects them. The overall verdict is PASS when every criterion passes; a criterion that is
not estimable or has insufficient evidence cannot support a claim, so it does not pass.
Exploratory criteria and secondary endpoints are listed but do not gate.
"""
from __future__ import annotations


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
    tool = results.get("tool_validation")
    if tool:  # an engine that does not reproduce the literature here cannot support a claim
        criteria.append({"kind": "tool_validation", "criterion": "tool validation", "verdict": tool["verdict"],
                         "gates": True, "rule": tool.get("statement")})
    det = (results.get("integrity") or {}).get("determinism")
    if det:  # results that a second computation from the stored predictions does not reproduce prove nothing
        criteria.append({"kind": "determinism", "criterion": "determinism check",
                         "verdict": "PASS" if det["identical"] else "FAIL", "gates": True,
                         "rule": "the analyses recomputed from predictions.parquet and the manifests give the same "
                                 "digest"})
    gating = [c for c in criteria if c["gates"]]
    if not gating:
        verdict = "NO GOALS"
    else:
        verdict = "PASS" if all(c["verdict"] == "PASS" for c in gating) else "FAIL"
    return {"verdict": verdict, "criteria": criteria}
