"""Statistical methods, primary results (2×2, estimates, ROC) and the site/scanner tables.

These sections read the typed results (:class:`~valkit.results_schema.Results`, as every section of
:data:`valkit.report.context.SECTIONS`): every field they read is declared by the schema, and the
helpers shared with other sections (``estimate_row``, ``metric_label``) take the typed objects too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from valkit.report.figures import ForestPanel, ForestRow, forest_svg, roc_svg
from valkit.report.formatting import count, estimate_cells, pct
from valkit.report.sections.common import METRIC_KIND, estimate_row, method_text, metric_label, roc_axes
from valkit.report.sections.sample_size import sample_size_rows
from valkit.report.sections.secondary_results import secondary_results
from valkit.report.sections.summary import endpoint_rows

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.accuracy import AccuracyBlock, FailuresCountedAsErrors, LevelAccuracy

PRIMARY_METRICS = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "auc", "lr_positive", "lr_negative")
#: (results.json key, table title, noun) of the per-level tables
GROUPINGS = (("by_site", "Site", "site"), ("by_manufacturer", "Scanner manufacturer", "manufacturer"))


def two_by_two(block: "AccuracyBlock | FailuresCountedAsErrors") -> dict[str, str]:
    """The 2×2 table's cells and margins, all read from results.json (no sums taken here).

    A margin is the estimate's denominator; where that is null (not estimable) an accuracy block's own
    count stands in. ``failures_counted_as_errors`` has sensitivity and specificity only, so its
    test-positive, test-negative and total margins are left blank.
    """
    from valkit.results_schema.accuracy import AccuracyBlock

    conf = block.confusion
    full = isinstance(block, AccuracyBlock)
    pos, neg = block.sensitivity.denominator, block.specificity.denominator
    return {
        "tp": count(conf.tp), "fp": count(conf.fp), "fn": count(conf.fn), "tn": count(conf.tn),
        "pos": count(block.n_positive if pos is None and full else pos),
        "neg": count(block.n_negative if neg is None and full else neg),
        "test_pos": count(block.ppv.denominator) if full else "",
        "test_neg": count(block.npv.denominator) if full else "",
        "n": count(block.n if block.accuracy.denominator is None else block.accuracy.denominator) if full else "",
    }


def statistical_methods(results: Results, doc: dict) -> dict:
    m = results.methods
    sg = results.protocol.subgroups
    prov = results.provenance
    used = []
    for metric in PRIMARY_METRICS:
        est = getattr(results.primary, metric)
        method = (est.interval.method if est.interval is not None else None) or est.method
        if method:
            used.append({"label": metric_label(metric, results), "method": method_text(method)})
    for e in results.endpoints:
        if e.ci_method:
            used.append({"label": f"Endpoint: {metric_label(e.metric, results)}",
                         "method": method_text(e.ci_method)})
    return {
        "proportion_ci": method_text(m.proportion_ci),
        "auc_ci": method_text(m.auc_ci),
        "clustered": m.clustered,
        "cluster_unit": m.cluster_unit,
        "clustering_rule": m.clustering_rule,
        "clustering_stated": m.clustering_rule_stated,
        "evidence_unit": m.evidence_unit,
        "seed": m.seed,
        "bootstrap_resamples": count(m.bootstrap_resamples),
        "positive_rule": m.positive_rule,
        "used": used,
        "min_positives": sg.min_positives,
        "min_negatives": sg.min_negatives,
        "prespecified": sg.prespecified,
        # packages: a map by package name; a package not installed is recorded as null
        "software": [f"valkit {prov.valkit.version}"] + [
            f"{name} {prov.packages[name]}" for name in ("numpy", "scipy", "statsmodels") if prov.packages.get(name)],
        "software_validation": results.tool_validation.statement,
        "sample_size": sample_size_rows(results),
    }


def primary_results(results: Results, doc: dict) -> dict:
    p = results.primary
    both = results.failures_counted_as_errors
    flow = results.data.flow
    rows = [estimate_row(metric, getattr(p, metric), results) for metric in PRIMARY_METRICS]
    auc = estimate_cells(p.auc.model_dump(), "auc")
    auc_label = (f"AUC {auc['value']} ({auc['level']} CI {auc['ci']})" if auc["estimable"] and auc["ci"]
                 else f"AUC {auc['value']}")
    op = p.operating_point
    sens, spec = estimate_cells(p.sensitivity.model_dump()), estimate_cells(p.specificity.model_dump())
    sens_label, spec_label = metric_label("sensitivity", results), metric_label("specificity", results)
    figure = None
    if p.roc.fpr:
        figure = Markup(roc_svg(p.roc.fpr, p.roc.tpr, op_fpr=op.fpr, op_tpr=op.tpr,
                                threshold=op.threshold, auc_label=auc_label,
                                op_text=f"At it, {_lower_first(sens_label)} is {sens['value']} and "
                                        f"{_lower_first(spec_label)} is {spec['value']}.",
                                axes=roc_axes(results)))
    return {
        "table": two_by_two(p),
        "rows": rows,
        "warnings": [(r["label"], w) for r in rows for w in r["warnings"]],
        "n": count(p.n),
        "n_positive": count(p.n_positive),
        "n_negative": count(p.n_negative),
        "n_patients": count(p.n_patients),
        "roc_svg": figure,
        "roc_missing_reason": None if figure else "the ROC curve needs both positive and negative cases",
        "auc_label": auc_label,
        "threshold": op.threshold,
        "endpoints": endpoint_rows(results),
        "clustered": results.methods.clustered,
        "both_ways": None if both is None else {
            "table": two_by_two(both),
            "rows": [estimate_row(m, getattr(both, m), results)
                     for m in ("sensitivity", "specificity")],
            "failed": count(flow.failed),
            "failed_positive": count(flow.failed_positive),
            "failed_negative": count(flow.failed_negative),
        },
        "sens_label": sens_label,
        "spec_label": spec_label,
        **secondary_results(results),  # score distributions, lesion size/type, indeterminate both ways
    }


def _group_row(row: LevelAccuracy) -> dict[str, Any]:
    """One level's printed row."""
    cells = {m: estimate_cells(getattr(row, m).model_dump(), METRIC_KIND.get(m, "proportion"))
             for m in ("sensitivity", "specificity", "auc")}
    return {
        "level": row.level,
        "n": count(row.n),
        "n_positive": count(row.n_positive),
        "n_negative": count(row.n_negative),
        "table": two_by_two(row),
        "sufficient": row.sufficient_evidence,
        "cells": cells,
        "warnings": [w for c in cells.values() for w in c["warnings"]],
    }


