"""The determinism check: recompute a run's analyses from its stored predictions and compare digests.

The checked blocks are exactly those :func:`valkit.analyses.analyse` writes from the study table
joined with ``predictions.parquet``: a second computation from the files on disk must give the
same bytes. Blocks that legitimately differ between two computations, or that are not a function
of the predictions and the manifest, are left out and named in :data:`NOT_CHECKED` (the report
prints both lists).
"""
from __future__ import annotations

import hashlib

from valkit.audit.log import canonical

#: results.json blocks recomputed from predictions.parquet + the manifests (``data.*``: its parts)
CHECKED = ("data.flow", "data.table1", "data.acquisition", "data.clustering", "data.accountability",
           "operating_point", "primary", "failures_counted_as_errors", "calibration", "endpoints", "by_site",
           "by_manufacturer", "subgroups", "fairness", "sites_and_scanners", "methods")
#: blocks not compared, and why
NOT_CHECKED = {
    "protocol, model": "inputs echoed, not computed",
    "inference": "device, wall-clock seconds and decoder timings of the inference session",
    "data.external_scores": "accounting of the external scores file, not of the predictions",
    "deviations": "includes entries read from the audit log (re-runs, revisions)",
    "reader_study": "computed from the reader-study ratings file, not from the predictions",
    "latency": "wall-clock timings, which differ on every measurement",
    "explainability": "needs the model and the image pixels again (inference, not analysis)",
    "tool_validation": "its own check against published values",
    "provenance, traceability, integrity": "times, machine, audit-log positions",
    "acceptance, verdict": "collected from the checked endpoints and fairness plus the blocks above",
}


def _pick(results: dict, path: str):
    node = results
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def analysis_blocks(results: dict) -> dict:
    """The checked blocks of ``results`` (a results.json dict, or :func:`~valkit.analyses.analyse` output)."""
    return {path: _pick(results, path) for path in CHECKED}


def analysis_digest(results: dict) -> str:
    """sha256 of the canonical JSON of the checked blocks, as results.json writes them (NaN → null).

    >>> analysis_digest({"primary": {"x": float("nan")}}) == analysis_digest({"primary": {"x": None}})
    True
    """
    from valkit.results import as_written

    return hashlib.sha256(canonical(as_written(analysis_blocks(results)))).hexdigest()


def determinism_block(results: dict, recomputed: dict, *, predictions_sha256: str | None, seconds: float) -> dict:
    """results.json ``integrity.determinism``: both digests and whether they are identical."""
    a, b = analysis_digest(results), analysis_digest(recomputed)
    mismatched = [p for p in CHECKED if canonical_block(results, p) != canonical_block(recomputed, p)]
    return {"checked": list(CHECKED), "not_checked": dict(NOT_CHECKED), "predictions_sha256": predictions_sha256,
            "results_digest": a, "recomputed_digest": b, "identical": a == b, "differing_blocks": mismatched,
            "seconds": round(seconds, 3)}


def canonical_block(results: dict, path: str) -> bytes:
    from valkit.results import as_written

    return canonical(as_written(_pick(results, path)))


__all__ = ["CHECKED", "NOT_CHECKED", "analysis_blocks", "analysis_digest", "determinism_block"]
