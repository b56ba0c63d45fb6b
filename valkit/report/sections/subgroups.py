"""Report sections "Subgroups and fairness" and the site/scanner heterogeneity analysis.

Context builders read the ``subgroups``, ``fairness`` and ``sites_and_scanners`` blocks of
results.json and only format them. Their forest plots (:func:`valkit.report.figures.forest_svg`)
show per-cell estimates with 95% CIs, the overall estimate as a solid line, the protocol goal as
a dashed line and, for pooled analyses, the random-effects estimate as a diamond. A cell below
the evidence rule is drawn as text ("insufficient evidence, 3/2 pos/neg"), never as a point.
"""
from __future__ import annotations

from typing import Any

from markupsafe import Markup

from valkit.report.figures import ForestGroup, ForestPanel, ForestRow, forest_svg
from valkit.report.formatting import ci_text, count, estimate_cells, fraction, level_text, num, p_text, p_value, pct, warning_text
from valkit.report.sections.common import GAP_LABELS, column_title, comparison_terms, gap_labels, metric_label
from valkit.report.sections.missing_data import missing_demographics_statement

TABLE_METRICS = ("sensitivity", "specificity", "ppv", "npv", "auc")
VARIANCE_WORDS = {"cluster_robust_patient": " (patient-clustered variances)", "binomial": ""}
FLAG_WORDS = {"empty": "declared, no cases", "one_class": "one class only", "missing_value": "value not recorded",
              "undeclared_level": "not a declared level", "clustered": "patients with several images"}


# ----------------------------------------------------------------------------- shared pieces
def _level(cell: dict) -> str:
    return cell["level"].replace("missing", "not recorded")


def _cell_row(cell: dict) -> dict[str, Any]:
    conf = cell.get("confusion") or {}
    kinds = {"auc": "auc"}
    return {
        "level": _level(cell), "n": count(cell.get("n")), "n_patients": count(cell.get("n_patients")),
        "n_positive": count(cell.get("n_positive")), "n_negative": count(cell.get("n_negative")),
        "table": {k: count(conf.get(k)) for k in ("tp", "fp", "fn", "tn")},
        "status": cell.get("status"), "sufficient": bool(cell.get("sufficient_evidence")),
        "empty": cell.get("status") == "empty",
        "notes": [FLAG_WORDS[f] for f in cell.get("flags", [])
                  if f in FLAG_WORDS and f not in ("clustered", "missing_value")],
        "cells": {m: estimate_cells(cell.get(m), kinds.get(m, "proportion")) for m in TABLE_METRICS},
    }


def _items(cells: list[dict], metric: str) -> list[ForestRow]:
    out = []
    for c in cells:
        est = c.get(metric) or {}
        iv = est.get("interval") or {}
        note = ""
        if c.get("status") == "empty":
            note = "empty (no cases)"
        elif not c.get("sufficient_evidence"):
            note = f"insufficient evidence ({c.get('n_positive')}/{c.get('n_negative')})"
        out.append(ForestRow(_level(c), f"{c.get('n_positive')}/{c.get('n_negative')}", est.get("value"),
                              iv.get("low"), iv.get("high"), note))
    return out


def _overall(results: dict) -> tuple[float | None, float | None]:
    p = results.get("primary") or {}
    return (p.get("sensitivity") or {}).get("value"), (p.get("specificity") or {}).get("value")


def _goals(results: dict) -> tuple[float | None, float | None]:
    goals = {e.get("metric"): e.get("goal") for e in results.get("endpoints") or [] if e.get("primary")}
    return goals.get("sensitivity"), goals.get("specificity")


def _forest(cells: list[dict], results: dict, title: str, *, group: str, pooled=()) -> Markup:
    """Sensitivity and specificity panels for one family's cells, with overall, goals and pooled diamonds."""
    overall, goals = _overall(results), _goals(results)
    panels = [ForestPanel(metric_label(m, results, short=True), _items(cells, m), goals[k], overall[k])
              for k, m in enumerate(("sensitivity", "specificity"))]
    return Markup(forest_svg(panels, title=title, groups=[ForestGroup(group, len(cells), pooled)]))


# ----------------------------------------------------------------------------- subgroups and fairness
_RATE_SHORT = {"tpr": "TPR", "fpr": "FPR", "selection_rate": "selection rate"}


