"""Report sections "Subgroups and fairness" and the site/scanner heterogeneity analysis.

Context builders read the typed ``subgroups``, ``fairness`` and ``sites_and_scanners`` blocks
(:class:`~valkit.results_schema.Results`, as every section of :data:`valkit.report.context.SECTIONS`)
and only format them. Their forest plots (:func:`valkit.report.figures.forest_svg`)
show per-cell estimates with 95% CIs, the overall estimate as a solid line, the protocol goal as
a dashed line and, for pooled analyses, the random-effects estimate as a diamond. A cell below
the evidence rule is drawn as text ("insufficient evidence, 3/2 pos/neg"), never as a point.
The shared helpers (labels, terms) take the typed results too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from valkit.report.figures import ForestGroup, ForestPanel, ForestRow, forest_svg
from valkit.report.formatting import ci_text, count, estimate_cells, fraction, level_text, num, p_text, p_value, pct, warning_text
from valkit.report.sections.common import GAP_LABELS, column_title, comparison_terms, gap_labels, metric_label
from valkit.report.sections.missing_data import missing_demographics_statement
from valkit.results_schema.subgroups import TESTED_METRICS

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.base import Interval
    from valkit.results_schema.fairness import Disparity, FairnessCriterionResult, FairnessGroup
    from valkit.results_schema.sites import PoolingTest
    from valkit.results_schema.subgroups import Cell, MissingDemographics

TABLE_METRICS = ("sensitivity", "specificity", "ppv", "npv", "auc")
VARIANCE_WORDS = {"cluster_robust_patient": " (patient-clustered variances)", "binomial": ""}
FLAG_WORDS = {"empty": "declared, no cases", "one_class": "one class only", "missing_value": "value not recorded",
              "undeclared_level": "not a declared level", "clustered": "patients with several images"}


# ----------------------------------------------------------------------------- shared pieces
def _shown(level: str) -> str:
    """A level as printed: the 'missing' group reads 'not recorded'."""
    return level.replace("missing", "not recorded")


def _ci(interval: "Interval | None", kind: str) -> str:
    """:func:`~valkit.report.formatting.ci_text` of one typed interval ('no interval' when there is none)."""
    return ci_text(None if interval is None else interval.model_dump(), kind)


def _cell_row(cell: "Cell") -> dict[str, Any]:
    conf = cell.confusion
    kinds = {"auc": "auc"}
    return {
        "level": _shown(cell.level), "n": count(cell.n), "n_patients": count(cell.n_patients),
        "n_positive": count(cell.n_positive), "n_negative": count(cell.n_negative),
        "table": {k: count(getattr(conf, k)) for k in ("tp", "fp", "fn", "tn")},
        "status": cell.status, "sufficient": cell.sufficient_evidence,
        "empty": cell.status == "empty",
        "notes": [FLAG_WORDS[f] for f in cell.flags if f in FLAG_WORDS and f not in ("clustered", "missing_value")],
        "cells": {m: estimate_cells(getattr(cell, m).model_dump(), kinds.get(m, "proportion")) for m in TABLE_METRICS},
    }


def _items(cells: "list[Cell]", metric: str) -> list[ForestRow]:
    out = []
    for c in cells:
        est = getattr(c, metric)
        iv = est.interval
        note = ""
        if c.status == "empty":
            note = "empty (no cases)"
        elif not c.sufficient_evidence:
            note = f"insufficient evidence ({c.n_positive}/{c.n_negative})"
        out.append(ForestRow(_shown(c.level), f"{c.n_positive}/{c.n_negative}", est.value,
                             None if iv is None else iv.low, None if iv is None else iv.high, note))
    return out


def _overall(results: "Results") -> tuple[float | None, float | None]:
    return results.primary.sensitivity.value, results.primary.specificity.value


def _goals(results: "Results") -> tuple[float | None, float | None]:
    goals = {e.metric: e.goal for e in results.endpoints if e.primary}
    return goals.get("sensitivity"), goals.get("specificity")  # a metric without a primary endpoint: no goal line


def _forest(cells: "list[Cell]", results: "Results", title: str, *, group: str, pooled=()) -> Markup:
    """Sensitivity and specificity panels for one family's cells, with overall, goals and pooled diamonds."""
    overall, goals = _overall(results), _goals(results)
    panels = [ForestPanel(metric_label(m, results, short=True), _items(cells, m), goals[k], overall[k])
              for k, m in enumerate(("sensitivity", "specificity"))]
    return Markup(forest_svg(panels, title=title, groups=[ForestGroup(group, len(cells), pooled)]))


