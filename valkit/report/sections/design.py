"""Design and pre-specification: the timeline lock → unseal → this run, the locked digests, the
masking statements, protocol revisions and the test-set reuse history (results.json ``traceability``)."""
from __future__ import annotations

from valkit.report.formatting import file_name

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


def _step(label: str, point: dict | None, detail: str) -> dict:
    return {"label": label, "utc": (point or {}).get("utc", "—"), "seq": (point or {}).get("seq", "—"),
            "sha256": (point or {}).get("sha256", ""), "detail": detail}


def build(results: dict, doc: dict) -> dict | None:
    t = results.get("traceability")
    if not t:
        return None
    prov = results.get("provenance") or {}
    lock, original, first = t.get("lock"), t.get("original_lock"), t["first_unseal"]
    steps = []
    if original:
        steps.append(_step("Protocol locked (original)", original,
                           f"protocol sha256 {original['protocol_sha256']}"))
    steps.append(_step("Protocol locked" + (" (revision)" if original else ""), lock,
                       f"protocol sha256 {lock['protocol_sha256']}" if lock else "no lock of these files"))
    steps.append(_step("Test labels first read (unsealed)", first,
                       "by this run" if first.get("this_run") else f"by a run of protocol '{first.get('protocol_id')}'"))
    steps.append(_step("This run started", t["run_start"], f"started {prov.get('started_utc', '')}"))
    if not first.get("this_run"):
        steps.append(_step("This run read the labels", t["unseal"], ""))
    steps.sort(key=lambda st: st["seq"] if isinstance(st["seq"], int) else 0)
    steps.append({"label": "This run finished, results written", "utc": prov.get("finished_utc", ""), "seq": "—",
                  "sha256": "", "detail": f"after audit seq {t['audit_head']['seq']} (the anchor recorded in "
                                          "results.json)"})
    in_order = bool(lock) and (lock["seq"] < first["seq"])
    return {
        "status": t["status"],
        "status_text": STATUS_TEXT.get(t["status"], t["status"]),
        "locked_before_unsealing": in_order,
        "steps": steps,
        "files": [{**f, "path": file_name(f.get("path"))} for f in (lock or {}).get("files", [])],
        "masking": t.get("masking") or [],
        "revisions": t.get("revisions") or [],
        "reuse": t.get("reuse") or [],
        "earlier_runs": t.get("earlier_runs") or [],
        "audit_log": t.get("audit_log"),
        "audit_head": t["audit_head"],
    }


__all__ = ["build"]
