"""Failure analysis: heatmap galleries, localisation validity and the explanation sanity check.

Reads ``results["explainability"]`` (written by :func:`valkit.explain.explainability_section`);
prints and draws only numbers found there. Overlay images are PNG files in the run
directory, referenced by their relative paths (the HTML and the PDF are rendered with the
run directory as base URL).
"""
from __future__ import annotations

import math
from html import escape
from typing import Any, Sequence

from markupsafe import Markup

from valkit.report.figures import ForestPanel, ForestRow, forest_svg
from valkit.report.formatting import count, estimate_cells, num, pct
from valkit.report.sections.common import column_title, method_text

CATEGORY_TITLES = {
    "true_positive": "True positives",
    "false_positive": "False positives",
    "false_negative": "False negatives",
    "true_negative": "True negatives",
}
METHOD_NAMES = {
    "gradcam": "Grad-CAM (Selvaraju et al. 2017)",
    "gradcam++": "Grad-CAM++ (Chattopadhay et al. 2018)",
    "hirescam": "HiResCAM (Draelos & Carin 2020)",
    "xgradcam": "XGrad-CAM (Fu et al. 2020)",
    "layercam": "LayerCAM (Jiang et al. 2021)",
    "eigencam": "Eigen-CAM (Muhammad & Yeasin 2020)",
    "eigengradcam": "Eigen-Grad-CAM",
    "gradcam-elementwise": "element-wise Grad-CAM",
}
#: measures drawn in the forest plots (proportions; the energy fraction, a few percent, stays in the tables)
FOREST = (("pointing_game", "Pointing game"), ("pointing_game_feature_cell", "Peak cell on lesion"))


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _gallery(block: dict) -> list[dict]:
    out = []
    for cat, title in CATEGORY_TITLES.items():
        g = block.get(cat) or {}
        cases = []
        for e in g.get("cases") or []:
            loc = ""
            if e.get("pointing_game_hit") is not None:
                loc = (f"peak {'in' if e['pointing_game_hit'] else 'outside'} lesion box; "
                       f"energy in box {pct(e.get('energy_fraction'))}")
            if e.get("pointing_game_cell_hit") is not None and e.get("pointing_game_hit") is False:
                loc += f" ({'in' if e['pointing_game_cell_hit'] else 'outside'} at the heatmap's resolution)"
            truth = {1: "reference positive", 0: "reference negative"}.get(e.get("label"), "reference not recorded")
            cases.append({
                "src": e.get("overlay", ""),
                "truth": truth,
                "case_id": e.get("case_id", ""),
                "site": e.get("site", ""),
                "scanner": e.get("scanner", ""),
                "score": num(e.get("score"), 3),
                "localisation": loc,
                "alt": f"{title[:-1]} {e.get('case_id', '')}, {truth}: heatmap over the image, "
                       f"score {num(e.get('score'), 3)}"
                       + (f", {loc}" if loc else ""),
            })
        out.append({"key": cat, "title": title, "available": count(g.get("available")),
                    "requested": count(g.get("requested")), "cases": cases})
    return out


ROWS = (  # key, label, short label (table column)
    ("pointing_game", "Pointing-game hit rate", "Pointing game"),
    ("pointing_game_feature_cell", "Pointing game at the heatmap's resolution (peak cell overlaps the box)",
     "Peak cell on lesion"),
    ("energy_fraction", "Mean energy fraction in the lesion box", "Energy fraction"),
)
BOOTSTRAP_METHODS = {
    "bootstrap_percentile": "percentile bootstrap over cases",
    "cluster_bootstrap_percentile": "patient-clustered percentile bootstrap (Davison & Hinkley 1997)",
}


def _estimate_rows(group: dict) -> list[dict]:
    rows = []
    for key, label, short in ROWS:
        if key not in group:
            continue
        cells = estimate_cells(group.get(key), "proportion")
        method = BOOTSTRAP_METHODS.get(cells["method"]) or method_text(cells["method"])
        rows.append({"label": label, "short": short, **cells, "method_text": method})
    return rows