# ----------------------------------------------------------------------------- subgroups and fairness
_RATE_SHORT = {"tpr": "TPR", "fpr": "FPR", "selection_rate": "selection rate"}


def _pair_name(higher: str | None, lower: str | None, ratio: bool) -> str:
    """'M vs F' (higher first) for a difference, 'F / M' (lower over higher) for a ratio."""
    hi, lo = (_shown(str(x)) for x in (higher, lower))
    return f"{lo} / {hi}" if ratio else f"{hi} vs {lo}"


def _gap_row(metric: str, d: "Disparity", labels: dict[str, str] = GAP_LABELS) -> dict[str, Any]:
    """The headline gap (the observed largest pair), named by the pair and, for equalized odds, the rate."""
    kind = "ratio" if metric.endswith("_ratio") else "proportion"
    between = ""
    if d.highest is not None:
        between = _pair_name(d.highest, d.lowest, kind == "ratio")
        if metric.startswith("equalized_odds") and d.rate:
            between += f" ({_RATE_SHORT.get(d.rate, d.rate)})"
    return {
        "label": labels.get(metric, metric),
        "value": (num(d.value, 2) if kind == "ratio" else pct(d.value)) if d.value is not None else "not estimable",
        "ci": _ci(d.interval, kind) if d.value is not None else "",
        "between": between,
        "warnings": [warning_text(w) for w in d.warnings],
    }


def _not_judged(family: str, groups: "list[FairnessGroup]", level: str) -> str:
    """'O (2/3 pos/neg)': a compared group below the evidence rule, with its counts.

    ``family``: the family's title, named in the error when ``level`` is not one of ``groups``.
    """
    g = next((g for g in groups if g.level == level), None)
    if g is None:
        raise ValueError(f"fairness family {family!r} lists {level!r} as not judged, but it is not one of the "
                         f"family's groups: {', '.join(g.level for g in groups) or 'none'}. results.json is "
                         "inconsistent: re-run `valkit run PROTOCOL` to rewrite it.")
    counts = "empty" if g.status == "empty" else f"{count(g.n_positive)}/{count(g.n_negative)} pos/neg"
    return f"{_shown(level)} ({counts})"


def _pair_tables(disparities: "dict[str, Disparity]", criteria: "list[FairnessCriterionResult]",
                 labels: dict[str, str] = GAP_LABELS) -> list[dict[str, Any]]:
    """Per gap metric, every pair with its 95% and Bonferroni intervals, and which criteria it decided.

    Equalized odds has no table of its own: its pairs are the sensitivity and false-positive-rate
    pairs, listed under those gaps.
    """
    decided: dict[tuple, list[str]] = {}
    for c in criteria:
        for p in c.deciding_pairs:
            key = (p.rate, p.higher, p.lower, c.metric.endswith("_ratio"))
            decided.setdefault(key, []).append(f"{c.verdict} ({_lower_first(labels.get(c.metric, c.metric))})")
    out = []
    for metric, d in disparities.items():
        if metric.startswith("equalized_odds") or not d.pairs:
            continue
        ratio = metric.endswith("_ratio")
        kind = "ratio" if ratio else "proportion"
        rows = []
        for p in d.pairs:
            rows.append({
                "pair": _pair_name(p.higher, p.lower, ratio),
                "value": (num(p.value, 2) if ratio else pct(p.value)),
                "ci": _ci(p.interval, kind), "adjusted_ci": _ci(p.adjusted_interval, kind),
                "decides": "; ".join(decided.get((p.rate, p.higher, p.lower, ratio), [])),
            })
        out.append({"label": labels.get(metric, metric), "rows": rows,
                    "adjusted_level": level_text(d.adjusted_confidence_level),
                    "m": d.n_comparisons})
    return out


_RATE_WORDS = {"tpr": "sensitivity (TPR)", "fpr": "false-positive rate", "selection_rate": "selection rate"}


