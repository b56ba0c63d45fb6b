"""The release gate: every pre-specified acceptance criterion of a run, and the overall verdict.

Criteria come from the protocol and are judged where they are computed (endpoints on the CI
bound, fairness gaps pair by pair on their CIs, the latency budget on its percentile's CI); this
module only collects them, each with the number it was judged on (estimate, confidence interval,
goal) so that a CI summary can show them without recomputing anything. The overall verdict is
PASS when every criterion passes; a criterion that is not estimable or has insufficient evidence
cannot support a claim, so it does not pass. Exploratory criteria and secondary endpoints are listed
but do not gate. A protocol ``baseline:`` block with ``non_inferiority`` adds one gating criterion
per metric (the new version against the cleared one, overall and in every pre-specified subgroup;
docs/model-versions.md).

:func:`gate_outcome` says *why* a gate did not pass: a gating criterion FAILED (evidence against
the device), or none failed but some are not shown to pass (INSUFFICIENT EVIDENCE: more data
needed). ``valkit run`` exits 1 and 4 for these (:data:`EXIT_CODE`).
"""
from __future__ import annotations

import math

def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


#: criterion verdicts that mean "not shown either way" rather than "shown to fail"
NOT_SHOWN = frozenset({"INSUFFICIENT EVIDENCE", "NOT ESTIMABLE"})

#: ``valkit run``'s exit code for each :func:`gate_outcome` (README "The command line")
EXIT_CODE = {"PASS": 0, "NO GOALS": 0, "FAIL": 1, "INSUFFICIENT EVIDENCE": 4}  # valkit.cli documents them


def _measured(estimate: float | None = None, low: float | None = None, high: float | None = None,
              level: float | None = None, goal: str | None = None, unit: str | None = None) -> dict:
    return {"estimate": estimate, "ci_low": low, "ci_high": high, "confidence_level": level, "goal": goal,
            "unit": unit}


def _endpoint(e: dict) -> dict:
    est = e.get("estimate") or {}
    iv = est.get("interval") or {}
    return _measured(est.get("value"), iv.get("low"), iv.get("high"), iv.get("confidence_level"),
                     f"lower bound ≥ {e['goal']:g}")


def _fairness(c: dict) -> dict:
    goal = f"every pair's gap within ±{c['max']:g}" if c.get("max") is not None else \
        f"every pair's ratio ≥ {c['min']:g}" if c.get("min") is not None else None
    pairs = c.get("deciding_pairs") or []
    if not pairs:  # no pair could be judged (fewer than two groups meet the evidence rule)
        return _measured(goal=goal)
    p = pairs[0]  # the worst failing pair, the open pair, or the pair closest to the limit
    iv = p.get(p.get("judged_on") or "interval") or {}
    return _measured(p.get("value"), iv.get("low"), iv.get("high"), iv.get("confidence_level"), goal)


def _latency(b: dict) -> dict:
    # the budget is judged on the upper confidence bound of the percentile (or the point estimate)
    bound = "upper bound" if b.get("judged_on") == "ci_upper" else "estimate"
    # valkit.latency.section: the percentile's CI is always two-sided 95%
    goal = f"p{b['percentile']:g} {bound} ≤ {b['max_ms']:g} ms" if "percentile" in b and "max_ms" in b else None
    return _measured(b.get("estimate_ms"), b.get("ci_low_ms"), b.get("ci_high_ms"), 0.95, goal, unit="ms")


def _reader_study(rs: dict) -> dict:
    d = rs.get("difference") or {}
    iv = d.get("interval") or {}
    goal = (f"lower bound of {rs.get('test')} − {rs.get('reference')} > {rs['bound']:g}"
            if rs.get("bound") is not None else None)
    return _measured(d.get("estimate"), iv.get("low"), iv.get("high"), iv.get("confidence_level"), goal)


