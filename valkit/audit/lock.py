"""Protocol locks: the digests of a protocol and of every file it names, fixed before unsealing.

``valkit lock PROTOCOL`` records (audit entry ``lock``) the protocol's sha256 and the sha256 of
each file it names (manifests, model card and its weights, external scores, reader-study inputs),
with the UTC time and the validated protocol itself (so a later revision can say which keys
changed). A run reads the labels only after :func:`check_lock` has passed; the digests it
compares are of the files' bytes, so no label value is parsed before the check.

A protocol with ``regulatory.pre_registered: true`` is refused unless

1. a lock for exactly its current digests exists, and
2. a lock of the same test data (the same manifests) is older than the first time any run read
   those manifests' labels (audit entry ``unseal``).

When (1) holds but the matching lock is younger than the first unsealing while an older lock of
the same data exists, the protocol (or model, or another file) was revised after the labels were
seen: the run goes on, the revision is logged (``protocol_revision``) and listed as a deviation.
"""
from __future__ import annotations

from collections.abc import Callable

import json
from dataclasses import dataclass
from pathlib import Path

from valkit.digests import file_sha256
from valkit.errors import InputError
from valkit.protocol import LoadedProtocol, named_files
from valkit.yaml_lines import format_loc


def lock_record(loaded: LoadedProtocol) -> dict:
    """The digests a lock fixes: the protocol and every file it names (plus the model weights)."""
    p = loaded.protocol
    files = []
    for loc, rel in named_files(p):
        path = loaded.resolve(rel)
        files.append({"key": format_loc(loc), "path": str(rel), "sha256": file_sha256(path) if path.is_file() else None})
        if loc == ("model", "card") and path.is_file():
            from valkit.model_card_io import load_model_card

            card = load_model_card(path)
            files.append({"key": "model.card → weights.file", "path": str(card.weights.file),
                          "sha256": file_sha256(card.weights_path)})
    return {"protocol_id": p.id, "protocol_version": p.version, "protocol_path": str(loaded.path),
            "protocol_sha256": loaded.sha256, "files": files,
            "protocol": json.loads(p.model_dump_json())}


def data_digests(record: dict) -> list[str]:
    """The test data's identity: the sha256 of each manifest (whose labels a run unseals)."""
    return [f["sha256"] for f in record["files"] if f["key"].startswith("datasets[")]


def same_digests(a: dict, b: dict) -> bool:
    """Whether two lock records fix exactly the same protocol and files."""
    def key(r: dict) -> tuple:
        return r.get("protocol_sha256"), sorted((f["key"], f["sha256"]) for f in r.get("files", []))
    return key(a) == key(b)


