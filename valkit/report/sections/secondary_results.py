"""Printed pieces of the primary-results section added by issue #15: score distributions with the
threshold, sensitivity by lesion size/type, and the indeterminate reference standard counted both ways.

Reads ``primary.score_histogram``, ``secondary`` and ``indeterminate_counted_both_ways`` of
results.json; prints counts and estimates as stored (no statistic computed here).
"""
from __future__ import annotations

from markupsafe import Markup

from valkit.report.distribution_figures import score_histogram_svg
from valkit.report.formatting import count
from valkit.report.sections.common import estimate_row, metric_label, true_reference

__all__ = ["secondary_results"]


def _scores_figure(results: dict) -> Markup | None:
    p = results.get("primary") or {}
    h = p.get("score_histogram")
    if not h or not h.get("edges"):
        return None
    agree = not true_reference(results)
    threshold = (p.get("operating_point") or {}).get("threshold",
                                                     (results.get("operating_point") or {}).get("threshold"))
    return Markup(score_histogram_svg(h["edges"], h.get("positive") or [], h.get("negative") or [],
                                      threshold=threshold,
                                      positive_label="Comparator positive" if agree else "Reference positive",
                                      negative_label="Comparator negative" if agree else "Reference negative"))


def _family(block: dict | None, title: str, results: dict) -> dict | None:
    if not block:
        return None
    rows = []
    for r in block.get("rows") or []:
        cells = estimate_row("sensitivity", r.get("sensitivity"), results)
        rows.append({"level": r.get("level", ""), "n_positive": count(r.get("n_positive")),
                     "n_positive_patients": count(r.get("n_positive_patients")),
                     "detected": count(r.get("detected")), "cells": cells})
    return {"title": title, "rows": rows}


def _both_ways(block: dict | None, results: dict) -> dict | None:
    if not block:
        return None
    out = {"n": count(block.get("n_indeterminate")), "n_patients": count(block.get("n_indeterminate_patients")),
           "n_not_scored": block.get("n_not_scored") or 0, "rows": []}
    for key, words in (("as_positive", "counted as positive"), ("as_negative", "counted as negative")):
        b = block.get(key) or {}
        for metric in ("sensitivity", "specificity"):
            row = estimate_row(metric, b.get(metric), results)
            row["label"] = f"{row['label']}, indeterminate {words}"
            out["rows"].append(row)
    return out


def secondary_results(results: dict) -> dict:
    """``scores_svg``, ``secondary`` (lesion size / type tables) and ``indeterminate`` for primary.html.j2."""
    sec = results.get("secondary") or {}
    families = [f for f in (_family(sec.get("lesion_size"), "Lesion size", results),
                            _family(sec.get("lesion_type"), "Lesion type", results)) if f]
    ref = (results.get("protocol") or {}).get("reference_standard") or {}
    return {
        "scores_svg": _scores_figure(results),
        "secondary": {"families": families, "n_positive": count(sec.get("n_positive")),
                      "sens_label": metric_label("sensitivity", results)} if families else None,
        "indeterminate": _both_ways(results.get("indeterminate_counted_both_ways"), results),
        "indeterminate_values": ", ".join(f"“{v}”" for v in ref.get("indeterminate") or []),
    }