def _pair_name(p: dict, ratio: bool) -> str:
    """'M vs F' (higher first) for a difference, 'F / M' (lower over higher) for a ratio."""
    hi, lo = (str(p.get(k, "")).replace("missing", "not recorded") for k in ("higher", "lower"))
    return f"{lo} / {hi}" if ratio else f"{hi} vs {lo}"


def _gap_row(metric: str, d: dict, labels: dict[str, str] = GAP_LABELS) -> dict[str, Any]:
    """The headline gap (the observed largest pair), named by the pair and, for equalized odds, the rate."""
    kind = "ratio" if metric.endswith("_ratio") else "proportion"
    value = d.get("value")
    between = ""
    if d.get("highest") is not None:
        between = _pair_name({"higher": d["highest"], "lower": d["lowest"]}, kind == "ratio")
        if metric.startswith("equalized_odds") and d.get("rate"):
            between += f" ({_RATE_SHORT.get(d['rate'], d['rate'])})"
    return {
        "label": labels.get(metric, metric),
        "value": (num(value, 2) if kind == "ratio" else pct(value)) if value is not None else "not estimable",
        "ci": ci_text(d.get("interval"), kind) if value is not None else "",
        "between": between,
        "warnings": [warning_text(w) for w in d.get("warnings") or []],
    }


def _not_judged(f: dict, level: str) -> str:
    """'O (2/3 pos/neg)': a compared group below the evidence rule, with its counts."""
    g = next((g for g in f.get("groups", []) if g["level"] == level), {})
    counts = "empty" if g.get("status") == "empty" else f"{count(g.get('n_positive'))}/{count(g.get('n_negative'))} pos/neg"
    return f"{level.replace('missing', 'not recorded')} ({counts})"


def _pair_tables(f: dict, labels: dict[str, str] = GAP_LABELS) -> list[dict[str, Any]]:
    """Per gap metric, every pair with its 95% and Bonferroni intervals, and which criteria it decided.

    Equalized odds has no table of its own: its pairs are the sensitivity and false-positive-rate
    pairs, listed under those gaps.
    """
    decided: dict[tuple, list[str]] = {}
    for c in f.get("criteria") or []:
        for p in c.get("deciding_pairs") or []:
            key = (p.get("rate"), p.get("higher"), p.get("lower"), c["metric"].endswith("_ratio"))
            decided.setdefault(key, []).append(f"{c['verdict']} ({_lower_first(labels.get(c['metric'], c['metric']))})")
    out = []
    for metric, d in (f.get("disparities") or {}).items():
        if metric.startswith("equalized_odds") or not d.get("pairs"):
            continue
        ratio = metric.endswith("_ratio")
        kind = "ratio" if ratio else "proportion"
        rows = []
        for p in d["pairs"]:
            rows.append({
                "pair": _pair_name(p, ratio),
                "value": (num(p.get("value"), 2) if ratio else pct(p.get("value"))),
                "ci": ci_text(p.get("interval"), kind), "adjusted_ci": ci_text(p.get("adjusted_interval"), kind),
                "decides": "; ".join(decided.get((p.get("rate"), p.get("higher"), p.get("lower"), ratio), [])),
            })
        out.append({"label": labels.get(metric, metric), "rows": rows,
                    "adjusted_level": level_text(d.get("adjusted_confidence_level")),
                    "m": d.get("n_comparisons")})
    return out


_RATE_WORDS = {"tpr": "sensitivity (TPR)", "fpr": "false-positive rate", "selection_rate": "selection rate"}


def _boundary_notes(disparities: dict, labels: dict[str, str] = GAP_LABELS) -> list[str]:
    """One note per group rate at 0 or 1 (the gaps' ``boundary`` entries), naming the gaps it affects.

    >>> _boundary_notes({"fpr_ratio": {"interval": {"low": None, "high": None},
    ...                                "boundary": [{"rate": "fpr", "value": 0.0, "group": "Black"}]}})
    ['false-positive rate = 0 in Black: resampled as exactly that, so the intervals of the gaps involving it are too narrow (False-positive rate ratio: no interval given).']
    """
    affected: dict[str, list[str]] = {}
    for metric, d in disparities.items():
        no_interval = (d.get("interval") or {}).get("low") is None
        label = labels.get(metric, metric) + (": no interval given" if no_interval else "")
        for b in d.get("boundary") or []:
            key = f"{_RATE_WORDS.get(b['rate'], b['rate'])} = {b['value']:g} in {b['group']}"
            affected.setdefault(key, []).append(label)
    return [f"{k}: resampled as exactly that, so the intervals of the gaps involving it are too narrow"
            + (f" ({'; '.join(x for x in v if 'no interval' in x)})" if any("no interval" in x for x in v) else "") + "."
            for k, v in affected.items()]


