"""Executive summary, intended use, and objectives/endpoints/hypotheses.

These sections read the typed results (:class:`~valkit.results_schema.Results`, as every section of
:data:`valkit.report.context.SECTIONS`): every field they read is guaranteed by the schema, so
there is no ``.get(key, default)`` that would print a blank for a renamed key. The shared helpers
(:mod:`valkit.report.sections.common`) take the typed results too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from valkit.report.formatting import ci_text, count, estimate_cells, p_value, value_text
from valkit.report.sections import reader_study
from valkit.report.sections.common import (
    CI_METHODS_SHORT,
    METRIC_KIND,
    VERDICT_WORDS,
    criterion_label,
    goal_text,
    level_label,
    method_text,
    method_used_text,
    metric_label,
    verdict_class,
)

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.accuracy import Methods


def endpoint_rows(results: "Results") -> list[dict[str, Any]]:
    """One printed row per protocol endpoint."""
    rows = []
    m = results.methods
    stated_rule = m.clustering_rule if m.clustering_rule_stated else None
    for e in results.endpoints:
        kind = METRIC_KIND.get(e.metric, "proportion")
        cells = estimate_cells(e.estimate.model_dump(), kind)
        interval = e.estimate.interval
        rows.append({
            "id": e.id,
            "label": metric_label(e.metric, results),
            "short": metric_label(e.metric, results, short=True),
            "primary": e.primary,
            **cells,
            "ci_label": level_label(e.confidence_level),
            "method_text": method_text(e.ci_method),
            "method_requested_text": method_text(e.ci_method_requested),
            "method_used": method_used_text(e.ci_method, e.ci_method_requested, stated_rule),
            "ci_note": e.ci_note or "",
            "goal": goal_text(e.goal, e.metric),
            "lower": value_text(interval.low, kind) if cells["estimable"] and interval is not None else "—",
            "verdict": VERDICT_WORDS.get(e.verdict, e.verdict),
            "verdict_class": verdict_class(e.verdict),
            "judged_on": e.judged_on or "",
            "p_value": p_value(e.exact_binomial_p) if e.exact_binomial_p is not None else "",
            "has_goal": e.goal is not None,
        })
    return rows


def _weakest(results: Results, metric: str) -> dict | None:
    """The level (site or manufacturer) with the lowest estimate among those with sufficient evidence.

    A selection among printed numbers, not a new statistic.
    """
    best = None
    for rows, what in ((results.by_site, "site"), (results.by_manufacturer, "manufacturer")):
        for row in rows:
            est = getattr(row, metric)
            if not row.sufficient_evidence or est.value is None:
                continue
            if best is None or est.value < best[0]:
                best = (est.value, what, row.level, est)
    if best is None:
        return None
    cells = estimate_cells(best[3].model_dump())
    return {**cells, "what": best[1], "group": best[2], "label": metric_label(metric, results, short=True)}


def _design(results: Results) -> str:
    flow = results.data.flow
    sites = [r.level for r in results.by_site]
    mans = [r.level for r in results.by_manufacturer]
    who = f"{results.model.name} {results.model.version}".strip()
    bits = [f"Standalone performance evaluation of {who} against the reference standard on "
            f"{count(flow.in_manifest)} cases listed in the study manifest "
            f"({count(flow.analysed)} analysed: {count(results.primary.n_positive)} reference positive, "
            f"{count(results.primary.n_negative)} reference negative"
            + (f"; {count(flow.excluded)} excluded as outside the model's declared inputs"
               if flow.excluded else "") + ")"]
    if sites:
        bits.append(f"from {'site' if len(sites) == 1 else 'sites'} {', '.join(sites)}")
    if mans:
        bits.append(f"acquired on {', '.join(mans)} equipment")
    return " ".join(bits) + "."


def _ci_header(rows: list[dict]) -> str:
    labels = {r["ci_label"] for r in rows}
    return labels.pop() if len(labels) == 1 else "CI (level per protocol)"


def executive_summary(results: Results, doc: dict) -> dict:
    """Reads the typed results (:class:`~valkit.results_schema.Results`): the pattern for the other sections."""
    flow = results.data.flow
    both = results.failures_counted_as_errors
    rows = endpoint_rows(results) + reader_study.endpoint_rows(results)  # the reader study: a secondary row
    return {
        "design": _design(results),
        "intended_use": results.protocol.intended_use.strip(),
        "endpoints": rows,
        "ci_header": _ci_header(rows),
        "method_note": method_note(results),
        "any_secondary": any(not r["primary"] for r in rows),
        "verdict": VERDICT_WORDS.get(doc["verdict"], doc["verdict"]),
        "verdict_class": doc["verdict_class"],
        "failing": [r for r in rows if r["primary"] and r["verdict_class"] != "pass" and r["has_goal"]],
        "weakest": [w for w in (_weakest(results, "sensitivity"), _weakest(results, "specificity")) if w],
        "failed": count(flow.failed),
        "any_failed": bool(flow.failed),
        # acceptance criteria other than the endpoints above (fairness gaps, latency budget)
        "other_criteria": [
            {**c.model_dump(), "verdict_class": verdict_class(c.verdict), "label": criterion_label(c, results)}
            for c in results.acceptance.criteria
            if c.kind in ("fairness", "latency", "tool_validation", "determinism")  # endpoints, reader study: rows above
        ],
        "both_ways": [
            {"label": metric_label(m, results), **estimate_cells(getattr(both, m).model_dump())}
            for m in ("sensitivity", "specificity") if both is not None
        ],
    }


def method_note(results: "Results") -> str:
    """One sentence on why an endpoint's interval method differs from the protocol's named one."""
    m = results.methods
    switched = [e for e in results.endpoints if e.ci_method_requested and e.ci_method
                and e.ci_method != e.ci_method_requested]
    if not switched:
        return ""
    parts = []
    if any(e.ci_method != "wilson_patients" for e in switched):
        if m.clustering_rule_stated:
            named = ", ".join(sorted({f"{CI_METHODS_SHORT.get(e.ci_method_requested, e.ci_method_requested)} "
                                      f"for {metric_label(e.metric, results, short=True)}"
                                      for e in switched if e.ci_method != "wilson_patients"}))
            parts.append(f"† Patients have several images, so these intervals are patient-clustered, as the protocol "
                         f"fixes (analysis.clustering: {m.clustering_rule}), instead of the method the protocol "
                         f"names for independent images ({named}).")
        else:
            parts.append("† Patients have several images and the protocol does not say how to handle them "
                         "(analysis.clustering), so valkit's default rule made these intervals patient-clustered "
                         "instead of the method the protocol names; the change is listed under Deviations and data "
                         "integrity.")
    for e in switched:
        if e.ci_method == "wilson_patients":
            parts.append(f"{metric_label(e.metric, results, short=True)}: {e.ci_note}.")
    return " ".join(parts)


def intended_use(results: Results, doc: dict) -> dict | None:
    text = results.protocol.intended_use.strip()
    card_use = getattr(results.model, "intended_use", "").strip()  # external predictions carry none
    if not text and not card_use:
        return None
    return {"protocol_text": text, "card_text": card_use if card_use != text else "",
            "finding": getattr(results.model, "finding", None)}


def objectives(results: Results, doc: dict) -> dict:
    rows = endpoint_rows(results)
    for r in rows:
        goal = r["goal"]
        r["h0"] = f"{r['short']} ≤ {goal}" if r["has_goal"] else "no hypothesis (no goal set)"
        r["h1"] = f"{r['short']} > {goal}" if r["has_goal"] else "—"
    rows += reader_study.endpoint_rows(results)  # carries its own h0/h1
    return {
        "title": results.protocol.title,
        "clustering_text": clustering_text(results.methods),
        "endpoints": rows,
        "n_primary": sum(r["primary"] for r in rows),
    }


def clustering_text(m: "Methods") -> str:
    """What the protocol fixed about several images per patient, and what that meant in this run."""
    rule = m.clustering_rule
    stated = ("The protocol fixes" if m.clustering_rule_stated else
              "The protocol does not say how several images per patient are handled, so valkit's default applies:")
    meaning = {
        "auto": "patient-clustered methods wherever some patient has several images (bootstrap over patients for "
                "proportions, Obuchowski's variance for AUC, cluster-robust variances for heterogeneity tests, the "
                "evidence rule counting patients), the interval method named per endpoint elsewhere",
        "patient": "patient-clustered methods for every estimate, whether or not a patient has several images",
        "none": "images treated as independent, as the protocol asks; where patients have several images the "
                "intervals may be too narrow (see Limitations)",
    }.get(rule, rule)
    happened = (" In this study some patients have several images, so the patient-clustered methods are used; the "
                "method actually used is stated beside each endpoint." if m.clustered else "")
    return Markup(f"{escape(stated)} <code>analysis.clustering: {escape(rule)}</code>: {escape(meaning)}."
                  f"{escape(happened)}")


__all__ = ["clustering_text", "executive_summary", "method_note", "intended_use", "objectives", "endpoint_rows", "ci_text"]
