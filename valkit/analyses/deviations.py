"""Deviations: everything this run did differently from what the protocol fixed in advance.

A deviation is recorded when valkit had to depart from a method the protocol names, without
the protocol having said in advance that it would: e.g. the protocol asks for a Wilson interval,
patients have several images, and the protocol does not say how clustering is handled
(``analysis.clustering``), so valkit's default rule replaces Wilson by the patient-clustered
bootstrap. A switch the protocol pre-specified (``clustering: auto``) is not a deviation; it is
stated beside the estimate instead. Cases that could not be scored (failed: unreadable, no
score) leave the analysis without a pre-set rule, so they are a deviation too; exclusions by the
model card's ``accepts`` rules are pre-set and are not. Revisions of the protocol after the labels
were read and re-runs come from the audit log (:func:`valkit.audit.timeline.traceability_deviations`).
The list is printed in the report's "Deviations and data integrity" section, and says "none" when
empty.
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


def case_deviations(flow: dict) -> list[dict]:
    """A deviation for cases that failed (left out of every estimate without a pre-set rule).

    >>> case_deviations({"failed": 0})
    []
    >>> d = case_deviations({"failed": 2, "failed_positive": 1, "failed_negative": 1, "in_manifest": 10,
    ...                      "failure_reasons": [{"reason": "truncated DICOM", "n": 2}]})
    >>> d[0]["actual"], d[0]["reason"]
    ('2 of 10 cases failed (1 positive, 1 negative)', 'truncated DICOM: 2; every row is listed in the accountability table and cases.csv')
    """
    n = int(flow.get("failed") or 0)
    if not n:
        return []
    reasons = "; ".join(f"{r['reason']}: {r['n']}" for r in flow.get("failure_reasons", []))
    return [{
        "what": "Cases not analysed (failed)",
        "protocol": "every manifest row analysed, apart from the model card's pre-set exclusions",
        "actual": f"{n} of {flow.get('in_manifest')} cases failed ({flow.get('failed_positive', 0)} positive, "
                  f"{flow.get('failed_negative', 0)} negative)",
        "reason": f"{reasons}; every row is listed in the accountability table and cases.csv",
        "gating": True,  # the primary estimates are computed without them
    }]


__all__ = ["case_deviations", "deviations"]
