"""`valkit lock PROTOCOL`: record the digests of a protocol and every file it names, before unsealing."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "lock", help="record the digests of a protocol and every file it names in the audit log (pre-registration)",
        description="Appends a 'lock' entry to RUNS/audit.log.jsonl: the protocol's sha256, the sha256 of each "
                    "file it names (manifests, model card and weights, scores, reader-study inputs) and the UTC "
                    "time. A protocol with regulatory.pre_registered: true runs only with a lock of exactly those "
                    "files made before the test labels were first read. Locking the same files again changes nothing.")
    p.add_argument("protocol", help="protocol YAML, e.g. protocols/demo.yaml")
    p.add_argument("--runs-dir", default="runs", help="the runs folder whose audit log records the lock (default: runs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.audit import log
    from valkit.audit.lock import data_digests, first_unseal, lock_record, same_digests
    from valkit.protocol import load_protocol

    loaded = load_protocol(args.protocol)
    record = lock_record(loaded)
    entries = log.read_entries(args.runs_dir)
    same = next((e for e in entries if e.get("kind") == "lock" and same_digests(e["details"], record)), None)
    if same is not None:
        print(f"already locked: audit seq {same['seq']} at {same['utc']} records these exact files; nothing added")
        return 0
    unseal = first_unseal(entries, data_digests(record))
    entry = log.append(args.runs_dir, "lock", record)
    print(f"locked: {loaded.path} (sha256 {loaded.sha256})")
    for f in record["files"]:
        print(f"  {f['key']}: {f['path']} (sha256 {f['sha256']})")
    print(f"audit:  {log.log_path(args.runs_dir)} seq {entry['seq']} at {entry['utc']}")
    if unseal is not None:
        print(f"note:   the labels of these test data were first read at {unseal['utc']} (audit seq {unseal['seq']}); "
              "a run with this lock is a revision after unsealing and its report lists it as a deviation")
    return 0
