"""Deviations and data integrity: what this run did differently from the protocol, the accountability
of every manifest row, the determinism check and the audit-trail summary.

Reads the typed results (:class:`~valkit.results_schema.Results`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.report.formatting import file_name, plural
from valkit.report.sections.common import CI_METHODS_SHORT

if TYPE_CHECKING:
    from valkit.results_schema import Results

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


def _accountability(results: Results) -> list[dict]:
    """One row per manifest: its rows analysed, excluded, failed (and indeterminate), and whether they add up."""
    accountability = results.data.accountability
    if accountability is None:  # results.json written before issue #14
        return []
    manifests = results.provenance.manifests
    rows = []
    for a in accountability:
        i = int(a.dataset) if a.dataset.isdigit() else -1
        indeterminate = 0 if a.indeterminate is None else a.indeterminate
        manifest = file_name(manifests[i].path) if 0 <= i < len(manifests) else a.dataset
        rows.append({**a.model_dump(), "manifest": manifest,
                     "balanced": a.analysed + a.excluded + a.failed + indeterminate == a.rows,
                     "reason_text": "; ".join([f"{r.status}: {r.reason} ({r.n})" for r in a.reasons]
                                              + ([f"scored, reference standard indeterminate ({a.indeterminate})"]
                                                 if indeterminate else []))
                     or "—"})
    return rows


def _determinism(results: Results) -> dict | None:
    """The determinism check with block names in the report's words (None: not in this results.json)."""
    if results.integrity is None:
        return None
    det = results.integrity.determinism
    return {**det.model_dump(), "checked": [block_words(k) for k in det.checked],
            "differing_blocks": [block_words(k) for k in det.differing_blocks],
            "not_checked": {block_words(k): v for k, v in det.not_checked.items()}}


def _audit(results: Results) -> dict | None:
    """The audit-trail summary (None: results.json written before issue #14)."""
    t = results.traceability
    if t is None:
        return None
    return {"entries": t.audit.entries, "runs_without_end": t.audit.runs_without_end,
            "by_kind": [_kind_text(k, n) for k, n in t.audit.by_kind.items()],
            "head": t.audit_head.model_dump(), "log": t.audit_log}


def build(results: Results, doc: dict) -> dict:
    """Rows of the deviations table (empty list: the section says there were none), and the integrity parts."""
    m = results.methods
    rows = [{
        "what": d.what,
        "protocol": CI_METHODS_SHORT.get(d.protocol, d.protocol),
        "actual": CI_METHODS_SHORT.get(d.actual, d.actual),
        "reason": d.reason,
        "gating": d.gating,
    } for d in results.deviations]
    return {
        "rows": rows,
        "clustering_rule": m.clustering_rule,
        "clustering_stated": m.clustering_rule_stated,
        "clustered": m.clustered,
        "accountability": _accountability(results),
        "determinism": _determinism(results),
        "audit": _audit(results),
    }


__all__ = ["build"]
