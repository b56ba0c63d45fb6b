"""Design and pre-specification: the timeline lock → unseal → this run, the locked digests, the
masking statements, protocol revisions and the test-set reuse history (results.json ``traceability``).

Reads the typed results (:class:`~valkit.results_schema.Results`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.report.formatting import file_name

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.traceability import AuditPoint

STATUS_TEXT = {
    "pre-registered": "The protocol was pre-registered: valkit lock recorded the digests of the protocol and of "
                      "every file it names before any run read the test labels, and this run used exactly those "
                      "files (checked before the labels were read).",
    "revised after unsealing": "The protocol was pre-registered, but the files this run used were locked again "
                               "after the test labels had been read: this run is a revision after unsealing, listed "
                               "as a deviation.",
    "not pre-registered": "The protocol is not marked as pre-registered (regulatory.pre_registered), so no lock was "
                          "required before the test labels were read; the timeline below shows what the audit log "
                          "records.",
}


def _step(label: str, point: AuditPoint | None, detail: str) -> dict:
    """One timeline row; ``point`` None: the step did not happen (no lock), printed as a dash."""
    if point is None:
        return {"label": label, "utc": "—", "seq": "—", "sha256": "", "detail": detail}
    return {"label": label, "utc": point.utc, "seq": point.seq, "sha256": point.sha256, "detail": detail}


def build(results: Results, doc: dict) -> dict | None:
    t = results.traceability
    if t is None:  # results.json written before issue #14
        return None
    prov = results.provenance
    lock, original, first = t.lock, t.original_lock, t.first_unseal
    steps = []
    if original is not None:
        steps.append(_step("Protocol locked (original)", original, f"protocol sha256 {original.protocol_sha256}"))
    steps.append(_step("Protocol locked" + (" (revision)" if original is not None else ""), lock,
                       f"protocol sha256 {lock.protocol_sha256}" if lock is not None else "no lock of these files"))
    steps.append(_step("Test labels first read (unsealed)", first,
                       "by this run" if first.this_run else f"by a run of protocol '{first.protocol_id}'"))
    steps.append(_step("This run started", t.run_start, f"started {prov.started_utc}"))
    if not first.this_run:
        steps.append(_step("This run read the labels", t.unseal, ""))
    steps.sort(key=lambda st: st["seq"] if isinstance(st["seq"], int) else 0)
    steps.append({"label": "This run finished, results written", "utc": prov.finished_utc, "seq": "—",
                  "sha256": "", "detail": f"after audit seq {t.audit_head.seq} (the anchor recorded in "
                                          "results.json)"})
    return {
        "status": t.status,
        "status_text": STATUS_TEXT[t.status],
        "locked_before_unsealing": lock is not None and lock.seq < first.seq,
        "steps": steps,
        "files": [] if lock is None else [{**f.model_dump(), "path": file_name(f.path)} for f in lock.files],
        "masking": t.masking,
        # plain dicts for the template, exactly the results.json entries
        "revisions": [r.model_dump() for r in t.revisions],
        "reuse": [r.model_dump() for r in t.reuse],
        "earlier_runs": [r.model_dump() for r in t.earlier_runs],
        "audit_log": t.audit_log,
        "audit_head": t.audit_head.model_dump(),
    }


__all__ = ["build"]