def acceptance(results: dict) -> dict:
    criteria = []
    for e in results.get("endpoints", []):
        if e.get("goal") is not None:
            criteria.append({"kind": "endpoint", "criterion": f"endpoint {e['id']}", "verdict": e["verdict"], "gates": bool(e["primary"]),
                             "rule": e.get("judged_on"), "metric": e.get("metric"), **_endpoint(e)})
    for fam in (results.get("fairness") or {}).get("families", []):
        for c in fam.get("criteria", []):
            criteria.append({"kind": "fairness", "criterion": f"fairness {c.get('metric')} ({fam['name']})", "verdict": c["verdict"],
                             "gates": not c.get("exploratory", False), "rule": c.get("basis"),
                             "metric": c.get("metric"), "column": fam["name"], **_fairness(c)})
    budget = (results.get("latency") or {}).get("budget")
    if budget:
        criteria.append({"kind": "latency", "criterion": "latency budget", "verdict": budget["verdict"], "gates": True,
                         "rule": budget.get("statement"), **_latency(budget)})
    rs_endpoint = (results.get("reader_study") or {}).get("endpoint")
    if rs_endpoint:
        criteria.append({"kind": "reader_study", "criterion": f"reader study ({rs_endpoint['hypothesis'].replace('_', '-')})",
                         "verdict": rs_endpoint["verdict"], "gates": bool(rs_endpoint.get("primary")),
                         "rule": rs_endpoint.get("judged_on"), **_reader_study(rs_endpoint)})
    ni = (results.get("baseline") or {}).get("non_inferiority")
    for c in (ni or {}).get("criteria", []):  # N vs N-1: overall and every pre-specified subgroup
        label = results["baseline"]["version"]["label"]
        criteria.append({"kind": "baseline", "criterion": f"non-inferiority to {label}: {c['metric']}",
                         "verdict": c["verdict"], "gates": True, "rule": _ni_rule(ni, c), "metric": c["metric"],
                         **_measured(goal=f"lower bound of N − (N−1) > −{ni['margin']:g} in every component")})
    tool = results.get("tool_validation")
    if tool:  # an engine that does not reproduce the literature here cannot support a claim
        criteria.append({"kind": "tool_validation", "criterion": "tool validation", "verdict": tool["verdict"],
                         "gates": True, "rule": tool.get("statement"),
                         **_measured(goal=f"all {tool.get('n')} published reference values reproduced")})
    det = (results.get("integrity") or {}).get("determinism")
    if det:  # results that a second computation from the stored predictions does not reproduce prove nothing
        criteria.append({"kind": "determinism", "criterion": "determinism check",
                         "verdict": "PASS" if det["identical"] else "FAIL", "gates": True,
                         "rule": "the analyses recomputed from predictions.parquet and the manifests give the same "
                                 "digest", **_measured(goal="identical analysis digest")})
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


def gate_outcome(acceptance_block: dict) -> str:
    """PASS, NO GOALS, FAIL (a gating criterion failed) or INSUFFICIENT EVIDENCE (none failed, some not shown).

    Read from results.json's ``acceptance`` block alone.

    >>> gate_outcome({"verdict": "FAIL", "criteria": [
    ...     {"gates": True, "verdict": "PASS"}, {"gates": True, "verdict": "INSUFFICIENT EVIDENCE"},
    ...     {"gates": False, "verdict": "FAIL"}]})
    'INSUFFICIENT EVIDENCE'
    >>> gate_outcome({"verdict": "FAIL", "criteria": [
    ...     {"gates": True, "verdict": "FAIL"}, {"gates": True, "verdict": "INSUFFICIENT EVIDENCE"}]})
    'FAIL'
    """
    verdict = acceptance_block["verdict"]
    if verdict != "FAIL":
        return verdict
    open_ = [c["verdict"] for c in acceptance_block["criteria"] if c["gates"] and c["verdict"] != "PASS"]
    return "INSUFFICIENT EVIDENCE" if open_ and all(v in NOT_SHOWN for v in open_) else "FAIL"


__all__ = ["EXIT_CODE", "NOT_SHOWN", "acceptance", "gate_outcome"]
