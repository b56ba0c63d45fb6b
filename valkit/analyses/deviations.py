"""Deviations: everything this run did differently from what the protocol fixed in advance.

A deviation is recorded when valkit had to depart from a method the protocol names, without
the protocol having said in advance that it would: e.g. the protocol asks for a Wilson interval,
patients have several images, and the protocol does not say how clustering is handled
(``analysis.clustering``), so valkit's default rule replaces Wilson by the patient-clustered
bootstrap. A switch the protocol pre-specified (``clustering: auto``) is not a deviation; it is
stated beside the estimate instead. The list is printed in the report's "Deviations from the
protocol" section, and says "none" when empty.
"""
from __future__ import annotations

from typing import Any


def deviations(protocol: Any, endpoints: list[dict], *, clustering_stated: bool) -> list[dict]:
    """Structured deviation records (``what``, ``protocol``, ``actual``, ``reason``, ``gating``).

    >>> from types import SimpleNamespace as NS
    >>> ep = [{"id": "sens", "metric": "sensitivity", "primary": True, "goal": 0.7, "ci_method_requested": "wilson",
    ...        "ci_method": "cluster_bootstrap_percentile", "ci_note": "why"}]
    >>> [d["what"] for d in deviations(NS(), ep, clustering_stated=False)]
    ['Endpoint sens: confidence interval method']
    >>> deviations(NS(), ep, clustering_stated=True)
    []
    """
    out = []
    for e in endpoints:
        requested, used = e.get("ci_method_requested"), e.get("ci_method")
        if not requested or not used or requested == used:
            continue
        if used != "wilson_patients" and clustering_stated:
            continue  # the protocol's own clustering rule chose this method: stated beside the estimate
        out.append({
            "what": f"Endpoint {e['id']}: confidence interval method",
            "protocol": requested,
            "actual": used,
            "reason": e.get("ci_note") or "",
            "gating": bool(e.get("primary") and e.get("goal") is not None),
        })
    return out


__all__ = ["deviations"]
