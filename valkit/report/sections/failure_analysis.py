"""Failure analysis: heatmap galleries, localisation validity and the explanation sanity check.

Reads the typed ``explainability`` block (:mod:`valkit.results_schema.explainability`, written by
:func:`valkit.explain.explainability_section`; as every section of :data:`valkit.report.context.SECTIONS`);
prints and draws only numbers found there. Overlay images are PNG files in the run
directory, referenced by their relative paths (the HTML and the PDF are rendered with the
run directory as base URL).
"""
from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any, Sequence

from markupsafe import Markup

from valkit.report.figures import ForestPanel, ForestRow, forest_svg
from valkit.report.formatting import count, estimate_cells, num, pct
from valkit.report.sections.common import column_title, method_text
from valkit.results_schema.explainability import (
    BorderNotAvailable,
    ExplainabilityNotAvailable,
    LocalisationNotAvailable,
    SanityNotAvailable,
)

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.base import Estimate
    from valkit.results_schema.explainability import (
        Border,
        BorderGroup,
        Gallery,
        GalleryCategory,
        Localisation,
        LocalisationEstimates,
        LocalisationGroup,
        Sanity,
        SanityStage,
        SimilaritySummary,
    )

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


def _gallery(gallery: Gallery) -> list[dict]:
    out = []
    for cat, title in CATEGORY_TITLES.items():
        g: GalleryCategory = getattr(gallery, cat)
        cases = []
        for e in g.cases:
            loc = ""
            if e.pointing_game_hit is not None:
                loc = (f"peak {'in' if e.pointing_game_hit else 'outside'} lesion box; "
                       f"energy in box {pct(e.energy_fraction)}")
            if e.pointing_game_cell_hit is not None and e.pointing_game_hit is False:
                loc += f" ({'in' if e.pointing_game_cell_hit else 'outside'} at the heatmap's resolution)"
            truth = {1: "reference positive", 0: "reference negative"}.get(e.label, "reference not recorded")
            cases.append({
                "src": e.overlay,
                "truth": truth,
                "case_id": e.case_id,
                "site": e.site,
                "scanner": e.scanner,
                "score": num(e.score, 3),
                "localisation": loc,
                "alt": f"{title[:-1]} {e.case_id}, {truth}: heatmap over the image, "
                       f"score {num(e.score, 3)}"
                       + (f", {loc}" if loc else ""),
            })
        out.append({"key": cat, "title": title, "available": count(g.available),
                    "requested": count(g.requested), "cases": cases})
    return out


ROWS = (  # field, label, short label (table column)
    ("pointing_game", "Pointing-game hit rate", "Pointing game"),
    ("pointing_game_feature_cell", "Pointing game at the heatmap's resolution (peak cell overlaps the box)",
     "Peak cell on lesion"),
    ("energy_fraction", "Mean energy fraction in the lesion box", "Energy fraction"),
)
BOOTSTRAP_METHODS = {
    "bootstrap_percentile": "percentile bootstrap over cases",
    "cluster_bootstrap_percentile": "patient-clustered percentile bootstrap (Davison & Hinkley 1997)",
}


def _estimate_rows(group: LocalisationEstimates) -> list[dict]:
    rows = []
    for field, label, short in ROWS:
        est: Estimate = getattr(group, field)
        cells = estimate_cells(est.model_dump(), "proportion")
        method = BOOTSTRAP_METHODS.get(cells["method"]) or method_text(cells["method"])
        rows.append({"label": label, "short": short, **cells, "method_text": method})
    return rows


def _forest(groups: Sequence[LocalisationGroup], title: str) -> Markup:
    """One panel per pointing-game measure."""
    panels = []
    for field, metric in FOREST:
        if not groups:
            continue
        rows = []
        for g in groups:
            est: Estimate = getattr(g, field)
            iv = est.interval
            rows.append(ForestRow(label=g.group, n_text=f"{count(g.n)} TP", value=est.value,
                                  low=None if iv is None else iv.low, high=None if iv is None else iv.high,
                                  note="insufficient evidence" if g.insufficient else ""))
        panels.append(ForestPanel(metric, rows))
    return Markup(forest_svg(panels, title=f"Localisation of true positives by {title.lower()}"))


