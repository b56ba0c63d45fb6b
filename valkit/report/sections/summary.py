"""Executive summary, intended use, and objectives/endpoints/hypotheses."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from valkit.report.formatting import ci_text, count, estimate_cells, p_value, value_text
from valkit.report.sections import reader_study
from valkit.report.sections.common import (
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


def endpoint_rows(results: dict) -> list[dict[str, Any]]:
    rows = []
    m = results.get("methods") or {}
    stated_rule = m.get("clustering_rule") if m.get("clustering_rule_stated") else None
    for e in results.get("endpoints") or []:
        metric = e.get("metric", "")
        kind = METRIC_KIND.get(metric, "proportion")
        est = e.get("estimate") or {}
        cells = estimate_cells(est, kind)
        interval = est.get("interval") or {}
        verdict = e.get("verdict") or ""
        rows.append({
            "id": e.get("id", ""),
            "label": metric_label(metric, results),
            "short": metric_label(metric, results, short=True),
            "primary": bool(e.get("primary")),
            **cells,
            "ci_label": level_label(e.get("confidence_level")),
            "method_text": method_text(e.get("ci_method") or cells["method"]),
            "method_requested_text": method_text(e.get("ci_method_requested") or e.get("ci_method")),
            "method_used": method_used_text(e.get("ci_method") or cells["method"], e.get("ci_method_requested"),
                                            stated_rule),
            "ci_note": e.get("ci_note") or "",
            "goal": goal_text(e.get("goal"), metric),
            "lower": value_text(interval.get("low"), kind) if cells["estimable"] else "—",
            "verdict": VERDICT_WORDS.get(verdict, verdict),
            "verdict_class": verdict_class(verdict),
            "judged_on": e.get("judged_on") or "",
            "p_value": p_value(e["exact_binomial_p"]) if e.get("exact_binomial_p") is not None else "",
            "has_goal": e.get("goal") is not None,
        })
    return rows


def _weakest(results: dict, metric: str) -> dict | None:
    """The level (site or manufacturer) with the lowest estimate among those with sufficient evidence.

    A selection among printed numbers, not a new statistic.
    """
    best = None
    for key, what in (("by_site", "site"), ("by_manufacturer", "manufacturer")):
        for row in results.get(key) or []:
            est = row.get(metric) or {}
            if not row.get("sufficient_evidence") or est.get("value") is None:
                continue
            if best is None or est["value"] < best[0]:
                best = (est["value"], what, row.get("level"), est)
    if best is None:
        return None
    cells = estimate_cells(best[3])
    return {**cells, "what": best[1], "group": best[2], "label": metric_label(metric, results, short=True)}


def _design(results: dict) -> str:
    flow = (results.get("data") or {}).get("flow") or {}
    primary = results.get("primary") or {}
    sites = [r.get("level") for r in results.get("by_site") or []]
    mans = [r.get("level") for r in results.get("by_manufacturer") or []]
    model = results.get("model") or {}
    who = f"{model.get('name', 'the model')} {model.get('version', '')}".strip()
    bits = [f"Standalone performance evaluation of {who} against the reference standard on "
            f"{count(flow.get('in_manifest'))} cases listed in the study manifest "
            f"({count(flow.get('analysed'))} analysed: {count(primary.get('n_positive'))} reference positive, "
            f"{count(primary.get('n_negative'))} reference negative"
            + (f"; {count(flow['excluded'])} excluded as outside the model's declared inputs"
               if flow.get("excluded") else "") + ")"]
    if sites:
        bits.append(f"from {'site' if len(sites) == 1 else 'sites'} {', '.join(map(str, sites))}")
    if mans:
        bits.append(f"acquired on {', '.join(map(str, mans))} equipment")
    return " ".join(bits) + "."


def _ci_header(rows: list[dict]) -> str:
    labels = {r["ci_label"] for r in rows}
    return labels.pop() if len(labels) == 1 else "CI (level per protocol)"


def executive_summary(results: dict, doc: dict) -> dict:
    flow = (results.get("data") or {}).get("flow") or {}
    both = results.get("failures_counted_as_errors") or {}
    rows = endpoint_rows(results) + reader_study.endpoint_rows(results)  # the reader study: a secondary row
    return {
        "design": _design(results),
        "intended_use": (results.get("protocol") or {}).get("intended_use", "").strip(),
        "endpoints": rows,
        "ci_header": _ci_header(rows),
        "method_note": method_note(results),
        "any_secondary": any(not r["primary"] for r in rows),
        "verdict": VERDICT_WORDS.get(doc["verdict"], doc["verdict"]),
        "verdict_class": doc["verdict_class"],
        "failing": [r for r in rows if r["primary"] and r["verdict_class"] != "pass" and r["has_goal"]],
        "weakest": [w for w in (_weakest(results, "sensitivity"), _weakest(results, "specificity")) if w],
        "failed": count(flow.get("failed")),
        "any_failed": bool(flow.get("failed")),
        # acceptance criteria other than the endpoints above (fairness gaps, latency budget)
        "other_criteria": [
            {**c, "verdict_class": verdict_class(c["verdict"]), "label": criterion_label(c, results)}
            for c in (results.get("acceptance") or {}).get("criteria", [])
            if c.get("kind") in ("fairness", "latency", "tool_validation")  # endpoints, reader study: rows above
        ],
        "both_ways": [
            {"label": metric_label(m, results), **estimate_cells(both.get(m))}
            for m in ("sensitivity", "specificity") if both.get(m)
        ],
    }


def method_note(results: dict) -> str:
    """One sentence on why an endpoint's interval method differs from the protocol's named one."""
    m = results.get("methods") or {}
    eps = results.get("endpoints") or []
    switched = [e for e in eps if e.get("ci_method_requested") and e.get("ci_method")
                and e["ci_method"] != e["ci_method_requested"]]
    if not switched:
        return ""
    parts = []
    if any(e["ci_method"] != "wilson_patients" for e in switched):
        if m.get("clustering_rule_stated"):
            parts.append(f"Patients have several images, so the intervals are patient-clustered, as the protocol "
                         f"fixes (analysis.clustering: {m.get('clustering_rule')}); the CI method column names the "
                         "method used and the protocol's named one.")
        else:
            parts.append("Patients have several images and the protocol does not say how to handle them "
                         "(analysis.clustering), so valkit's default rule made the intervals patient-clustered; "
                         "the change is listed under Deviations from the protocol.")
    for e in switched:
        if e["ci_method"] == "wilson_patients":
            parts.append(f"{metric_label(e.get('metric', ''), results, short=True)}: {e.get('ci_note')}.")
    return " ".join(parts)


def intended_use(results: dict, doc: dict) -> dict | None:
    text = ((results.get("protocol") or {}).get("intended_use") or "").strip()
    model = results.get("model") or {}
    card_use = (model.get("intended_use") or "").strip() if isinstance(model.get("intended_use"), str) else ""
    if not text and not card_use:
        return None
    return {"protocol_text": text, "card_text": card_use if card_use != text else "",
            "finding": model.get("finding")}


def objectives(results: dict, doc: dict) -> dict:
    rows = endpoint_rows(results)
    for r, e in zip(rows, results.get("endpoints") or []):
        goal = r["goal"]
        r["h0"] = f"{r['short']} ≤ {goal}" if r["has_goal"] else "no hypothesis (no goal set)"
        r["h1"] = f"{r['short']} > {goal}" if r["has_goal"] else "—"
    rows += reader_study.endpoint_rows(results)  # carries its own h0/h1
    return {
        "title": (results.get("protocol") or {}).get("title", ""),
        "clustering_text": clustering_text(results.get("methods") or {}),
        "endpoints": rows,
        "n_primary": sum(r["primary"] for r in rows),
    }


def clustering_text(m: dict) -> str:
    """What the protocol fixed about several images per patient, and what that meant in this run."""
    rule = m.get("clustering_rule")
    if not rule:
        return ""
    stated = ("The protocol fixes" if m.get("clustering_rule_stated") else
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
                "method actually used is stated beside each endpoint." if m.get("clustered") else "")
    return Markup(f"{escape(stated)} <code>analysis.clustering: {escape(rule)}</code>: {escape(meaning)}."
                  f"{escape(happened)}")


__all__ = ["clustering_text", "executive_summary", "method_note", "intended_use", "objectives", "endpoint_rows", "ci_text"]
