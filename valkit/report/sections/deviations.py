"""Deviations from the protocol: what this run did differently from what the protocol fixed in advance."""
from __future__ import annotations

from valkit.report.sections.common import CI_METHODS_SHORT


def build(results: dict, doc: dict) -> dict:
    """Rows of the deviations table (empty list: the section says there were none)."""
    m = results.get("methods") or {}
    rows = [{
        "what": d.get("what", ""),
        "protocol": CI_METHODS_SHORT.get(d.get("protocol"), d.get("protocol") or ""),
        "actual": CI_METHODS_SHORT.get(d.get("actual"), d.get("actual") or ""),
        "reason": d.get("reason", ""),
        "gating": bool(d.get("gating")),
    } for d in results.get("deviations") or []]
    rule = m.get("clustering_rule")
    return {
        "rows": rows,
        "clustering_rule": rule,
        "clustering_stated": bool(m.get("clustering_rule_stated")),
        "clustered": bool(m.get("clustered")),
    }


__all__ = ["build"]