def _localisation(loc: Localisation | LocalisationNotAvailable) -> dict:
    out: dict[str, Any] = {
        "available": loc.available,
        "reason": loc.reason if isinstance(loc, LocalisationNotAvailable) else None,
        "n_true_positives": count(loc.n_true_positives),
        "n_with_box": count(loc.n_with_box),
        "n_scored": count(loc.n_scored),
        "n_without_box": count(loc.n_without_box),
        "n_invalid_box": count(loc.n_invalid_box),
        "n_empty": count(loc.n_empty_heatmaps),
        "tolerance": loc.pointing_tolerance_px or 0,
        "box_columns": ", ".join(loc.box_columns),
        "geometry": loc.geometry,
        "cases_csv": None,
        "min_group_size": None,
        "groups": [],
    }
    if isinstance(loc, LocalisationNotAvailable):
        return out
    overall = loc.overall
    out.update({
        "cases_csv": loc.cases_csv,
        "min_group_size": loc.min_group_size,
        "rows": _estimate_rows(overall),
        "n_patients": count(overall.n_patients),
        "chance": pct(overall.mean_box_area_fraction),
        "cell_chance": pct(overall.mean_cell_chance),
    })
    for col, groups in loc.by.items():
        if not groups:
            continue
        out["groups"].append({
            "title": column_title(col),
            "columns": [r["short"] for r in _estimate_rows(groups[0])],
            "rows": [{"level": g.group, "n": count(g.n), "insufficient": g.insufficient,
                      "cells": _estimate_rows(g)} for g in groups],
            "forest": _forest(groups, column_title(col)),
        })
    return out


def _border_row(label: str, g: BorderGroup) -> dict:
    return {"level": label, "n": count(g.n), "insufficient": g.insufficient, "flagged": g.flagged,
            "rate": estimate_cells(g.peak_on_border.model_dump(), "proportion"),
            "energy": estimate_cells(g.border_energy_fraction.model_dump(), "proportion")}


def _border(b: Border | BorderNotAvailable | None) -> dict:
    """Where the heatmaps peak: the border-peak rate by outcome and by site / scanner."""
    if b is None:
        return {"available": False, "reason": "not in results.json (older run)"}
    if isinstance(b, BorderNotAvailable):
        return {"available": False, "reason": b.reason}
    tables = [{"title": "Outcome", "rows": [_border_row("All explained cases", b.overall)]
               + [_border_row(CATEGORY_TITLES.get(g.group, g.group), g) for g in b.by_category]}]
    for col, groups in b.by.items():
        if groups:
            tables.append({"title": column_title(col), "rows": [_border_row(g.group, g) for g in groups]})
    rate = {g.group: g.peak_on_border.value for g in b.by_category}
    fp, tp = rate.get("false_positive"), rate.get("true_positive")  # categories with no case are absent
    return {
        "available": True,
        "chance": pct(b.chance),
        "band_area": pct(b.band_area_fraction),
        "n": count(b.n),
        "per_category": count(b.max_cases_per_category),
        "min_group_size": b.min_group_size,
        "tables": tables,
        "flagged": list(b.flagged),
        "overall_flagged": b.overall.flagged,
        "fp_vs_tp": (pct(fp), pct(tp)) if _finite(fp) and _finite(tp) else None,
        "cases_csv": b.cases_csv,
    }


def _without_verdict_word(text: str) -> str:
    """'Passed: the heatmaps change ...' -> 'the heatmaps change ...'.

    >>> _without_verdict_word("FLAGGED: the heatmaps barely change."), _without_verdict_word("No prefix.")
    ('the heatmaps barely change.', 'No prefix.')
    """
    head, sep, rest = text.partition(": ")
    return rest if sep and head in ("Passed", "FLAGGED", "Not estimable") else text