def _goal(results: Results, metric: str) -> float | None:
    """The goal of the primary endpoint on ``metric``; None when there is none."""
    for e in results.endpoints:
        if e.metric == metric and e.primary and e.goal is not None:
            return e.goal
    return None


def _forest(rows: list[LevelAccuracy], title: str, results: Results) -> Markup:
    panels = []
    for metric in ("sensitivity", "specificity"):
        frows = []
        for row in rows:
            est = getattr(row, metric)
            frows.append(ForestRow(
                label=row.level,
                n_text=f"{count(row.n_positive)}/{count(row.n_negative)}",
                value=est.value,
                low=None if est.interval is None else est.interval.low,
                high=None if est.interval is None else est.interval.high,
                note="" if row.sufficient_evidence else "insufficient evidence",
            ))
        panels.append(ForestPanel(metric_label(metric, results, short=True), frows, _goal(results, metric)))
    names = " and ".join(p.metric.lower() for p in panels)
    return Markup(forest_svg(panels, title=f"{names.capitalize()} by {title.lower()}"))


def sites_and_scanners(results: Results, doc: dict) -> dict | None:
    """The per-level tables of ``by_site`` and ``by_manufacturer`` with their forest plots (None: no levels)."""
    sg = results.protocol.subgroups
    groups = []
    for key, title, noun in GROUPINGS:
        rows = getattr(results, key)
        if not rows:
            continue
        groups.append({
            "key": key, "title": title, "noun": noun,
            "rows": [_group_row(r) for r in rows],
            "forest": _forest(rows, title, results),
        })
    if not groups:
        return None
    goal_sens = _goal(results, "sensitivity")
    return {
        "groups": groups,
        "min_positives": sg.min_positives,
        "evidence_unit": results.methods.evidence_unit,
        "min_negatives": sg.min_negatives,
        "sens_label": metric_label("sensitivity", results, short=True),
        "spec_label": metric_label("specificity", results, short=True),
        "goal_sens": None if goal_sens is None else pct(goal_sens),
    }


def _lower_first(text: str) -> str:
    """'Positive percent agreement (PPA)' -> 'positive percent agreement (PPA)' (abbreviations kept)."""
    return text[:1].lower() + text[1:]
