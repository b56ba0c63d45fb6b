"""Statistical methods, primary results (2×2, estimates, ROC) and the site/scanner tables."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup

from valkit.report.figures import ForestPanel, ForestRow, forest_svg, roc_svg
from valkit.report.formatting import count, estimate_cells, pct
from valkit.report.sections.common import METRIC_KIND, estimate_row, method_text, metric_label, roc_axes
from valkit.report.sections.sample_size import sample_size_rows
from valkit.report.sections.secondary_results import secondary_results
from valkit.report.sections.summary import endpoint_rows

PRIMARY_METRICS = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "auc", "lr_positive", "lr_negative")
GROUPINGS = (("by_site", "Site", "site"), ("by_manufacturer", "Scanner manufacturer", "manufacturer"))


def _denominator(block: dict, metric: str, count_key: str) -> Any:
    """The estimate's denominator; else the block's own count, in the blocks that record one."""
    d = (block.get(metric) or {}).get("denominator")
    return d if d is not None or count_key not in block else block[count_key]


def two_by_two(block: dict) -> dict[str, str] | None:
    """The 2×2 table's cells and margins, all read from results.json (no sums taken here)."""
    conf = block.get("confusion")
    if not conf:
        return None
    return {
        "tp": count(conf.get("tp")), "fp": count(conf.get("fp")),
        "fn": count(conf.get("fn")), "tn": count(conf.get("tn")),
        "pos": count(_denominator(block, "sensitivity", "n_positive")),
        "neg": count(_denominator(block, "specificity", "n_negative")),
        "test_pos": count((block.get("ppv") or {}).get("denominator")) if "ppv" in block else "",
        "test_neg": count((block.get("npv") or {}).get("denominator")) if "npv" in block else "",
        "n": count(_denominator(block, "accuracy", "n")) if "accuracy" in block else "",
    }


def statistical_methods(results: dict, doc: dict) -> dict:
    m = results.get("methods") or {}
    primary = results.get("primary") or {}
    sg = (results.get("protocol") or {}).get("subgroups") or {}
    packages = (results.get("provenance") or {}).get("packages") or {}
    used = []
    for metric in PRIMARY_METRICS:
        est = primary.get(metric) or {}
        method = (est.get("interval") or {}).get("method") or est.get("method")
        if method:
            used.append({"label": metric_label(metric, results), "method": method_text(method)})
    for e in results.get("endpoints") or []:
        if e.get("ci_method"):
            used.append({"label": f"Endpoint: {metric_label(e.get('metric', ''), results)}",
                         "method": method_text(e["ci_method"])})
    valkit = (results.get("provenance") or {}).get("valkit") or {}
    return {
        "proportion_ci": method_text(m.get("proportion_ci")),
        "auc_ci": method_text(m.get("auc_ci")),
        "clustered": bool(m.get("clustered")),
        "cluster_unit": m.get("cluster_unit") or "patient",
        "clustering_rule": m.get("clustering_rule") or "auto",
        "clustering_stated": bool(m.get("clustering_rule_stated", True)),
        "evidence_unit": m.get("evidence_unit") or "cases",
        "seed": m.get("seed"),
        "bootstrap_resamples": count(m.get("bootstrap_resamples")),
        "positive_rule": m.get("positive_rule") or "score at or above the threshold",
        "used": used,
        "min_positives": sg.get("min_positives"),
        "min_negatives": sg.get("min_negatives"),
        "prespecified": sg.get("prespecified", True),
        "software": [f"valkit {valkit.get('version', '')}"] + [
            f"{name} {packages[name]}" for name in ("numpy", "scipy", "statsmodels") if packages.get(name)],
        "software_validation": (results.get("tool_validation") or {}).get("statement"),
        "sample_size": sample_size_rows(results),
    }