def _forest(groups: Sequence[dict], title: str) -> Markup:
    """One panel per pointing-game measure present in results.json."""
    panels = []
    for key, metric in FOREST:
        if not groups or key not in groups[0]:
            continue
        rows = []
        for g in groups:
            est = g.get(key) or {}
            iv = est.get("interval") or {}
            rows.append(ForestRow(label=str(g.get("group", "")), n_text=f"{count(g.get('n'))} TP", value=est.get("value"),
                                  low=iv.get("low"), high=iv.get("high"),
                                  note="insufficient evidence" if g.get("insufficient") else ""))
        panels.append(ForestPanel(metric, rows))
    return Markup(forest_svg(panels, title=f"Localisation of true positives by {title.lower()}"))


def _localisation(loc: dict) -> dict:
    out: dict[str, Any] = {
        "available": bool(loc.get("available")),
        "reason": loc.get("reason"),
        "n_true_positives": count(loc.get("n_true_positives")),
        "n_with_box": count(loc.get("n_with_box")),
        "n_scored": count(loc.get("n_scored")),
        "n_without_box": count(loc.get("n_without_box")),
        "n_invalid_box": count(loc.get("n_invalid_box")),
        "n_empty": count(loc.get("n_empty_heatmaps")),
        "tolerance": loc.get("pointing_tolerance_px") or 0,
        "box_columns": ", ".join(loc.get("box_columns") or []),
        "geometry": loc.get("geometry", ""),
        "cases_csv": loc.get("cases_csv"),
        "min_group_size": loc.get("min_group_size"),
    }
    overall = loc.get("overall")
    if overall:
        out["rows"] = _estimate_rows(overall)
        out["n_patients"] = count(overall.get("n_patients"))
        out["chance"] = pct(overall.get("mean_box_area_fraction"))
        out["cell_chance"] = pct(overall.get("mean_cell_chance"))
    out["groups"] = []
    for col, groups in (loc.get("by") or {}).items():
        if not groups:
            continue
        out["groups"].append({
            "title": column_title(col),
            "columns": [r["short"] for r in _estimate_rows(groups[0])],
            "rows": [{"level": g.get("group", ""), "n": count(g.get("n")), "insufficient": bool(g.get("insufficient")),
                      "cells": _estimate_rows(g)} for g in groups],
            "forest": _forest(groups, column_title(col)),
        })
    return out


def _border_row(label: str, g: dict) -> dict:
    return {"level": label, "n": count(g.get("n")), "insufficient": bool(g.get("insufficient")),
            "flagged": bool(g.get("flagged")),
            "rate": estimate_cells(g.get("peak_on_border"), "proportion"),
            "energy": estimate_cells(g.get("border_energy_fraction"), "proportion")}


def _border(b: dict) -> dict:
    """Where the heatmaps peak: the border-peak rate by outcome and by site / scanner."""
    if not b.get("available"):
        return {"available": False, "reason": b.get("reason", "not run")}
    by_cat = b.get("by_category") or []
    tables = [{"title": "Outcome", "rows": [_border_row("All explained cases", b.get("overall") or {})]
               + [_border_row(CATEGORY_TITLES.get(g.get("group"), g.get("group", "")), g) for g in by_cat]}]
    for col, groups in (b.get("by") or {}).items():
        if groups:
            tables.append({"title": column_title(col), "rows": [_border_row(g.get("group", ""), g) for g in groups]})
    rate = {g.get("group"): (g.get("peak_on_border") or {}).get("value") for g in by_cat}
    return {
        "available": True,
        "chance": pct(b.get("chance")),
        "band_area": pct(b.get("band_area_fraction")),
        "n": count(b.get("n")),
        "per_category": count(b.get("max_cases_per_category")),
        "min_group_size": b.get("min_group_size"),
        "tables": tables,
        "flagged": b.get("flagged") or [],
        "overall_flagged": bool((b.get("overall") or {}).get("flagged")),
        "fp_vs_tp": (pct(rate["false_positive"]), pct(rate["true_positive"]))
        if _finite(rate.get("false_positive")) and _finite(rate.get("true_positive")) else None,
        "cases_csv": b.get("cases_csv"),
    }


