"""Report sections "Subgroups and fairness" and the site/scanner heterogeneity analysis.

Context builders read the ``subgroups``, ``fairness`` and ``sites_and_scanners`` blocks of
results.json and only format them; :func:`forest_svg` draws a vector forest plot (per-cell
estimates with 95% CIs, the overall estimate as a solid line, the protocol goal as a dashed
line and, for pooled analyses, the random-effects estimate as a diamond). A cell below the
evidence rule is drawn as text ("insufficient evidence, 3/2 pos/neg"), never as a point.

>>> svg = forest_svg([ForestGroup("Sex", [ForestItem("F", "58/165", 0.76, 0.66, 0.85)])],
...                  metrics=("Sensitivity",), overall=(0.8,), goals=(0.7,), title="Sensitivity by sex")
>>> svg.startswith("<svg") and "<title" in svg and "<desc" in svg and "goal 70.0%" in svg
True
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from html import escape
from typing import Any, Sequence

from markupsafe import Markup

from valkit.report.formatting import ci_text, count, estimate_cells, num, p_value, pct
from valkit.report.sections.common import metric_label

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
INK, MUTED, ACCENT, POOLED = "#1a1a1a", "#666666", "#1f4e79", "#8a4b00"
TABLE_METRICS = ("sensitivity", "specificity", "ppv", "npv", "auc")
GAP_LABELS = {
    "tpr_difference": "Sensitivity (TPR) difference", "tpr_ratio": "Sensitivity (TPR) ratio",
    "fpr_difference": "False-positive rate difference", "fpr_ratio": "False-positive rate ratio",
    "equalized_odds_difference": "Equalized-odds difference", "equalized_odds_ratio": "Equalized-odds ratio",
    "demographic_parity_difference": "Demographic-parity difference",
    "demographic_parity_ratio": "Demographic-parity ratio",
}
FLAG_WORDS = {"empty": "declared, no cases", "one_class": "one class only", "missing_value": "value not recorded",
              "undeclared_level": "not a declared level", "clustered": "patients with several images"}


# ----------------------------------------------------------------------------- forest plot
@dataclass(frozen=True)
class ForestItem:
    label: str
    n_text: str
    value: float | None
    low: float | None
    high: float | None
    note: str = ""  # drawn instead of the point (e.g. "insufficient evidence")


@dataclass(frozen=True)
class ForestGroup:
    title: str
    items: list[ForestItem]
    pooled: list[tuple[float | None, float | None, float | None]] = field(default_factory=list)


def _e(x: Any) -> str:
    return escape(str(x), quote=True)


def _ok(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _t(x: float, y: float, s: Any, anchor: str = "start", size: float = 9.5, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{extra}>{_e(s)}</text>'


def forest_svg(groups: Sequence[ForestGroup], *, metrics: Sequence[str], overall: Sequence[float | None],
               goals: Sequence[float | None], title: str, item_values: Sequence[Sequence[ForestItem]] | None = None,
               width: int = 640) -> str:
    """A forest plot with one panel per metric; ``groups[g].items`` hold the first metric's rows.

    ``item_values[k]`` lists, for panel ``k`` > 0, the items in the same order as the
    concatenated groups' items (labels are drawn once, on the left).
    """
    rows: list[tuple[str, Any]] = []
    for g in groups:
        rows.append(("header", g.title))
        rows.extend(("item", it) for it in g.items)
        if g.pooled:
            rows.append(("pooled", g))
    panels = [[it for g in groups for it in g.items]] + [list(v) for v in (item_values or [])]
    label_w, n_w, gap, row_h, top = 170, 58, 22, 17, 30
    x0 = label_w + n_w + 10
    pw = (width - x0 - gap * (len(metrics) - 1) - 6) / len(metrics)
    bottom = top + row_h * len(rows)
    height = int(bottom + 40)
    desc_parts = []
    for k, m in enumerate(metrics):
        vals = "; ".join(
            f"{it.label}: {it.note}" if it.note or not _ok(it.value) else
            f"{it.label} {pct(it.value)} ({pct(it.low)} to {pct(it.high)})" for it in panels[k])
        extra = f", overall {pct(overall[k])}" if _ok(overall[k]) else ""
        extra += f", goal {pct(goals[k])}" if _ok(goals[k]) else ""
        desc_parts.append(f"{m} with 95% confidence intervals{extra}: {vals}.")
    desc = f"{title}. " + " ".join(desc_parts)
    uid = "forest-" + hashlib.sha256((title + desc).encode()).hexdigest()[:10]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="figure-svg forest" role="img" viewBox="0 0 {width} '
           f'{height}" width="{width}" height="{height}" aria-labelledby="{uid}-t {uid}-d" font-family="{FONT}" '
           f'font-size="10" fill="{INK}">', f'<title id="{uid}-t">{_e(title)}</title>',
           f'<desc id="{uid}-d">{_e(desc)}</desc>',
           _t(0, 16, "Level", extra=' font-weight="bold"'), _t(label_w + n_w, 16, "pos/neg", "end",
                                                                  extra=' font-weight="bold"')]
    for i, (kind, obj) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        if kind == "item" and i % 2:
            out.append(f'<rect x="0" y="{y - row_h / 2:.1f}" width="{width}" height="{row_h}" fill="#f5f5f5"/>')
        if kind == "header":
            out.append(_t(0, y + 4, obj, extra=' font-weight="bold"'))
        elif kind == "item":
            out.append(_t(8, y + 4, _clip(obj.label, 30)))
            out.append(_t(label_w + n_w, y + 4, obj.n_text, "end"))
        else:
            out.append(_t(8, y + 4, "Random-effects pooled", extra=f' fill="{POOLED}"'))
    for k, metric in enumerate(metrics):
        px0 = x0 + k * (pw + gap)
        lows = [it.low for it in panels[k] if _ok(it.low) and not it.note]
        lows += [v for v in (overall[k], goals[k]) if _ok(v)]
        lo_axis = min(0.5, math.floor(min(lows) * 10) / 10) if lows else 0.0

        def px(v: float, px0: float = px0, lo_axis: float = lo_axis) -> float:
            return px0 + (min(max(v, lo_axis), 1.0) - lo_axis) / (1 - lo_axis) * pw

        out.append(_t(px0 + pw / 2, 16, f"{metric} (95% CI)", "middle", extra=' font-weight="bold"'))
        for t10 in range(int(round(lo_axis * 10)), 11, 1 if lo_axis >= 0.5 else 2):
            v = t10 / 10
            out.append(f'<line x1="{px(v):.1f}" y1="{top}" x2="{px(v):.1f}" y2="{bottom}" stroke="#e0e0e0"/>')
            out.append(_t(px(v), bottom + 12, f"{v:.1f}", "middle", 8.5, f' fill="{MUTED}"'))
        out.append(f'<line x1="{px0:.1f}" y1="{bottom}" x2="{px0 + pw:.1f}" y2="{bottom}" stroke="{MUTED}"/>')
        if _ok(overall[k]):
            out.append(f'<line x1="{px(overall[k]):.1f}" y1="{top - 2}" x2="{px(overall[k]):.1f}" y2="{bottom}" '
                       f'stroke="{ACCENT}" stroke-width="0.8"/>')
            out.append(_t(px(overall[k]), bottom + 24, f"overall {pct(overall[k])}", "middle", 8.5,
                          f' fill="{ACCENT}"'))
        if _ok(goals[k]):
            out.append(f'<line x1="{px(goals[k]):.1f}" y1="{top - 2}" x2="{px(goals[k]):.1f}" y2="{bottom}" '
                       'stroke="#333333" stroke-dasharray="4 3"/>')
            out.append(_t(px(goals[k]), bottom + 35, f"goal {pct(goals[k])}", "middle", 8.5))
        it_iter = iter(panels[k])
        for i, (kind, obj) in enumerate(rows):
            y = top + row_h * i + row_h / 2
            if kind == "item":
                it = next(it_iter)
                if it.note or not _ok(it.value):
                    out.append(_t(px0 + 3, y + 3.5, it.note or "not estimable", size=8.5,
                                  extra=f' fill="{MUTED}" font-style="italic"'))
                    continue
                if _ok(it.low) and _ok(it.high):
                    out.append(f'<line x1="{px(it.low):.1f}" y1="{y:.1f}" x2="{px(it.high):.1f}" y2="{y:.1f}" '
                               f'stroke="{INK}" stroke-width="1.1"/>')
                out.append(f'<rect x="{px(it.value) - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{ACCENT}"/>')
            elif kind == "pooled" and k < len(obj.pooled):
                v, lo, hi = obj.pooled[k]
                if _ok(v) and _ok(lo) and _ok(hi):
                    out.append(f'<polygon points="{px(lo):.1f},{y:.1f} {px(v):.1f},{y - 5:.1f} {px(hi):.1f},{y:.1f} '
                               f'{px(v):.1f},{y + 5:.1f}" fill="{POOLED}"/>')
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ----------------------------------------------------------------------------- shared pieces
def criterion_label(c: dict, results: dict) -> str:
    """A reader's name for an acceptance criterion of results.json (``criterion`` is the key).

    >>> criterion_label({"kind": "fairness", "metric": "tpr_difference", "column": "age_band"}, {})
    'Sensitivity (TPR) difference by age band'
    >>> criterion_label({"kind": "latency", "criterion": "latency budget"}, {})
    'Latency budget'
    """
    kind = c.get("kind")
    if kind == "fairness" and c.get("metric") and c.get("column"):
        return f"{GAP_LABELS.get(c['metric'], c['metric'])} by {_title(c['column']).lower()}"
    if kind == "endpoint" and c.get("metric"):
        return metric_label(c["metric"], results)
    if kind == "tool_validation":
        return "Tool validation (published values re-derived by this installation; Appendix)"
    text = str(c.get("criterion", ""))
    return text[:1].upper() + text[1:]


def _title(name: str) -> str:
    words = {"sex": "Sex", "age_band": "Age band", "site": "Site", "manufacturer": "Scanner manufacturer",
             "model": "Scanner model", "ethnicity": "Race / ethnicity", "race": "Race"}
    return " × ".join(words.get(p, p.replace("_", " ").capitalize()) for p in name.split(" x "))


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


def _items(cells: list[dict], metric: str) -> list[ForestItem]:
    out = []
    for c in cells:
        est = c.get(metric) or {}
        iv = est.get("interval") or {}
        note = ""
        if c.get("status") == "empty":
            note = "empty (no cases)"
        elif not c.get("sufficient_evidence"):
            note = f"insufficient evidence ({c.get('n_positive')}/{c.get('n_negative')})"
        out.append(ForestItem(_level(c), f"{c.get('n_positive')}/{c.get('n_negative')}", est.get("value"),
                              iv.get("low"), iv.get("high"), note))
    return out


def _overall(results: dict) -> tuple[float | None, float | None]:
    p = results.get("primary") or {}
    return (p.get("sensitivity") or {}).get("value"), (p.get("specificity") or {}).get("value")


def _goals(results: dict) -> tuple[float | None, float | None]:
    goals = {e.get("metric"): e.get("goal") for e in results.get("endpoints") or [] if e.get("primary")}
    return goals.get("sensitivity"), goals.get("specificity")


def _forest(groups: list[ForestGroup], spec_items: list[ForestItem], results: dict, title: str) -> Markup:
    sens, spec = metric_label("sensitivity", results, short=True), metric_label("specificity", results, short=True)
    return Markup(forest_svg(groups, metrics=(sens, spec), overall=_overall(results), goals=_goals(results),
                             title=title, item_values=[spec_items]))


# ----------------------------------------------------------------------------- subgroups and fairness
def _gap_row(metric: str, d: dict) -> dict[str, Any]:
    kind = "ratio" if metric.endswith("_ratio") else "proportion"
    value = d.get("value")
    return {
        "label": GAP_LABELS.get(metric, metric),
        "value": (num(value, 2) if kind == "ratio" else pct(value)) if value is not None else "not estimable",
        "ci": ci_text(d.get("interval"), kind) if value is not None else "",
        "between": f"{d.get('highest')} vs {d.get('lowest')}" if d.get("highest") else "",
        "warnings": d.get("warnings") or [],
    }


_RATE_WORDS = {"tpr": "sensitivity (TPR)", "fpr": "false-positive rate", "selection_rate": "selection rate"}


def _boundary_notes(disparities: dict) -> list[str]:
    """One note per group rate at 0 or 1 (from the gaps' ``boundary`` warnings), naming the gaps it affects.

    >>> _boundary_notes({"fpr_ratio": {"warnings": ["boundary: fpr = 0 in Black; ...; no interval is given."]}})
    ['false-positive rate = 0 in Black: resampled as exactly that, so the intervals of the gaps involving it are too narrow (False-positive rate ratio: no interval given).']
    """
    affected: dict[str, list[str]] = {}
    for metric, d in disparities.items():
        for w in d.get("warnings") or []:
            if not w.startswith("boundary: "):
                continue
            label = GAP_LABELS.get(metric, metric) + (": no interval given" if "no interval" in w else "")
            for part in w[len("boundary: "):].split(";")[0].split(", "):
                rate, _, rest = part.partition(" = ")
                key = f"{_RATE_WORDS.get(rate, rate)} = {rest}"
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
        title = _title(f["name"])
        dt = f.get("difference_tests") or {}
        tests = []
        for metric in ("sensitivity", "specificity"):
            t = dt.get(metric) or {}
            if t.get("p_value") is not None:
                tests.append(f"{metric_label(metric, results, short=True)}: Q = {num(t.get('q'), 2)} on {t.get('df')} df, "
                             f"p = {p_value(t.get('p_value'))}, adjusted p = {p_value(t.get('p_adjusted'))}")
        groups = [ForestGroup(title, _items(cells, "sensitivity"))]
        fams.append({
            "name": f["name"], "title": title, "prespecified": bool(f.get("prespecified", True)),
            "rows": [_cell_row(c) for c in cells], "n_sum": count(f.get("n_sum")),
            "absent": f.get("absent_columns") or [], "tests": tests,
            "forest": _forest(groups, _items(cells, "specificity"), results,
                              f"Sensitivity and specificity by {title.lower()}"),
        })
    worst = sg.get("worst_prespecified")
    worst_text = None
    if worst:
        worst_text = (f"{_title(worst['family'])} = {worst['level'].replace('missing', 'not recorded')}: "
                      f"{metric_label(worst['metric'], results, short=True).lower()} {pct(worst['estimate'])} "
                      f"(95% CI {ci_text(worst.get('interval'), 'proportion')}, n = {count(worst.get('n'))})")
    fair_fams = []
    for f in fairness.get("families", []):
        fair_fams.append({
            "title": _title(f["name"]), "prespecified": bool(f.get("prespecified", True)),
            "compared": [c.replace("missing", "not recorded") for c in f.get("compared", [])],
            "excluded": [f"{e['level'].replace('missing', 'not recorded')} ({e['reason']})" for e in f.get("excluded", [])],
            "gaps": [_gap_row(m, d) for m, d in (f.get("disparities") or {}).items()],
            "boundary": _boundary_notes(f.get("disparities") or {}),
            "criteria": [{**c, "limit": (f"≤ {pct(c['max'])}" if c.get("max") is not None else f"≥ {num(c.get('min'), 2)}"),
                          "label": GAP_LABELS.get(c["metric"], c["metric"]),
                          "cls": {"PASS": "pass", "FAIL": "fail"}.get(c["verdict"], "neutral")}
                         for c in f.get("criteria", [])],
            "agrees": (f.get("metricframe") or {}).get("agrees_with_counts"),
        })
    rule = sg.get("evidence_rule") or {}
    missing = (sg.get("missing_demographics") or {}).get("by_column") or {}
    parts = []
    for col, m in missing.items():
        if not m.get("recorded", True):
            parts.append(f"{_title(col).lower()} was not recorded at all (no analysis by it is possible)")
        elif m.get("n_missing"):
            parts.append(f"{_title(col).lower()} is not recorded for {count(m['n_missing'])} of {count(sg.get('n_total'))} "
                         f"cases ({pct(m.get('fraction_missing'))})")
    if parts:
        statement = ("; ".join(parts) + ". ")[0].upper() + ("; ".join(parts) + ". ")[1:] + (
            "These cases form a separate \"not recorded\" group and are left out of the fairness comparisons. The "
            "estimates for the recorded groups assume that whether a value was recorded is unrelated to the model's "
            "performance, which this study cannot verify.")
    else:
        statement = (sg.get("missing_demographics") or {}).get("statement")
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
        "flagged": t.get("flagged_summary") or (("departing: " + ", ".join(
            f"{f['level']} ({f['direction']})" for f in t["flagged_levels"])) if t.get("flagged_levels") else "none"),
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
        title = _title(f["name"])
        pooled = []
        for metric in ("sensitivity", "specificity"):
            p = (tests.get(metric) or {}).get("pooled") or {}
            iv = p.get("interval") or {}
            pooled.append((p.get("value"), iv.get("low"), iv.get("high")))
        groups = [ForestGroup(title, _items(cells, "sensitivity"), pooled)]
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
            "forest": _forest(groups, _items(cells, "specificity"), results,
                              f"Sensitivity and specificity by {title.lower()} with the random-effects pooled "
                              "estimate"),
        })
    mult = block.get("multiplicity") or {}
    return {
        "families": fams, "methods": block.get("methods") or {}, "multiplicity": mult,
        "combinations": block.get("combinations") or [],
        "sens_label": metric_label("sensitivity", results, short=True),
        "spec_label": metric_label("specificity", results, short=True),
    }


__all__ = ["ForestGroup", "ForestItem", "forest_svg", "site_heterogeneity", "subgroups_and_fairness"]
