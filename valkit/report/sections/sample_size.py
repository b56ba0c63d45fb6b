"""The "Sample size and achieved power" sub-table of the Statistical methods section.

Reads results.json ``sample_size`` (:mod:`valkit.analyses.sample_size`); computes nothing.
"""
from __future__ import annotations

from typing import Any

from valkit.report.formatting import count, num, pct
from valkit.report.sections.common import METRIC_KIND, method_text, metric_label


def _precision(row: dict) -> str:
    if row.get("half_width") is None:
        return "no interval"
    if METRIC_KIND.get(row["metric"], "proportion") == "proportion":
        return f"±{row['half_width'] * 100:.1f} percentage points"
    return f"±{num(row['half_width'])}"


def _goal(row: dict) -> str:
    return pct(row["goal"], 0) if METRIC_KIND.get(row["metric"], "proportion") == "proportion" else num(row["goal"], 2)


def sample_size_rows(results: dict) -> dict[str, Any] | None:
    """The printed rows and notes, or None for a run written before results.json had ``sample_size``."""
    block = results.get("sample_size")
    if not block or not block.get("rows"):
        return None
    rows = []
    for r in block["rows"]:
        deff = r.get("design_effect") or 1.0
        rows.append({
            "endpoint": metric_label(r["metric"], results),
            "goal": _goal(r),
            "n": count(r.get("n")),
            "n_effective": count(r.get("n_effective")) if deff > 1 else "",
            "design_effect": f"{deff:.2f}",
            "precision": _precision(r),
            "power_estimate": pct(r.get("power_at_estimate"), 0) if r.get("power_at_estimate") is not None else "—",
            "power_planning": (f"{pct(r['power_at_planning_value'], 0)} at {pct(r['planning_value'], 0)}"
                               if r.get("power_at_planning_value") is not None else "not stated in the protocol"),
            "power_method": method_text(r.get("power_method")) if r.get("power_method") else "",
            "needed": count(r.get("n_needed")) if r.get("n_needed") is not None else "—",
            "needed_total": count(r.get("n_needed_total")) if r.get("n_needed_total") is not None else "—",
            "note": r.get("note"),
        })
    return {"rows": rows, "power_target": pct(block.get("power_target"), 0), "clustered": bool(block.get("clustered"))}


__all__ = ["sample_size_rows"]
