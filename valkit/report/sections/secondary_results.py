"""Printed pieces of the primary-results section added by issue #15: score distributions with the
threshold, sensitivity by lesion size/type, and the indeterminate reference standard counted both ways.

Reads ``primary.score_histogram``, ``secondary`` and ``indeterminate_counted_both_ways`` of the typed
results (:mod:`valkit.results_schema.secondary`); prints counts and estimates as stored (no
statistic computed here).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from valkit.report.distribution_figures import score_histogram_svg
from valkit.report.formatting import count
from valkit.report.sections.common import estimate_row, metric_label, true_reference

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.secondary import IndeterminateBothWays, LesionSize, LesionType

__all__ = ["secondary_results"]


def _scores_figure(results: Results) -> Markup | None:
    p = results.primary
    h = p.score_histogram
    if h is None or not h.edges:  # None: a run written before issue #15
        return None
    agree = not true_reference(results)
    return Markup(score_histogram_svg(h.edges, h.positive, h.negative,
                                      threshold=p.operating_point.threshold,
                                      positive_label="Comparator positive" if agree else "Reference positive",
                                      negative_label="Comparator negative" if agree else "Reference negative"))


def _family(block: LesionSize | LesionType | None, title: str, results: Results) -> dict | None:
    if block is None:  # the protocol names no such column
        return None
    rows = []
    for r in block.rows:
        cells = estimate_row("sensitivity", r.sensitivity, results)
        rows.append({"level": r.level, "n_positive": count(r.n_positive),
                     "n_positive_patients": count(r.n_positive_patients),
                     "detected": count(r.detected), "cells": cells})
    return {"title": title, "rows": rows}


def _both_ways(block: IndeterminateBothWays | None, results: Results) -> dict | None:
    if block is None:  # the protocol names no indeterminate values
        return None
    out = {"n": count(block.n_indeterminate), "n_patients": count(block.n_indeterminate_patients),
           "n_not_scored": block.n_not_scored, "rows": []}
    for counted, words in ((block.as_positive, "counted as positive"), (block.as_negative, "counted as negative")):
        for metric, est in (("sensitivity", counted.sensitivity), ("specificity", counted.specificity)):
            row = estimate_row(metric, est, results)
            row["label"] = f"{row['label']}, indeterminate {words}"
            out["rows"].append(row)
    return out


def secondary_results(results: Results) -> dict:
    """``scores_svg``, ``secondary`` (lesion size / type tables) and ``indeterminate`` for primary.html.j2."""
    sec = results.secondary
    families = [] if sec is None else [
        f for f in (_family(sec.lesion_size, "Lesion size", results), _family(sec.lesion_type, "Lesion type", results))
        if f]
    return {
        "scores_svg": _scores_figure(results),
        "secondary": {"families": families, "n_positive": count(sec.n_positive),
                      "sens_label": metric_label("sensitivity", results)} if families else None,
        "indeterminate": _both_ways(results.indeterminate_counted_both_ways, results),
        "indeterminate_values": ", ".join(f"“{v}”" for v in results.protocol.reference_standard.indeterminate),
    }