def primary_results(results: dict, doc: dict) -> dict:
    p = results.get("primary") or {}
    both = results.get("failures_counted_as_errors") or {}
    flow = (results.get("data") or {}).get("flow") or {}
    rows = [estimate_row(metric, p.get(metric), results) for metric in PRIMARY_METRICS if metric in p]
    auc = estimate_cells(p.get("auc"), "auc")
    auc_label = (f"AUC {auc['value']} ({auc['level']} CI {auc['ci']})" if auc["estimable"] and auc["ci"]
                 else f"AUC {auc['value']}")
    roc = p.get("roc") or {}
    op = p.get("operating_point") or {}
    sens, spec = estimate_cells(p.get("sensitivity")), estimate_cells(p.get("specificity"))
    figure = None
    if roc.get("fpr"):
        figure = Markup(roc_svg(roc["fpr"], roc.get("tpr") or [], op_fpr=op.get("fpr"), op_tpr=op.get("tpr"),
                                threshold=op.get("threshold"), auc_label=auc_label,
                                op_text=f"At it, {_lower_first(metric_label('sensitivity', results))} is "
                                        f"{sens['value']} and {_lower_first(metric_label('specificity', results))} "
                                        f"is {spec['value']}.", axes=roc_axes(results)))
    return {
        "table": two_by_two(p),
        "rows": rows,
        "warnings": [(r["label"], w) for r in rows for w in r["warnings"]],
        "n": count(p.get("n")),
        "n_positive": count(p.get("n_positive")),
        "n_negative": count(p.get("n_negative")),
        "n_patients": count(p.get("n_patients")),
        "roc_svg": figure,
        "roc_missing_reason": None if figure else "the ROC curve needs both positive and negative cases",
        "auc_label": auc_label,
        "threshold": op.get("threshold", (results.get("operating_point") or {}).get("threshold")),
        "endpoints": endpoint_rows(results),
        "clustered": bool((results.get("methods") or {}).get("clustered")),
        "both_ways": {
            "table": two_by_two(both),
            "rows": [estimate_row(m, both.get(m), results) for m in ("sensitivity", "specificity") if both.get(m)],
            "failed": count(flow.get("failed")),
            "failed_positive": count(flow.get("failed_positive")),
            "failed_negative": count(flow.get("failed_negative")),
        } if both else None,
        "sens_label": metric_label("sensitivity", results),
        "spec_label": metric_label("specificity", results),
        **secondary_results(results),  # score distributions, lesion size/type, indeterminate both ways
    }


def _group_row(row: dict, results: dict) -> dict[str, Any]:
    sufficient = bool(row.get("sufficient_evidence", True))
    cells = {m: estimate_cells(row.get(m), METRIC_KIND.get(m, "proportion"))
             for m in ("sensitivity", "specificity", "auc")}
    return {
        "level": row.get("level", ""),
        "n": count(row.get("n")),
        "n_positive": count(row.get("n_positive")),
        "n_negative": count(row.get("n_negative")),
        "table": two_by_two(row),
        "sufficient": sufficient,
        "cells": cells,
        "warnings": [w for c in cells.values() for w in c["warnings"]],
    }


def _goal(results: dict, metric: str) -> float | None:
    for e in results.get("endpoints") or []:
        if e.get("metric") == metric and e.get("primary") and e.get("goal") is not None:
            return e["goal"]
    return None


def _forest(rows: list[dict], title: str, results: dict) -> Markup:
    panels = []
    for metric in ("sensitivity", "specificity"):
        frows = []
        for raw in rows:
            est = raw.get(metric) or {}
            interval = est.get("interval") or {}
            frows.append(ForestRow(
                label=str(raw.get("level", "")),
                n_text=f"{count(raw.get('n_positive'))}/{count(raw.get('n_negative'))}",
                value=est.get("value"), low=interval.get("low"), high=interval.get("high"),
                note="" if raw.get("sufficient_evidence", True) else "insufficient evidence",
            ))
        panels.append(ForestPanel(metric_label(metric, results, short=True), frows, _goal(results, metric)))
    names = " and ".join(p.metric.lower() for p in panels)
    return Markup(forest_svg(panels, title=f"{names.capitalize()} by {title.lower()}"))


def sites_and_scanners(results: dict, doc: dict) -> dict | None:
    sg = (results.get("protocol") or {}).get("subgroups") or {}
    groups = []
    for key, title, noun in GROUPINGS:
        rows = results.get(key)
        if not rows:
            continue
        groups.append({
            "key": key, "title": title, "noun": noun,
            "rows": [_group_row(r, results) for r in rows],
            "forest": _forest(rows, title, results),
        })
    if not groups:
        return None
    return {
        "groups": groups,
        "min_positives": sg.get("min_positives"),
        "evidence_unit": (results.get("methods") or {}).get("evidence_unit") or "cases",
        "min_negatives": sg.get("min_negatives"),
        "sens_label": metric_label("sensitivity", results, short=True),
        "spec_label": metric_label("specificity", results, short=True),
        "goal_sens": pct(_goal(results, "sensitivity")) if _goal(results, "sensitivity") is not None else None,
    }


def _lower_first(text: str) -> str:
    """'Positive percent agreement (PPA)' -> 'positive percent agreement (PPA)' (abbreviations kept)."""
    return text[:1].lower() + text[1:]
