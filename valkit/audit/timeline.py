"""What a run records about its own history, from the audit log: the pre-specification timeline,
protocol revisions, earlier runs on the same test data and the test-set reuse history.

Pure functions: audit entries in, JSON-ready dicts out (results.json ``traceability``).
"""
from __future__ import annotations

from collections import Counter

from valkit.audit.lock import LockCheck


def _on_data(entry: dict, manifests: list[str]) -> bool:
    return bool(set(manifests) & set(entry.get("details", {}).get("manifests", [])))


def _point(entry: dict | None) -> dict | None:
    return None if entry is None else {"seq": entry["seq"], "utc": entry["utc"], "sha256": entry["sha256"]}


def lock_view(entry: dict | None) -> dict | None:
    """A lock entry as the report shows it: when, its digest, and the digests it fixed."""
    if entry is None:
        return None
    d = entry["details"]
    return {**_point(entry), "protocol_sha256": d["protocol_sha256"], "protocol_version": d.get("protocol_version"),
            "files": [{"key": f["key"], "path": f["path"], "sha256": f["sha256"]} for f in d["files"]]}


def reuse_history(entries: list[dict], manifests: list[str]) -> list[dict]:
    """How many times these test data were used to evaluate which model (one row per model digest),
    counting every run that read their labels (``run_start``), this one included."""
    rows: dict[str, dict] = {}
    for e in entries:
        if e.get("kind") != "run_start" or not _on_data(e, manifests):
            continue
        m = e["details"].get("model") or {}
        row = rows.setdefault(m.get("sha256") or "", {
            "model": m.get("name") or "", "version": m.get("version") or "", "sha256": m.get("sha256") or "",
            "runs": 0, "protocols": [], "first_utc": e["utc"], "last_utc": e["utc"]})
        row["runs"] += 1
        row["last_utc"] = e["utc"]
        pid = e["details"].get("protocol_id")
        if pid not in row["protocols"]:
            row["protocols"].append(pid)
    return list(rows.values())


def earlier_runs(entries: list[dict], protocol_id: str, manifests: list[str], *, before_seq: int) -> list[dict]:
    """Earlier runs of this protocol on these test data: when, and their verdict (None: never finished)."""
    ends = {e["details"].get("run_start_seq"): e for e in entries if e.get("kind") == "run_end"}
    out = []
    for e in entries:
        if (e.get("kind") == "run_start" and e["seq"] < before_seq and _on_data(e, manifests)
                and e["details"].get("protocol_id") == protocol_id):
            end = ends.get(e["seq"])
            out.append({"seq": e["seq"], "utc": e["utc"], "protocol_sha256": e["details"].get("protocol_sha256"),
                        "verdict": end["details"].get("verdict") if end else None})
    return out


def revisions(entries: list[dict], protocol_id: str, manifests: list[str]) -> list[dict]:
    """Every logged revision of this protocol made after these data's labels were read."""
    return [{"seq": e["seq"], "utc": e["utc"], "from_sha256": e["details"].get("from_sha256"),
             "to_sha256": e["details"].get("to_sha256"), "changes": list(e["details"].get("changes", []))}
            for e in entries if e.get("kind") == "protocol_revision" and _on_data(e, manifests)
            and e["details"].get("protocol_id") == protocol_id]


def audit_summary(entries: list[dict]) -> dict:
    """Entries by kind, and runs that started but never ended (interrupted or crashed)."""
    ended = {e["details"].get("run_start_seq") for e in entries if e.get("kind") == "run_end"}
    started = [e["seq"] for e in entries if e.get("kind") == "run_start"]
    return {"entries": len(entries), "by_kind": dict(Counter(e.get("kind") for e in entries)),
            "runs_without_end": sum(1 for s in started[:-1] if s not in ended)}


def traceability_block(check: LockCheck, entries: list[dict], *, protocol_id: str, manifests: list[str],
                       run_start: dict, unseal: dict, pre_registered: bool, masking: list[str],
                       log_name: str) -> dict:
    """results.json ``traceability``: the timeline lock → unseal → this run, and the history around it."""
    first = check.first_unseal or unseal
    return {
        "pre_registered": pre_registered,
        "status": check.status,
        "audit_log": log_name,
        "lock": lock_view(check.lock),
        "original_lock": lock_view(check.original_lock) if check.original_lock is not check.lock else None,
        "first_unseal": {**_point(first), "protocol_id": first["details"].get("protocol_id"),
                         "this_run": first["seq"] == unseal["seq"]},
        "run_start": _point(run_start),
        "unseal": _point(unseal),
        "masking": list(masking),
        "revisions": revisions(entries, protocol_id, manifests),
        "earlier_runs": earlier_runs(entries, protocol_id, manifests, before_seq=run_start["seq"]),
        "reuse": reuse_history(entries, manifests),
        "audit": audit_summary(entries),
        "audit_head": {"seq": entries[-1]["seq"], "sha256": entries[-1]["sha256"]},
    }


def traceability_deviations(block: dict) -> list[dict]:
    """Deviations the audit log shows: revisions after unsealing, and re-runs of the protocol."""
    out = []
    for r in block["revisions"]:
        out.append({"what": "Protocol revised after the test labels were read",
                    "protocol": f"sha256 {str(r['from_sha256'])[:12]}…",
                    "actual": f"sha256 {str(r['to_sha256'])[:12]}… (audit seq {r['seq']}, {r['utc']})",
                    "reason": "changed: " + (", ".join(r["changes"]) or "not recorded"),
                    "gating": True})
    runs = block["earlier_runs"]
    if runs:
        verdicts = ", ".join(f"{r['utc']}: {r['verdict'] or 'did not finish'}" for r in runs)
        out.append({"what": "Re-run on the same test data",
                    "protocol": "one run", "actual": f"run {len(runs) + 1} of this protocol on these data",
                    "reason": f"earlier runs: {verdicts}", "gating": False})
    return out


__all__ = ["audit_summary", "earlier_runs", "lock_view", "reuse_history", "revisions", "traceability_block",
           "traceability_deviations"]