def _boundary_notes(disparities: "dict[str, Disparity]", labels: dict[str, str] = GAP_LABELS) -> list[str]:
    """One note per group rate at 0 or 1 (the gaps' ``boundary`` entries), naming the gaps it affects.

    E.g. "false-positive rate = 0 in Black: resampled as exactly that, so the intervals of the gaps
    involving it are too narrow (False-positive rate ratio: no interval given)."
    """
    affected: dict[str, list[str]] = {}
    for metric, d in disparities.items():
        no_interval = d.interval.low is None
        label = labels.get(metric, metric) + (": no interval given" if no_interval else "")
        for b in d.boundary:
            key = f"{_RATE_WORDS.get(b.rate, b.rate)} = {b.value:g} in {b.group}"
            affected.setdefault(key, []).append(label)
    return [f"{k}: resampled as exactly that, so the intervals of the gaps involving it are too narrow"
            + (f" ({'; '.join(x for x in v if 'no interval' in x)})" if any("no interval" in x for x in v) else "") + "."
            for k, v in affected.items()]


def _missing_out_of(block: "MissingDemographics", n_total: int) -> "MissingDemographics":
    """``subgroups.missing_demographics``; a run written before it recorded ``n_cases`` (issue #15) counts
    out of the subgroup analysis's ``n_total``."""
    return block if block.n_cases is not None else block.model_copy(update={"n_cases": n_total})


def subgroups_and_fairness(results: "Results", doc: dict) -> dict | None:
    sg = results.subgroups
    if sg is None:
        return None
    fairness = results.fairness
    labels = gap_labels(results)
    fams = []
    for f in sg.families:
        title = column_title(f.name)
        tests = []
        for metric in TESTED_METRICS:
            t = f.difference_tests[metric]  # both present (the schema's PerMetric)
            if t.p_value is not None:
                tests.append(f"{metric_label(metric, results, short=True)}: Q = {num(t.q, 2)} on {t.df} df"
                             f"{VARIANCE_WORDS.get(t.variance, '')}, {p_text(t.p_value)}, "
                             f"{p_text(t.p_adjusted, 'adjusted p')}"
                             + (f" ({t.adjustment})" if t.adjustment else ""))
        fams.append({
            "name": f.name, "title": title, "prespecified": f.prespecified,
            "rows": [_cell_row(c) for c in f.cells], "n_sum": count(f.n_sum),
            "absent": f.absent_columns, "tests": tests,
            "forest": _forest(f.cells, results, f"{comparison_terms(results)['pair_short']} by {title.lower()}",
                              group=title),
        })
    worst = sg.worst_prespecified
    worst_text = None
    if worst is not None:
        worst_text = (f"{column_title(worst.family)} = {_shown(worst.level)}: "
                      f"{metric_label(worst.metric, results, short=True).lower()} {pct(worst.estimate)} "
                      f"(95% CI {_ci(worst.interval, 'proportion')}, "
                      f"{fraction(worst.numerator, worst.n) or 'n = ' + count(worst.n)})")
    fair_fams = []
    for f in [] if fairness is None else fairness.families:
        title = column_title(f.name)
        fair_fams.append({
            "title": title, "prespecified": f.prespecified,
            "compared": [_shown(c) for c in f.compared],
            "excluded": [f"{_shown(e.level)} ({e.reason})" for e in f.excluded if e.level not in f.not_judged],
            "gaps": [_gap_row(m, d, labels) for m, d in f.disparities.items()],
            "pairs": _pair_tables(f.disparities, f.criteria, labels),
            "not_judged": [_not_judged(title, f.groups, level) for level in f.not_judged],
            "boundary": _boundary_notes(f.disparities, labels),
            "criteria": [{**c.model_dump(),
                          "limit": f"≤ {pct(c.max)}" if c.max is not None else f"≥ {num(c.min, 2)}",
                          "label": labels.get(c.metric, c.metric),
                          "cls": {"PASS": "pass", "FAIL": "fail"}.get(c.verdict, "neutral")}
                         for c in f.criteria],
            "agrees": f.metricframe.agrees_with_counts,
        })
    statement = missing_demographics_statement(
        _missing_out_of(sg.missing_demographics, sg.n_total),
        fairness_includes_missing=results.protocol.subgroups.fairness.include_missing)
    verdict = None if fairness is None else fairness.verdict
    return {
        "rule": sg.evidence_rule, "n_total": count(sg.n_total), "families": fams, "worst": worst_text,
        "missing_statement": statement,
        "methods": sg.methods, "fairness": fair_fams,
        "fairness_verdict": verdict,
        "fairness_cls": {"PASS": "pass", "FAIL": "fail"}.get(verdict, "neutral"),
        "fairness_methods": None if fairness is None else fairness.methods,
        "sens_label": metric_label("sensitivity", results, short=True),
        "spec_label": metric_label("specificity", results, short=True),
    }