def similarity_svg(stages: Sequence[SanityStage], *, threshold: float | None, mode: str, width: int = 520) -> str:
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
        vals = "; ".join(f"stage {s.stage}: {num(getattr(s, key).mean, 2)}" for s in stages)
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
            summ: SimilaritySummary = getattr(s, key)
            if _finite(summ.mean):
                pts.append((float(s.stage), float(summ.mean)))
                if _finite(summ.ci_low) and _finite(summ.ci_high):
                    x = px(s.stage) + (j * 4 - 2)
                    out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(summ.ci_low):.1f}" '
                               f'y2="{py(summ.ci_high):.1f}" stroke="{colour}"/>')
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


def _ci(summ: SimilaritySummary) -> str:
    return f"{num(summ.ci_low, 2)} to {num(summ.ci_high, 2)}" if _finite(summ.ci_low) else ""


def _sanity(s: Sanity | SanityNotAvailable) -> dict:
    if isinstance(s, SanityNotAvailable):
        return {"available": False, "reason": s.reason}
    stages = [{
        "stage": st.stage,
        "layers": count(st.layers_randomised),
        "range": st.last_layer if s.mode == "cascading" else f"{st.first_layer} … {st.last_layer}",
        "fraction": pct(st.fraction_of_parameters),
        "spearman": num(st.spearman.mean, 2),
        "spearman_ci": _ci(st.spearman),
        "ssim": num(st.ssim.mean, 2),
        "ssim_ci": _ci(st.ssim),
        "not_estimable": count(st.spearman.n_not_estimable),
    } for st in s.stages]
    flagged = s.flagged
    return {
        "available": True,
        "mode": s.mode,
        "n_images": count(s.n_images),
        "n_layers": count(s.n_parameterised_layers),
        "seed": s.seed,
        "stages": stages,
        "flagged": flagged,
        "verdict": "FLAGGED" if flagged else ("PASSED" if flagged is False else "NOT ESTIMABLE"),
        "verdict_class": "fail" if flagged else ("pass" if flagged is False else "neutral"),
        "rule": s.rule,
        # the verdict badge says PASSED / FLAGGED already: drop the same word leading the sentence
        "interpretation": _without_verdict_word(s.interpretation),
        "chart": Markup(similarity_svg(s.stages, threshold=s.flag_threshold, mode=s.mode)),
        "figure": s.figure,
        "figure_caption": s.figure_caption,
    }


def build(results: Results, doc: dict) -> dict | None:
    """Context for sections/failure_analysis.html.j2; ``None`` when results.json has no explainability block."""
    ex = results.explainability
    if ex is None:
        return None
    if isinstance(ex, ExplainabilityNotAvailable):
        return {"available": False, "reason": ex.reason}
    from valkit.report.heatmap_legend import heatmap_legend_svg
    from valkit.report.sections.appendix import identifiers_sentence

    return {
        "available": True,
        "identifiers": identifiers_sentence(results),
        "method": METHOD_NAMES.get(ex.method, ex.method),
        "target_layer": ex.target_layer,
        "grid": " × ".join(str(v) for v in ex.heatmap_grid),
        "feature_grid": " × ".join(str(v) for v in ex.feature_grid),
        "cell_px": " × ".join(f"{v:g}" for v in ex.feature_cell_px),
        "seed": ex.seed,
        "threshold": num(ex.threshold, 3),
        "n_maps": count(ex.heatmaps.n),
        "device": ex.heatmaps.device,
        "unreadable": [u.model_dump() for u in ex.unreadable],
        "gallery": _gallery(ex.gallery),
        "gallery_legend": Markup(heatmap_legend_svg()),
        "localisation": _localisation(ex.localisation),
        "border": _border(ex.border),
        "sanity": _sanity(ex.sanity),
    }
