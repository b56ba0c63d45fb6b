"""The audit side of one ``valkit run``: check the lock, log the start and the unsealing of the
labels (before any label is read), build results.json ``traceability``, log the end.

Order inside :func:`valkit.pipeline.run_protocol`::

    load_protocol → model section → RunAudit.open (digests, lock check, run_start, unseal)
        → load_study (the first read of the labels) → ... → results.json → RunAudit.finish (run_end)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from valkit.audit import log
from valkit.audit.lock import LockCheck, changes, check_lock, data_digests, lock_record
from valkit.audit.timeline import traceability_block, traceability_deviations
from valkit.digests import file_sha256
from valkit.errors import InputError
from valkit.protocol import LoadedProtocol


@dataclass
class RunAudit:
    runs_root: Path
    record: dict
    check: LockCheck
    run_start: dict
    unseal: dict
    _block: dict | None = field(default=None, repr=False)

    @property
    def manifests(self) -> list[str]:
        return data_digests(self.record)

    @classmethod
    def open(cls, loaded: LoadedProtocol, model: dict, *, runs_root: str | Path, run_dir: Path) -> "RunAudit":
        """Check the lock and log ``run_start`` and ``unseal``; raises InputError when refused (logged
        as ``run_refused``). Hashes files only: no label is read here."""
        runs_root = Path(runs_root)
        p = loaded.protocol
        record = lock_record(loaded)
        entries = log.read_entries(runs_root)
        try:
            check = check_lock(record, entries, pre_registered=p.regulatory.pre_registered, source=str(loaded.path))
        except InputError as exc:
            log.append(runs_root, "run_refused", {"protocol_id": p.id, "protocol_sha256": loaded.sha256,
                                                  "manifests": data_digests(record), "reason": str(exc)})
            raise
        _log_revision(runs_root, record, check, entries)
        manifests = data_digests(record)
        start = log.append(runs_root, "run_start", {
            "protocol_id": p.id, "protocol_sha256": loaded.sha256, "run_dir": run_dir.name,
            "manifests": manifests, "files": record["files"], "protocol": record["protocol"],
            "model": {"name": model.get("name"), "version": model.get("version"), "sha256": model.get("weights_sha256")},
            "pre_registered": p.regulatory.pre_registered, "lock_seq": check.lock["seq"] if check.lock else None,
            "lock_status": check.status})
        unseal = log.append(runs_root, "unseal", {
            "protocol_id": p.id, "run_start_seq": start["seq"], "manifests": manifests,
            "first": check.first_unseal is None,
            "columns": [p.reference_standard.column]})
        return cls(runs_root=runs_root, record=record, check=check, run_start=start, unseal=unseal)

    def block(self) -> dict:
        """results.json ``traceability`` (the audit head it records is the anchor of this run)."""
        if self._block is None:
            p = self.record["protocol"]
            self._block = traceability_block(
                self.check, log.read_entries(self.runs_root), protocol_id=self.record["protocol_id"],
                manifests=self.manifests, run_start=self.run_start, unseal=self.unseal,
                pre_registered=bool(p["regulatory"].get("pre_registered")),
                masking=list(p["regulatory"].get("masking") or []), log_name=log.LOG_NAME)
        return self._block

    def deviations(self) -> list[dict]:
        return traceability_deviations(self.block())

    def finish(self, run_dir: Path, verdict: str) -> dict:
        """Log ``run_end`` with the digest of the results.json just written."""
        return log.append(self.runs_root, "run_end", {
            "protocol_id": self.record["protocol_id"], "run_dir": run_dir.name, "run_start_seq": self.run_start["seq"],
            "verdict": verdict, "results_sha256": file_sha256(run_dir / "results.json"),
            "anchor": self.block()["audit_head"]})


def _log_revision(runs_root: Path, record: dict, check: LockCheck, entries: list[dict]) -> None:
    """A protocol (or file) changed after these data's labels were read: log it once per new digest."""
    if check.first_unseal is None:
        return
    pid, sha = record["protocol_id"], record["protocol_sha256"]
    manifests = set(data_digests(record))
    files = hashlib.sha256(log.canonical(sorted((f["key"], f["sha256"]) for f in record["files"]))).hexdigest()
    if any(e.get("kind") == "protocol_revision" and e["details"].get("protocol_id") == pid
           and e["details"].get("to_sha256") == sha and e["details"].get("to_files_sha256") == files for e in entries):
        return
    if check.status == "revised after unsealing":
        old, what = check.original_lock["details"], check.revision or []
    else:  # not pre-registered: compare with the protocol of the earlier runs on these data
        runs = [e for e in entries if e.get("kind") == "run_start" and e["details"].get("protocol_id") == pid
                and manifests & set(e["details"].get("manifests", []))]
        if not runs or any(e["details"].get("protocol_sha256") == sha for e in runs):
            return
        old = {"protocol_sha256": runs[-1]["details"].get("protocol_sha256"),
               "protocol": runs[-1]["details"].get("protocol"), "files": runs[-1]["details"].get("files", [])}
        what = changes(old, record)
    if old.get("protocol_sha256") == sha and not what:
        return
    log.append(runs_root, "protocol_revision", {
        "protocol_id": pid, "manifests": sorted(manifests), "from_sha256": old.get("protocol_sha256"),
        "to_sha256": sha, "to_files_sha256": files, "changes": what, "after_unseal_seq": check.first_unseal["seq"]})


__all__ = ["RunAudit"]