# ----------------------------------------------------------------------------- sites and scanners
def _test_row(t: "PoolingTest", results: "Results") -> dict[str, Any]:
    label = metric_label(t.metric, results, short=True)
    pooled = t.pooled
    if pooled is None:
        return {"label": label, "pooled": None, "verdict": t.verdict, "note": t.note, "k": t.k}
    return {
        "label": label, "k": t.k, "pooled": pct(pooled.value),
        "ci": _ci(pooled.interval, "proportion"),
        "pi": _ci(t.prediction_interval, "proportion") if t.prediction_interval is not None else "k < 3",
        "q": f"{num(t.q, 2)} ({t.df})", "p": p_value(t.p_value), "p_adj": p_value(t.p_adjusted),
        "i2": pct(t.i2, 0), "tau2": num(t.tau2, 3), "verdict": t.verdict,
        "flagged": t.flagged_summary or "none",
        "comparison": t.comparison_summary or "",
        "adjustment": t.adjustment or "",
        "clustered": t.variance == "cluster_robust_patient",
        "excluded": ", ".join(f"{e.level} ({e.reason})" for e in t.excluded),
        "corrected": ", ".join([] if t.continuity_corrected is None else t.continuity_corrected),
    }


def _leave_one_out(tests: "dict[str, PoolingTest]") -> list[dict[str, str]]:
    """One row per level left out: the pooled sensitivity and specificity without it, with I²."""
    by_metric = {m: {r.left_out: r for r in ([] if tests[m].leave_one_out is None else tests[m].leave_one_out)}
                 for m in TESTED_METRICS}
    rows = []
    for lvl in dict.fromkeys(lv for m in TESTED_METRICS for lv in by_metric[m]):
        row = {"left_out": lvl}
        for key, m in (("sens", "sensitivity"), ("spec", "specificity")):
            r = by_metric[m].get(lvl)  # a level pooled for one metric only
            row[key] = (f"{pct(r.pooled.value)} ({_ci(r.pooled.interval, 'proportion')}), I² {pct(r.i2, 0)}"
                        if r is not None else "—")
        rows.append(row)
    return rows


def site_heterogeneity(results: "Results", doc: dict) -> dict | None:
    block = results.sites_and_scanners
    if block is None:
        return None
    fams = []
    for f in block.families:
        title = column_title(f.name)
        pooled = []
        for metric in TESTED_METRICS:
            p = f.tests[metric].pooled  # both present (the schema's PerMetric); null below two pooled levels
            iv = None if p is None else p.interval
            pooled.append((None, None, None) if p is None else
                          (p.value, None if iv is None else iv.low, None if iv is None else iv.high))
        fams.append({
            "title": title, "present": f.present, "verdict": f.verdict,
            "rows": [_cell_row(c) for c in f.cells], "tests": [_test_row(t, results) for t in f.tests.values()],
            "loo": _leave_one_out(f.tests), "flagged": f.flagged_levels,
            "forest": _forest(f.cells, results, f"{comparison_terms(results)['pair_short']} by {title.lower()} with the "
                              "random-effects pooled estimate", group=title, pooled=pooled),
        })
    adjustments = list(dict.fromkeys(t["adjustment"] for f in fams for t in f["tests"] if t.get("adjustment")))
    return {
        "adjustments": adjustments,
        "any_clustered": any(t.get("clustered") for f in fams for t in f["tests"]),
        "families": fams, "methods": block.methods, "multiplicity": block.multiplicity,
        "combinations": block.combinations,
        "sens_label": metric_label("sensitivity", results, short=True),
        "spec_label": metric_label("specificity", results, short=True),
    }


__all__ = ["site_heterogeneity", "subgroups_and_fairness"]


def _lower_first(text: str) -> str:
    """'Positive percent agreement (PPA) ratio' -> 'positive percent agreement (PPA) ratio'."""
    return text[:1].lower() + text[1:]
