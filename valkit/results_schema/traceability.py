"""``traceability`` (the pre-specification timeline and history from the audit log) and
``integrity`` (the determinism check): issue #14, docs/traceability.md."""
from __future__ import annotations

from typing import Literal

from valkit.results_schema.base import Block


class AuditPoint(Block):
    """An audit-log entry: its position, time and digest."""

    seq: int
    utc: str
    sha256: str


class LockedFile(Block):
    key: str  # the protocol key that names it, e.g. datasets[0].manifest
    path: str
    sha256: str | None


class LockView(AuditPoint):
    """A ``valkit lock`` entry and the digests it fixed."""

    protocol_sha256: str
    protocol_version: str | None
    files: list[LockedFile]


class FirstUnseal(AuditPoint):
    """The first audit entry that read these test data's labels."""

    protocol_id: str | None
    this_run: bool


class Revision(Block):
    seq: int
    utc: str
    from_sha256: str | None
    to_sha256: str | None
    changes: list[str]


class EarlierRun(Block):
    seq: int
    utc: str
    protocol_sha256: str | None
    verdict: str | None  # None: it never finished


class Reuse(Block):
    """How often these test data evaluated one model (by its weights or scores-file digest)."""

    model: str
    version: str
    sha256: str
    runs: int
    protocols: list[str | None]
    first_utc: str
    last_utc: str


class AuditSummary(Block):
    entries: int
    by_kind: dict[str, int]
    runs_without_end: int


class AuditHead(Block):
    seq: int
    sha256: str


class Traceability(Block):
    """``traceability``: lock → unseal → this run, revisions, re-runs, test-set reuse, the audit head
    this results.json was written after (its anchor in the log)."""

    pre_registered: bool
    status: Literal["pre-registered", "revised after unsealing", "not pre-registered"]
    audit_log: str
    lock: LockView | None
    original_lock: LockView | None
    first_unseal: FirstUnseal
    run_start: AuditPoint
    unseal: AuditPoint
    masking: list[str]
    revisions: list[Revision]
    earlier_runs: list[EarlierRun]
    reuse: list[Reuse]
    audit: AuditSummary
    audit_head: AuditHead


class Determinism(Block):
    """The analyses recomputed from predictions.parquet and the manifests (:mod:`valkit.audit.determinism`)."""

    checked: list[str]
    not_checked: dict[str, str]
    predictions_sha256: str | None
    results_digest: str
    recomputed_digest: str
    identical: bool
    differing_blocks: list[str]
    seconds: float


class Integrity(Block):
    """``integrity``: checks of the run's own results."""

    determinism: Determinism


__all__ = ["AuditHead", "AuditPoint", "AuditSummary", "Determinism", "EarlierRun", "FirstUnseal", "Integrity",
           "LockView", "LockedFile", "Reuse", "Revision", "Traceability"]