def subgroups_and_fairness(results: dict, doc: dict) -> dict | None:
    sg = results.get("subgroups")
    if not sg:
        return None
    fairness = results.get("fairness") or {}
    fams = []
    for f in sg.get("families", []):
        cells = f.get("cells", [])
        title = column_title(f["name"])
        dt = f.get("difference_tests") or {}
        tests = []
        for metric in ("sensitivity", "specificity"):
            t = dt.get(metric) or {}
            if t.get("p_value") is not None:
                tests.append(f"{metric_label(metric, results, short=True)}: Q = {num(t.get('q'), 2)} on {t.get('df')} df"
                             f"{VARIANCE_WORDS.get(t.get('variance'), '')}, {p_text(t.get('p_value'))}, "
                             f"{p_text(t.get('p_adjusted'), 'adjusted p')}"
                             + (f" ({t['adjustment']})" if t.get("adjustment") else ""))
        fams.append({
            "name": f["name"], "title": title, "prespecified": bool(f.get("prespecified", True)),
            "rows": [_cell_row(c) for c in cells], "n_sum": count(f.get("n_sum")),
            "absent": f.get("absent_columns") or [], "tests": tests,
            "forest": _forest(cells, results, f"{comparison_terms(results)['pair_short']} by {title.lower()}", group=title),
        })
    worst = sg.get("worst_prespecified")
    worst_text = None
    if worst:
        worst_text = (f"{column_title(worst['family'])} = {worst['level'].replace('missing', 'not recorded')}: "
                      f"{metric_label(worst['metric'], results, short=True).lower()} {pct(worst['estimate'])} "
                      f"(95% CI {ci_text(worst.get('interval'), 'proportion')}, "
                      f"{fraction(worst.get('numerator'), worst.get('n')) or 'n = ' + count(worst.get('n'))})")
    fair_fams = []
    for f in fairness.get("families", []):
        fair_fams.append({
            "title": column_title(f["name"]), "prespecified": bool(f.get("prespecified", True)),
            "compared": [c.replace("missing", "not recorded") for c in f.get("compared", [])],
            "excluded": [f"{e['level'].replace('missing', 'not recorded')} ({e['reason']})" for e in f.get("excluded", [])
                         if e["level"] not in f.get("not_judged", [])],
            "gaps": [_gap_row(m, d, gap_labels(results)) for m, d in (f.get("disparities") or {}).items()],
            "pairs": _pair_tables(f, gap_labels(results)),
            "not_judged": [_not_judged(f, level) for level in f.get("not_judged", [])],
            "boundary": _boundary_notes(f.get("disparities") or {}, gap_labels(results)),
            "criteria": [{**c, "limit": (f"≤ {pct(c['max'])}" if c.get("max") is not None else f"≥ {num(c.get('min'), 2)}"),
                          "label": gap_labels(results).get(c["metric"], c["metric"]),
                          "cls": {"PASS": "pass", "FAIL": "fail"}.get(c["verdict"], "neutral")}
                         for c in f.get("criteria", [])],
            "agrees": (f.get("metricframe") or {}).get("agrees_with_counts"),
        })
    rule = sg.get("evidence_rule") or {}
    fairness_missing = bool((((results.get("protocol") or {}).get("subgroups") or {}).get("fairness") or {})
                            .get("include_missing"))
    md = sg.get("missing_demographics")
    statement = missing_demographics_statement({"n_cases": sg.get("n_total"), **md} if md else None,
                                               fairness_includes_missing=fairness_missing)
    return {
        "rule": rule, "n_total": count(sg.get("n_total")), "families": fams, "worst": worst_text,
        "missing_statement": statement,
        "methods": sg.get("methods") or {}, "fairness": fair_fams,
        "fairness_verdict": fairness.get("verdict"),
        "fairness_cls": {"PASS": "pass", "FAIL": "fail"}.get(fairness.get("verdict"), "neutral"),
        "fairness_methods": fairness.get("methods") or {},
        "sens_label": metric_label("sensitivity", results, short=True),
        "spec_label": metric_label("specificity", results, short=True),
    }


