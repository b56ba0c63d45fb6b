"""Comparison with the cleared version: the ``baseline`` block of results.json, formatted.

Reads the typed results only (:class:`~valkit.results_schema.Results`, as every section of
:data:`valkit.report.context.SECTIONS`; STYLE: the renderer computes no statistic): the paired
differences, the non-inferiority criterion, the per-subgroup deltas (forest plot of N - (N-1) per
cell), the flips and the score drift were all computed by :mod:`valkit.analyses.baseline`.
:func:`conclusion` is shared with the Conclusions section.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from markupsafe import Markup

from valkit.report.figures import ForestGroup, ForestPanel, ForestRow, forest_svg
from valkit.report.formatting import INSUFFICIENT, ci_text, count, num, p_text, p_value, value_text
from valkit.report.sections.common import column_title, metric_label, verdict_class

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.base import Estimate, Interval
    from valkit.results_schema.baseline import Baseline, Comparison, ComparisonFamily, NIComponent

KIND = {"sensitivity": "proportion", "specificity": "proportion", "auc": "auc"}
TEST_WORDS = {"mcnemar_exact": "McNemar exact", "delong_paired": "DeLong paired", "clustered_paired": "clustered DeLong"}
INTERVAL_WORDS = {"newcombe": "Newcombe's paired score interval (1998, method 10)",
                  "tango": "Tango's paired score interval (1998)"}
SOURCE_WORDS = {"run": "its run folder", "files": "its results.json and predictions",
                "model": "its model card, scored by valkit on the same cases"}
LISTED_IN_REPORT = 30


def _ci(interval: Interval | None, kind: str) -> str:
    return ci_text(None if interval is None else interval.model_dump(), kind)


def _diff_text(d: Estimate, kind: str) -> str:
    v = d.value
    if v is None:
        return "not estimable"
    return f"{100 * v:+.1f} pp".replace("-", "−") if kind == "proportion" else f"{v:+.3f}".replace("-", "−")


def _test_text(c: Comparison) -> str:
    name = TEST_WORDS.get(c.test.method, c.test.method)
    if c.discordant is not None and not (c.discordant.current_only + c.discordant.baseline_only):
        return f"{name}: no discordant cases"
    return p_text(c.test.p_value, f"{name} p")


def where_text(p: NIComponent) -> str:
    """'overall' or 'Sex × Age band: F × 40–59' for a non-inferiority component."""
    return "overall" if not p.family else f"{column_title(p.family)}: {p.level}"


def comparison_row(metric: str, c: Comparison, results: Results) -> dict:
    kind = KIND[metric]
    ni = c.non_inferiority
    verdict = (None if ni is None else ni.verdict) if c.sufficient_evidence else "INSUFFICIENT EVIDENCE"
    d = c.discordant
    return {
        "label": metric_label(metric, results),
        "baseline": value_text(c.baseline.value, kind), "baseline_ci": _ci(c.baseline.interval, kind),
        "current": value_text(c.current.value, kind), "current_ci": _ci(c.current.interval, kind),
        "difference": _diff_text(c.difference, kind), "difference_ci": _ci(c.difference.interval, kind),
        "test": _test_text(c),
        "discordant": f"{d.current_only} only N right, {d.baseline_only} only N−1 right" if d is not None else "",
        "sufficient": c.sufficient_evidence,
        "verdict": verdict or "", "verdict_class": verdict_class(verdict),
        "finding": "" if ni is None else ni.finding,
        "ni_p": "" if ni is None else p_value(ni.p_value),
    }


def _forest(fam: ComparisonFamily, metrics: list[str], overall: dict[str, Comparison], margin: float | None,
            results: Results) -> Markup:
    panels = []
    for m in metrics:
        rows, ends = [], [0.0] + ([-margin] if margin else [])
        for cell in fam.cells:
            c = cell.comparisons[m]
            d = c.difference
            low, high = (None, None) if d.interval is None else (d.interval.low, d.interval.high)
            note = "" if c.sufficient_evidence else INSUFFICIENT
            if cell.n == 0:
                note = "no cases"
            rows.append(ForestRow(str(cell.level), f"{cell.n_positive}/{cell.n_negative}", d.value, low, high, note))
            if not note:
                ends += [x for x in (low, high) if x is not None and math.isfinite(x)]
        reach = min(1.0, max(0.05, *(abs(x) for x in ends)) * 1.1)
        panels.append(ForestPanel(f"Δ {metric_label(m, results, short=True)}", rows,
                                  goal=-margin if margin else None, overall=overall[m].difference.value,
                                  axis=(-reach, reach), goal_label="margin"))
    title = f"Change by {column_title(fam.name).lower()}"
    return Markup(forest_svg(panels, title=title, groups=[ForestGroup("", len(fam.cells))]))


def _ni(b: Baseline, results: Results) -> dict | None:
    ni = b.non_inferiority
    if ni is None:
        return None
    return {
        **ni.model_dump(), "verdict_class": verdict_class(ni.verdict),
        "criteria": [{"label": metric_label(c.metric, results), "verdict": c.verdict,
                      "verdict_class": verdict_class(c.verdict), "passed": f"{c.n_passed} of {c.n_components}",
                      "not_passed": "; ".join(f"{where_text(p)} ({p.verdict.lower()}: {p.finding})"
                                              for p in c.not_passed)} for c in ni.criteria]}


def build(results: Results, doc: dict) -> dict | None:
    b = results.baseline
    if b is None:
        return None
    v = b.version
    ni = b.non_inferiority
    margin = None if ni is None else ni.margin
    cell_metrics = list(b.subgroups[0].cells[0].comparisons) if b.subgroups and b.subgroups[0].cells \
        else ["sensitivity", "specificity"]
    families = []
    for fam in b.subgroups:
        if not fam.cells:
            continue
        families.append({
            "title": column_title(fam.name), "prespecified": fam.prespecified,
            "rows": [{"level": c.level, "n": count(c.n), "gating": c.gating,
                      "cells": [comparison_row(k, c.comparisons[k], results) for k in cell_metrics]}
                     for c in fam.cells],
            "forest": _forest(fam, cell_metrics, b.overall, margin, results),
        })
    flips, drift = b.flips, b.drift
    model = results.model
    return {
        "label": v.label,
        "current": f"{model.name} {model.version}".strip(),
        "version": v.model_dump(), "digest": (v.model_sha256 or "")[:16],
        "source": SOURCE_WORDS[v.source],
        "threshold_baseline": num(v.threshold), "threshold_current": num(b.current_threshold),
        "matching": b.matching.model_dump(), "interval": INTERVAL_WORDS[b.interval],
        "overall": [comparison_row(k, c, results) for k, c in b.overall.items()],
        "metric_labels": [metric_label(k, results, short=True) for k in cell_metrics],
        "families": families,
        "ni": _ni(b, results),
        "flips": flips.model_dump(),
        "flip_rows": [r.model_dump() for r in flips.by_subgroup if r.prespecified and r.changed],
        "flip_cases": [c.model_dump() for c in flips.cases[:LISTED_IN_REPORT]],
        "drift": {"psi": num(drift.psi.value), "band": drift.psi.band,
                  "ks": num(drift.ks.statistic), "ks_p": p_value(drift.ks.p_value),
                  "mean_baseline": num(drift.mean_baseline), "mean_current": num(drift.mean_current),
                  "note": drift.note},
    }


def conclusion(results: Results) -> dict | None:
    """What the Conclusions say about the cleared version: the non-inferiority statement and its result."""
    b = results.baseline
    if b is None or b.non_inferiority is None:
        return None
    ni = b.non_inferiority
    return {"label": b.version.label, "statement": ni.statement, "verdict": ni.verdict,
            "verdict_class": verdict_class(ni.verdict),
            "not_passed": [f"{metric_label(c.metric, results)}: " + _listed([where_text(p) for p in c.not_passed])
                           for c in ni.criteria if c.not_passed]}


def _listed(items: list[str], most: int = 8) -> str:
    """At most ``most`` items, then how many more.

    >>> _listed(["a", "b", "c"], most=2)
    'a, b and 1 more'
    """
    return ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")


__all__ = ["build", "comparison_row", "conclusion"]
