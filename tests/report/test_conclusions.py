"""The Conclusions section says why a run failed: every gating criterion not met, whatever its kind."""
from __future__ import annotations

import copy
import json

from valkit.report.context import build_context


def _conclusions(results: dict) -> dict:
    ctx = build_context(results, results_sha256="0" * 64)
    return next(s["ctx"] for s in ctx["sections"] if s["id"] == "conclusions")


def _with_criteria(results: dict, extra: list[dict], verdict: str) -> dict:
    """The fake study's results with passing endpoints and the ``extra`` criteria."""
    out = copy.deepcopy(results)
    for e in out["endpoints"]:
        e["verdict"] = "PASS"
    acc = out.setdefault("acceptance", {"criteria": []})
    acc["criteria"] = [{**c, "verdict": "PASS"} for c in acc.get("criteria", []) if c.get("kind") == "endpoint"] + extra
    acc["verdict"] = out["verdict"] = verdict
    return out


def test_a_fail_from_fairness_is_not_blamed_on_the_primary_endpoints(fake_run):
    results = json.loads((fake_run / "results.json").read_text())
    fairness = {"kind": "fairness", "criterion": "fairness tpr_difference (sex)", "gates": True,
                "verdict": "INSUFFICIENT EVIDENCE", "rule": "groups below the evidence rule or empty: O",
                "metric": "tpr_difference", "column": "sex"}
    latency = {"kind": "latency", "criterion": "latency budget", "gates": True, "verdict": "PASS",
               "rule": "p95 end-to-end per study: 61 ms; upper 95% confidence bound <= 500 ms: PASS"}
    s = _conclusions(_with_criteria(results, [fairness, latency], "FAIL"))
    assert s["raw_verdict"] == "FAIL" and s["primary_all_pass"]
    assert [c["criterion"] for c in s["not_passed"]] == ["Sensitivity (TPR) difference by sex"]
    assert [c["criterion"] for c in s["other_criteria"]] == ["Latency budget"]  # not listed twice


def test_the_html_names_the_failing_criterion(fake_run):
    from valkit.report.render import render_html

    results = json.loads((fake_run / "results.json").read_text())
    fairness = {"kind": "fairness", "criterion": "fairness fpr_difference (age_band)", "gates": True,
                "verdict": "INSUFFICIENT EVIDENCE", "rule": "groups below the evidence rule or empty: 80-119",
                "metric": "fpr_difference", "column": "age_band"}
    html = render_html(_with_criteria(results, [fairness], "FAIL"), results_sha256="0" * 64)
    text = html.split('id="conclusions"')[1] if 'id="conclusions"' in html else html
    assert "Every primary endpoint met its pre-specified goal; the run fails on" in text
    assert "False-positive rate difference by age band: <strong>INSUFFICIENT EVIDENCE</strong>" in text


def test_a_failing_primary_endpoint_is_named_as_such(fake_run):
    results = _with_criteria(json.loads((fake_run / "results.json").read_text()), [], "FAIL")
    first = next(e for e in results["endpoints"] if e.get("primary"))
    first["verdict"] = "FAIL"
    for c in results["acceptance"]["criteria"]:
        if c["criterion"] == f"endpoint {first['id']}":
            c["verdict"] = "FAIL"
    s = _conclusions(results)
    assert not s["primary_all_pass"]
    assert [c["criterion"] for c in s["not_passed"]] == [s["primary"][0]["label"]]  # e.g. "Sensitivity"


def test_limitations_name_heterogeneity_and_edge_focused_heatmaps(fake_run):
    from valkit.report.sections.discussion import limitations
    from valkit.results_schema import validate_results
    from valkit.results_schema.base import Estimate
    from valkit.results_schema.explainability import Border, BorderGroup, ExplainabilityRun

    results = json.loads((fake_run / "results.json").read_text())
    manufacturer = next(f for f in results["sites_and_scanners"]["families"] if f["name"] == "manufacturer")
    manufacturer["tests"]["specificity"].update(verdict="heterogeneous", i2=0.98,
                                                flagged_summary="departing: Cobalt (lower)")
    # the fake study has external scores, so no heatmaps: the typed parts of an explainability block that the
    # border point reads, built without the rest (heatmaps, gallery, ...) that it does not read
    fp = BorderGroup.model_construct(group="false_positive", flagged=True,
                                     peak_on_border=Estimate(value=0.96, interval=None, n=25))
    border = Border.model_construct(available=True, overall=BorderGroup.model_construct(flagged=True),
                                    by_category=[fp])
    typed = validate_results(results)
    typed = typed.model_copy(update={"explainability": ExplainabilityRun.model_construct(available=True, border=border)})
    points = limitations(typed, {"exploratory": False})["points"]
    assert any(p.startswith("Specificity differs between scanner manufacturers beyond chance (I² = 98%; "
                            "departing: Cobalt (lower))") for p in points)
    assert any("peak on the image border more often than chance (96% of false positives)" in p for p in points)