def _without_verdict_word(text: str) -> str:
    """'Passed: the heatmaps change ...' -> 'the heatmaps change ...'.

    >>> _without_verdict_word("FLAGGED: the heatmaps barely change."), _without_verdict_word("No prefix.")
    ('the heatmaps barely change.', 'No prefix.')
    """
    head, sep, rest = text.partition(": ")
    return rest if sep and head in ("Passed", "FLAGGED", "Not estimable") else text


def similarity_svg(stages: Sequence[dict], *, threshold: float | None, mode: str, width: int = 520) -> str:
    """Mean Spearman correlation and SSIM (with CIs) against randomisation stage; stage 0 is the trained model."""
    height, left, right, top, bottom = 230, 46, 140, 20, 40
    pw, ph = width - left - right, height - top - bottom
    n = len(stages)

    def px(stage: float) -> float:
        return left + stage / max(n, 1) * pw

    def py(v: float) -> float:  # axis from -1 to 1 (a randomised output layer can invert a map)
        return top + (1 - (v + 1.0) / 2.0) * ph

    series = (("spearman", "Spearman correlation", "#1f4e79", ""), ("ssim", "SSIM", "#b35900", "5 3"))
    desc_parts = []
    for key, label, _, _ in series:
        vals = "; ".join(f"stage {s.get('stage')}: {num((s.get(key) or {}).get('mean'), 2)}" for s in stages)
        desc_parts.append(f"{label} by stage ({vals})")
    title = f"Similarity of heatmaps before and after {mode} randomisation of the model's weights"
    desc = title + ". Stage 0 is the trained model (similarity 1). " + ". ".join(desc_parts) + "."
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="figure-svg similarity" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-size="10" '
           f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"><title>{escape(title)}</title>'
           f'<desc>{escape(desc)}</desc>']
    for v in (-1.0, -0.5, 0.0, 0.5, 1.0):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#dddddd"/>'
                   f'<text x="{left - 6}" y="{py(v) + 3:.1f}" text-anchor="end" fill="#666666">{v:.1f}</text>')
    for k in range(n + 1):
        out.append(f'<text x="{px(k):.1f}" y="{top + ph + 14}" text-anchor="middle" fill="#666666">{k}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 8}" text-anchor="middle">randomisation stage '
               f'(0 = trained; {n} = {"all layers" if mode == "cascading" else "last block"})</text>')
    if _finite(threshold):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(threshold):.1f}" y2="{py(threshold):.1f}" '
                   f'stroke="#333333" stroke-dasharray="2 3"/><text x="{left + pw + 4}" y="{py(threshold) + 3:.1f}" '
                   f'fill="#333333">flag at {threshold:g}</text>')
    for j, (key, label, colour, dash) in enumerate(series):
        pts = [(0.0, 1.0)]
        for s in stages:
            summ = s.get(key) or {}
            if _finite(summ.get("mean")):
                pts.append((float(s["stage"]), float(summ["mean"])))
                if _finite(summ.get("ci_low")) and _finite(summ.get("ci_high")):
                    x = px(s["stage"]) + (j * 4 - 2)
                    out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(summ["ci_low"]):.1f}" '
                               f'y2="{py(summ["ci_high"]):.1f}" stroke="{colour}"/>')
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"'
                   + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.6" fill="{colour}"/>')
        out.append(f'<line x1="{left + pw + 4}" x2="{left + pw + 22}" y1="{top + 8 + 16 * j}" y2="{top + 8 + 16 * j}" '
                   f'stroke="{colour}" stroke-width="1.6"' + (f' stroke-dasharray="{dash}"' if dash else "") + "/>"
                   f'<text x="{left + pw + 26}" y="{top + 11 + 16 * j}">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _sanity(s: dict) -> dict:
    if not s or not s.get("available"):
        return {"available": False, "reason": (s or {}).get("reason", "not run")}
    stages = []
    for st in s.get("stages") or []:
        sp, ss = st.get("spearman") or {}, st.get("ssim") or {}
        stages.append({
            "stage": st.get("stage"),
            "layers": count(st.get("layers_randomised")),
            "range": st.get("last_layer", "") if s.get("mode") == "cascading"
            else f"{st.get('first_layer', '')} … {st.get('last_layer', '')}",
            "fraction": pct(st.get("fraction_of_parameters")),
            "spearman": num(sp.get("mean"), 2),
            "spearman_ci": f"{num(sp.get('ci_low'), 2)} to {num(sp.get('ci_high'), 2)}" if _finite(sp.get("ci_low")) else "",
            "ssim": num(ss.get("mean"), 2),
            "ssim_ci": f"{num(ss.get('ci_low'), 2)} to {num(ss.get('ci_high'), 2)}" if _finite(ss.get("ci_low")) else "",
            "not_estimable": count(sp.get("n_not_estimable")),
        })
    flagged = s.get("flagged")
    return {
        "available": True,
        "mode": s.get("mode"),
        "n_images": count(s.get("n_images")),
        "n_layers": count(s.get("n_parameterised_layers")),
        "seed": s.get("seed"),
        "stages": stages,
        "flagged": flagged,
        "verdict": "FLAGGED" if flagged else ("PASSED" if flagged is False else "NOT ESTIMABLE"),
        "verdict_class": "fail" if flagged else ("pass" if flagged is False else "neutral"),
        "rule": s.get("rule", ""),
        # the verdict badge says PASSED / FLAGGED already: drop the same word leading the sentence
        "interpretation": _without_verdict_word(s.get("interpretation", "")),
        "chart": Markup(similarity_svg(s.get("stages") or [], threshold=s.get("flag_threshold"),
                                       mode=s.get("mode", "cascading"))),
        "figure": s.get("figure"),
        "figure_caption": s.get("figure_caption", ""),
    }


def build(results: dict, doc: dict) -> dict | None:
    """Context for sections/failure_analysis.html.j2; ``None`` when results.json has no explainability block."""
    ex = results.get("explainability")
    if not ex:
        return None
    if not ex.get("available"):
        return {"available": False, "reason": ex.get("reason", "")}
    hm = ex.get("heatmaps") or {}
    from valkit.report.heatmap_legend import heatmap_legend_svg
    from valkit.report.sections.appendix import identifiers_sentence

    return {
        "available": True,
        "identifiers": identifiers_sentence(results),
        "method": METHOD_NAMES.get(ex.get("method"), ex.get("method")),
        "target_layer": ex.get("target_layer", ""),
        "grid": " × ".join(str(v) for v in ex.get("heatmap_grid") or []),
        "feature_grid": " × ".join(str(v) for v in ex.get("feature_grid") or []),
        "cell_px": " × ".join(f"{v:g}" for v in ex.get("feature_cell_px") or []),
        "seed": ex.get("seed"),
        "threshold": num(ex.get("threshold"), 3),
        "n_maps": count(hm.get("n")),
        "device": hm.get("device", ""),
        "unreadable": ex.get("unreadable") or [],
        "gallery": _gallery(ex.get("gallery") or {}),
        "gallery_legend": Markup(heatmap_legend_svg()),
        "localisation": _localisation(ex.get("localisation") or {}),
        "border": _border(ex.get("border") or {"available": False, "reason": "not in results.json (older run)"}),
        "sanity": _sanity(ex.get("sanity") or {}),
    }
