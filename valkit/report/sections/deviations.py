"""Deviations and data integrity: what this run did differently from the protocol, the accountability
of every manifest row, the determinism check and the audit-trail summary."""
from __future__ import annotations

from valkit.report.sections.common import CI_METHODS_SHORT

KIND_WORDS = {"lock": "protocol locks", "run_refused": "runs refused (lock check)",
              "protocol_revision": "protocol revisions", "run_start": "runs started", "unseal": "label reads",
              "run_end": "runs finished", "render": "re-renders", "signature": "signatures"}


def _accountability(results: dict) -> list[dict]:
    manifests = (results.get("provenance") or {}).get("manifests") or []
    rows = []
    for a in (results.get("data") or {}).get("accountability") or []:
        i = int(a["dataset"]) if str(a["dataset"]).isdigit() else -1
        path = manifests[i]["path"] if 0 <= i < len(manifests) else a["dataset"]
        rows.append({**a, "manifest": path, "balanced": a["analysed"] + a["excluded"] + a["failed"] + (a.get("indeterminate") or 0) == a["rows"],
                     "reason_text": "; ".join([f"{r['status']}: {r['reason']} ({r['n']})" for r in a["reasons"]]
                                              + ([f"scored, reference standard indeterminate ({a['indeterminate']})"]
                                                 if a.get("indeterminate") else []))
                     or "—"})
    return rows


def build(results: dict, doc: dict) -> dict:
    """Rows of the deviations table (empty list: the section says there were none), and the integrity parts."""
    m = results.get("methods") or {}
    rows = [{
        "what": d.get("what", ""),
        "protocol": CI_METHODS_SHORT.get(d.get("protocol"), d.get("protocol") or ""),
        "actual": CI_METHODS_SHORT.get(d.get("actual"), d.get("actual") or ""),
        "reason": d.get("reason", ""),
        "gating": bool(d.get("gating")),
    } for d in results.get("deviations") or []]
    rule = m.get("clustering_rule")
    det = (results.get("integrity") or {}).get("determinism")
    t = results.get("traceability") or {}
    audit = t.get("audit")
    return {
        "rows": rows,
        "clustering_rule": rule,
        "clustering_stated": bool(m.get("clustering_rule_stated")),
        "clustered": bool(m.get("clustered")),
        "accountability": _accountability(results),
        "determinism": det,
        "audit": None if not audit else {
            "entries": audit["entries"], "runs_without_end": audit["runs_without_end"],
            "by_kind": [{"kind": KIND_WORDS.get(k, k), "n": n} for k, n in audit["by_kind"].items()],
            "head": t["audit_head"], "log": t.get("audit_log")},
    }


__all__ = ["build"]