# ----------------------------------------------------------------------------- sites and scanners
def _test_row(t: dict, results: dict) -> dict[str, Any]:
    label = metric_label(t.get("metric", ""), results, short=True)
    if t.get("pooled") is None:
        return {"label": label, "pooled": None, "verdict": t.get("verdict"), "note": t.get("note"), "k": t.get("k")}
    pooled = t["pooled"]
    return {
        "label": label, "k": t.get("k"), "pooled": pct(pooled.get("value")),
        "ci": ci_text(pooled.get("interval"), "proportion"),
        "pi": ci_text(t.get("prediction_interval"), "proportion") if t.get("prediction_interval") else "k < 3",
        "q": f"{num(t.get('q'), 2)} ({t.get('df')})", "p": p_value(t.get("p_value")), "p_adj": p_value(t.get("p_adjusted")),
        "i2": pct(t.get("i2"), 0), "tau2": num(t.get("tau2"), 3), "verdict": t.get("verdict"),
        "flagged": t.get("flagged_summary") or "none",
        "comparison": t.get("comparison_summary") or "",
        "adjustment": t.get("adjustment") or "",
        "clustered": t.get("variance") == "cluster_robust_patient",
        "excluded": ", ".join(f"{e['level']} ({e['reason']})" for e in t.get("excluded") or []),
        "corrected": ", ".join(t.get("continuity_corrected") or []),
    }


def site_heterogeneity(results: dict, doc: dict) -> dict | None:
    block = results.get("sites_and_scanners")
    if not block:
        return None
    fams = []
    for f in block.get("families", []):
        cells = f.get("cells", [])
        tests = f.get("tests") or {}
        title = column_title(f["name"])
        pooled = []
        for metric in ("sensitivity", "specificity"):
            p = (tests.get(metric) or {}).get("pooled") or {}
            iv = p.get("interval") or {}
            pooled.append((p.get("value"), iv.get("low"), iv.get("high")))
        loo = []
        sens_loo = {r["left_out"]: r for r in (tests.get("sensitivity") or {}).get("leave_one_out", [])}
        spec_loo = {r["left_out"]: r for r in (tests.get("specificity") or {}).get("leave_one_out", [])}
        for lvl in dict.fromkeys([*sens_loo, *spec_loo]):
            row = {"left_out": lvl}
            for key, src in (("sens", sens_loo), ("spec", spec_loo)):
                r = src.get(lvl)
                row[key] = (f"{pct(r['pooled']['value'])} ({ci_text(r['pooled'].get('interval'), 'proportion')}), "
                            f"I² {pct(r.get('i2'), 0)}") if r else "—"
            loo.append(row)
        fams.append({
            "title": title, "present": f.get("present", True), "verdict": f.get("verdict"),
            "rows": [_cell_row(c) for c in cells], "tests": [_test_row(tests[m], results) for m in tests],
            "loo": loo, "flagged": f.get("flagged_levels") or [],
            "forest": _forest(cells, results, f"{comparison_terms(results)['pair_short']} by {title.lower()} with the "
                              "random-effects pooled estimate", group=title, pooled=pooled),
        })
    mult = block.get("multiplicity") or {}
    adjustments = list(dict.fromkeys(t["adjustment"] for f in fams for t in f["tests"] if t.get("adjustment")))
    return {
        "adjustments": adjustments,
        "any_clustered": any(t.get("clustered") for f in fams for t in f["tests"]),
        "families": fams, "methods": block.get("methods") or {}, "multiplicity": mult,
        "combinations": block.get("combinations") or [],
        "sens_label": metric_label("sensitivity", results, short=True),
        "spec_label": metric_label("specificity", results, short=True),
    }


__all__ = ["site_heterogeneity", "subgroups_and_fairness"]


def _lower_first(text: str) -> str:
    """'Positive percent agreement (PPA) ratio' -> 'positive percent agreement (PPA) ratio'."""
    return text[:1].lower() + text[1:]