def changes(old: dict, new: dict) -> list[str]:
    """What differs between two lock records, one phrase per item (protocol keys named when known).

    >>> old = {"protocol_sha256": "a", "files": [{"key": "datasets[0].manifest", "sha256": "1"}],
    ...        "protocol": {"endpoints": [{"goal": 0.7}]}}
    >>> new = {"protocol_sha256": "b", "files": [{"key": "datasets[0].manifest", "sha256": "2"}],
    ...        "protocol": {"endpoints": [{"goal": 0.6}]}}
    >>> changes(old, new)
    ['protocol (endpoints[0].goal)', 'datasets[0].manifest']
    """
    out = []
    if old.get("protocol_sha256") != new.get("protocol_sha256"):
        keys = _leaf_changes(old.get("protocol"), new.get("protocol"), ())
        out.append("protocol" + (f" ({', '.join(keys[:8])}{' …' if len(keys) > 8 else ''})" if keys else ""))
    a = {f["key"]: f["sha256"] for f in old.get("files", [])}
    b = {f["key"]: f["sha256"] for f in new.get("files", [])}
    out += [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    return out


def _leaf_changes(a: object, b: object, loc: tuple) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [x for k in dict.fromkeys([*a, *b]) for x in _leaf_changes(a.get(k), b.get(k), (*loc, k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [x for i, (u, v) in enumerate(zip(a, b)) for x in _leaf_changes(u, v, (*loc, i))]
    return [] if a == b else [format_loc(loc)]


@dataclass(frozen=True)
class LockCheck:
    """What the lock check found: ``status`` is ``pre-registered`` (a lock of these digests predates
    the first read of the labels), ``revised after unsealing`` or ``not pre-registered``."""

    status: str
    lock: dict | None  # the audit entry of the lock matching the current digests, if any
    original_lock: dict | None  # the lock of the same data that predates the first unsealing
    first_unseal: dict | None  # the first audit entry that read these manifests' labels
    revision: list[str] | None  # what changed since original_lock (status 'revised after unsealing')


def first_unseal(entries: list[dict], manifests: list[str]) -> dict | None:
    wanted = set(manifests)
    return next((e for e in entries if e.get("kind") == "unseal"
                 and wanted & set(e.get("details", {}).get("manifests", []))), None)


def check_lock(record: dict, entries: list[dict], *, pre_registered: bool, source: str) -> LockCheck:
    """Decide whether a run of the protocol ``record`` describes may read its labels.

    Raises :class:`~valkit.errors.InputError` (exit 2) when ``pre_registered`` and the rules in
    the module docstring are not met; the message says which digest differs, or when the labels
    were first read, and the fix.
    """
    locks = [e for e in entries if e.get("kind") == "lock"]
    exact = next((e for e in locks if same_digests(e["details"], record)), None)
    unseal = first_unseal(entries, data_digests(record))
    data = set(data_digests(record))
    original = next((e for e in locks if set(data_digests(e["details"])) == data
                     and (unseal is None or e["seq"] < unseal["seq"])), None)
    if not pre_registered:
        return LockCheck("not pre-registered", exact, original, unseal, None)
    if exact is None:
        same_id = [e for e in locks if e["details"].get("protocol_id") == record["protocol_id"]]
        if same_id:
            diff = changes(same_id[-1]["details"], record)
            why = (f"the latest lock of protocol '{record['protocol_id']}' (audit seq {same_id[-1]['seq']}, "
                   f"{same_id[-1]['utc']}) differs in: {', '.join(diff)}")
        else:
            why = f"no lock of protocol '{record['protocol_id']}' exists"
        raise InputError(
            f"{source}: regulatory.pre_registered is true but no lock records these exact files: {why}. "
            f"Fix: if the change is intended, record it with `valkit lock {source}` (after the labels were read "
            "it counts as a revision and the report lists it as a deviation); otherwise restore the locked files.")
    if unseal is None or exact["seq"] < unseal["seq"]:
        return LockCheck("pre-registered", exact, exact, unseal, None)
    if original is None:
        raise InputError(
            f"{source}: regulatory.pre_registered is true, but the labels of these test data were first read at "
            f"{unseal['utc']} (audit seq {unseal['seq']}, run of protocol "
            f"'{unseal.get('details', {}).get('protocol_id', '?')}'), before any lock of them. A pre-registration "
            "must be older than the first read of the labels. Fix: evaluate on test data whose labels were never "
            "read, or remove pre_registered (the report then says the analysis was not pre-registered).")
    return LockCheck("revised after unsealing", exact, original, unseal, changes(original["details"], record))


__all__ = ["LockCheck", "changes", "check_lock", "data_digests", "first_unseal", "lock_record", "same_digests"]


def lock_protocol(protocol: str | Path, runs_root: str | Path, *, log: Callable[[str], None] = print) -> dict | None:
    """Record a lock of ``protocol`` and every file it names in the runs folder's audit log.

    Returns the new log entry, or None when a lock of exactly these files is already recorded
    (locking the same files again changes nothing). ``log`` receives the lines to show the user.
    """
    from valkit.audit import log as audit_log
    from valkit.protocol import load_protocol

    loaded = load_protocol(protocol)
    record = lock_record(loaded)
    entries = audit_log.read_entries(runs_root)
    same = next((e for e in entries if e.get("kind") == "lock" and same_digests(e["details"], record)), None)
    if same is not None:
        log(f"already locked: audit seq {same['seq']} at {same['utc']} records these exact files; nothing added")
        return None
    unseal = first_unseal(entries, data_digests(record))
    entry = audit_log.append(runs_root, "lock", record)
    log(f"locked: {loaded.path} (sha256 {loaded.sha256})")
    for f in record["files"]:
        log(f"  {f['key']}: {f['path']} (sha256 {f['sha256']})")
    log(f"audit:  {audit_log.log_path(runs_root)} seq {entry['seq']} at {entry['utc']}")
    if unseal is not None:
        log(f"note:   the labels of these test data were first read at {unseal['utc']} (audit seq {unseal['seq']}); "
            "a run with this lock is a revision after unsealing and its report lists it as a deviation")
    return entry
