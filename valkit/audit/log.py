"""The audit log: one append-only, hash-chained JSON-lines file per runs folder.

``RUNS/audit.log.jsonl`` holds one entry per line, ``{seq, utc, kind, details, prev_sha256,
sha256}``: ``sha256`` is the digest of the entry's canonical JSON without its own ``sha256``
(keys sorted, no spaces, UTF-8), and ``prev_sha256`` is the previous entry's ``sha256`` (64
zeros for the first). Editing, deleting or reordering an entry breaks the chain at that entry.

The tail is anchored twice, because a hash chain alone cannot tell a log that was cut short
(or replaced by an older copy of itself) from one that simply ended there:

- ``RUNS/audit.head.json`` records the last entry's ``seq`` and ``sha256``, rewritten
  atomically with every append;
- every run's results.json records the head it saw (``traceability.audit_head``), and the
  ``run_end`` entry records the results.json digest.

What it does not protect against: someone who rewrites the whole log, the head file and every
results.json consistently (nothing inside the runs folder can stop that). The defence against
that is external: the report prints the audit head it was written with, so a submitted or signed
PDF anchors the log at that point (docs/traceability.md, threat model).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from valkit.atomic_file import write_atomic
from valkit.errors import IntegrityError
from valkit.provenance import utc_now

LOG_NAME = "audit.log.jsonl"
HEAD_NAME = "audit.head.json"
GENESIS = "0" * 64
#: the kinds of entry valkit writes
KINDS = ("lock", "run_refused", "protocol_revision", "run_start", "unseal", "run_end", "render", "signature")


def canonical(obj: Any) -> bytes:
    """The canonical JSON bytes an entry's digest is taken over.

    >>> canonical({"b": 1, "a": [1.5, "é"]})
    b'{"a":[1.5,"\\xc3\\xa9"],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_sha256(entry: dict) -> str:
    """sha256 of ``entry`` without its own ``sha256`` key."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "sha256"})).hexdigest()


def log_path(runs_root: str | Path) -> Path:
    return Path(runs_root) / LOG_NAME


def head_path(runs_root: str | Path) -> Path:
    return Path(runs_root) / HEAD_NAME


def read_entries(runs_root: str | Path) -> list[dict]:
    """Every entry of the log in file order ([] when there is no log).

    A line that is not a JSON object is returned as ``{"_unreadable": line_number}`` so the
    verifier can name it; valkit's own readers use :func:`entries_or_fail`.
    """
    path = log_path(runs_root)
    if not path.is_file():
        return []
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        out.append(entry if isinstance(entry, dict) else {"_unreadable": i})
    return out


def read_head(runs_root: str | Path) -> dict | None:
    path = head_path(runs_root)
    if not path.is_file():
        return None
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {"_unreadable": True}
    return head if isinstance(head, dict) else {"_unreadable": True}


def chain_problems(entries: list[dict]) -> list[str]:
    """Every break in the chain: an unreadable line, an edited entry (its digest no longer matches),
    a deleted or reordered one (``seq`` out of order, ``prev_sha256`` not the previous digest)."""
    problems = []
    prev, expected_seq = GENESIS, 1
    for i, e in enumerate(entries, start=1):
        if "_unreadable" in e:
            problems.append(f"line {e['_unreadable']}: not a JSON object (the line was edited or cut)")
            prev, expected_seq = None, None
            continue
        seq = e.get("seq")
        if e.get("sha256") != entry_sha256(e):
            problems.append(f"line {i} (seq {seq}): its content does not match its sha256 (the entry was edited)")
        if expected_seq is not None and seq != expected_seq:
            problems.append(f"line {i}: seq {seq} where {expected_seq} was expected (an entry was deleted, "
                            "inserted or moved)")
        if prev is not None and e.get("prev_sha256") != prev:
            problems.append(f"line {i} (seq {seq}): prev_sha256 is not the previous entry's sha256 (an entry "
                            "before it was deleted, edited or moved)")
        prev = e.get("sha256")
        expected_seq = seq + 1 if isinstance(seq, int) else None
    return problems


def head_problems(entries: list[dict], head: dict | None) -> list[str]:
    """The log's last entry against the head file: a log cut short or replaced by an older copy."""
    if head is None:
        return [f"{HEAD_NAME} is missing: the end of the log cannot be checked"] if entries else []
    if "_unreadable" in head:
        return [f"{HEAD_NAME} is not valid JSON"]
    last = entries[-1] if entries else {}
    if last.get("seq") == head.get("seq") and last.get("sha256") == head.get("sha256"):
        return []
    if not entries or (isinstance(last.get("seq"), int) and isinstance(head.get("seq"), int)
                       and last["seq"] < head["seq"]):
        return [f"the log ends at seq {last.get('seq', 0)} but {HEAD_NAME} records seq {head.get('seq')}: "
                "entries were removed from the end, or an older copy of the log was put back"]
    return [f"the log's last entry (seq {last.get('seq')}, {str(last.get('sha256'))[:12]}…) is not the head "
            f"recorded in {HEAD_NAME} (seq {head.get('seq')}, {str(head.get('sha256'))[:12]}…)"]


@contextlib.contextmanager
def _exclusive(runs_root: Path) -> Iterator[None]:
    """One writer at a time (two runs of different protocols share the runs folder's log)."""
    fd = os.open(runs_root / (LOG_NAME + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


def append(runs_root: str | Path, kind: str, details: dict) -> dict:
    """Append one entry and move the head; returns the entry written.

    Refuses (:class:`~valkit.errors.IntegrityError`) to extend a log whose end does not match its
    head file: a tampered log is not silently continued.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown audit entry kind {kind!r}; expected one of {', '.join(KINDS)}")
    runs_root = Path(runs_root)
    runs_root.mkdir(parents=True, exist_ok=True)
    with _exclusive(runs_root):
        entries = read_entries(runs_root)
        problems = chain_problems(entries) + head_problems(entries, read_head(runs_root))
        if problems:
            raise IntegrityError(
                f"{log_path(runs_root)}: the audit log was changed ({'; '.join(problems[:3])}). valkit will not add "
                "to a changed log. Fix: run `valkit audit verify` to see every change, and restore the log and "
                f"{HEAD_NAME} from a backup.")
        last = entries[-1] if entries else None
        entry = {"seq": (last["seq"] + 1) if last else 1, "utc": utc_now(), "kind": kind,
                 "details": json.loads(json.dumps(details, allow_nan=False, default=str)),
                 "prev_sha256": last["sha256"] if last else GENESIS}
        entry["sha256"] = entry_sha256(entry)
        with open(log_path(runs_root), "ab") as fh:
            fh.write(canonical(entry) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        write_atomic(head_path(runs_root), canonical({"seq": entry["seq"], "sha256": entry["sha256"]}) + b"\n")
        return entry


def head_of(entries: list[dict]) -> dict | None:
    """``{seq, sha256}`` of the last entry (what a run records as its anchor)."""
    return {"seq": entries[-1]["seq"], "sha256": entries[-1]["sha256"]} if entries else None


__all__ = ["GENESIS", "HEAD_NAME", "KINDS", "LOG_NAME", "append", "canonical", "chain_problems", "entry_sha256",
           "head_of", "head_path", "head_problems", "log_path", "read_entries", "read_head"]
