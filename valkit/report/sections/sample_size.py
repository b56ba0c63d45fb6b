"""The "Sample size and achieved power" sub-table of the Statistical methods section.

Reads ``sample_size`` of the typed results (:class:`~valkit.results_schema.sample_size.SampleSize`,
built by :mod:`valkit.analyses.sample_size`); computes nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from valkit.report.formatting import count, num, pct
from valkit.report.sections.common import METRIC_KIND, method_text, metric_label

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.sample_size import SampleSizeRow


def _precision(row: SampleSizeRow) -> str:
    if row.half_width is None:
        return "no interval"
    if METRIC_KIND.get(row.metric, "proportion") == "proportion":
        return f"±{row.half_width * 100:.1f} percentage points"
    return f"±{num(row.half_width)}"


def _goal(row: SampleSizeRow) -> str:
    return pct(row.goal, 0) if METRIC_KIND.get(row.metric, "proportion") == "proportion" else num(row.goal, 2)


def _row(r: SampleSizeRow, results: Results) -> dict[str, Any]:
    deff = r.design_effect
    return {
        "endpoint": metric_label(r.metric, results),
        "goal": _goal(r),
        "n": count(r.n),
        "n_effective": count(r.n_effective) if deff > 1 else "",
        "design_effect": f"{deff:.2f}",
        "precision": _precision(r),
        "power_estimate": pct(r.power_at_estimate, 0) if r.power_at_estimate is not None else "—",
        "power_planning": (f"{pct(r.power_at_planning_value, 0)} at {pct(r.planning_value, 0)}"
                           if r.power_at_planning_value is not None else "not stated in the protocol"),
        "power_method": method_text(r.power_method) if r.power_method else "",
        "needed": count(r.n_needed) if r.n_needed is not None else "—",
        "needed_total": count(r.n_needed_total) if r.n_needed_total is not None else "—",
        "note": r.note,
    }


def sample_size_rows(results: Results) -> dict[str, Any] | None:
    """The printed rows and notes, or None for a run written before results.json had ``sample_size``."""
    block = results.sample_size
    if block is None or not block.rows:
        return None
    return {"rows": [_row(r, results) for r in block.rows], "power_target": pct(block.power_target, 0),
            "clustered": block.clustered}


__all__ = ["sample_size_rows"]
