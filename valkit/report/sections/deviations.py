"""Deviations and data integrity: what this run did differently from the protocol, the accountability
of every manifest row, the determinism check and the audit-trail summary."""
from __future__ import annotations

from valkit.report.formatting import file_name, plural
from valkit.report.sections.common import CI_METHODS_SHORT

#: audit-log entry kinds as counted nouns: (singular, plural)
KIND_WORDS = {"lock": ("protocol lock", "protocol locks"),
              "run_refused": ("run refused (lock check)", "runs refused (lock check)"),
              "protocol_revision": ("protocol revision", "protocol revisions"),
              "run_start": ("run started", "runs started"), "unseal": ("label read", "label reads"),
              "run_end": ("run finished", "runs finished"), "render": ("re-render", "re-renders"),
              "signature": ("signature", "signatures")}

#: results.json blocks (valkit.audit.determinism) as the reader knows them: the report's own words
BLOCK_WORDS = {
    "data.flow": "case flow", "data.table1": "characteristics of the test set",
    "data.acquisition": "equipment and acquisition", "data.clustering": "images per patient",
    "data.accountability": "accountability of every manifest row", "operating_point": "operating point",
    "primary": "primary results", "failures_counted_as_errors": "cases without a result counted as errors",
    "calibration": "calibration", "endpoints": "endpoints", "by_site": "results by site",
    "by_manufacturer": "results by scanner manufacturer", "subgroups": "subgroups", "fairness": "fairness",
    "sites_and_scanners": "sites and scanners (pooling, heterogeneity)", "methods": "statistical methods",
    "protocol": "protocol", "model": "model card", "inference": "inference settings",
    "data.external_scores": "external scores file", "deviations": "deviations", "reader_study": "reader study",
    "latency": "computational performance", "explainability": "heatmaps (failure analysis)",
    "tool_validation": "tool validation", "provenance": "provenance", "traceability": "traceability",
    "integrity": "integrity checks", "acceptance": "acceptance criteria", "verdict": "overall result",
    "sample_size": "sample size and achieved power",
}


def block_words(key: str) -> str:
    """A results.json block name (or a comma-separated list of them) in the report's words.

    >>> block_words("by_site"), block_words("provenance, traceability, integrity")
    ('results by site', 'provenance, traceability, integrity checks')
    >>> block_words("some_new.block")  # a block added later still prints as words
    'some new block'
    """
    return ", ".join(BLOCK_WORDS.get(k.strip(), k.strip().replace("_", " ").replace(".", " "))
                     for k in key.split(","))


def _kind_text(kind: str, n: int) -> str:
    one, many = KIND_WORDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
    return plural(n, one, plural_form=many)


def _accountability(results: dict) -> list[dict]:
    manifests = (results.get("provenance") or {}).get("manifests") or []
    rows = []
    for a in (results.get("data") or {}).get("accountability") or []:
        i = int(a["dataset"]) if str(a["dataset"]).isdigit() else -1
        path = file_name(manifests[i]["path"]) if 0 <= i < len(manifests) else a["dataset"]
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
        "determinism": None if not det else {
            **det, "checked": [block_words(k) for k in det.get("checked") or []],
            "differing_blocks": [block_words(k) for k in det.get("differing_blocks") or []],
            "not_checked": {block_words(k): v for k, v in (det.get("not_checked") or {}).items()}},
        "audit": None if not audit else {
            "entries": audit["entries"], "runs_without_end": audit["runs_without_end"],
            "by_kind": [_kind_text(k, n) for k, n in audit["by_kind"].items()],
            "head": t["audit_head"], "log": t.get("audit_log")},
    }


__all__ = ["build"]
