"""`valkit lock PROTOCOL`: record the digests of a protocol and every file it names, before unsealing."""
from __future__ import annotations

import argparse

from valkit.commands import add_quiet


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "lock", help="record the digests of a protocol and every file it names in the audit log (pre-registration)",
        description="Appends a 'lock' entry to RUNS/audit.log.jsonl: the protocol's sha256, the sha256 of each "
                    "file it names (manifests, model card and weights, scores, reader-study inputs) and the UTC "
                    "time. A protocol with regulatory.pre_registered: true runs only with a lock of exactly those "
                    "files made before the test labels were first read. Locking the same files again changes nothing.")
    p.add_argument("protocol", help="protocol YAML, e.g. protocols/demo.yaml")
    p.add_argument("--runs-dir", default="runs", help="the runs folder whose audit log records the lock (default: runs)")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.audit.lock import lock_protocol

    lock_protocol(args.protocol, args.runs_dir)  # what was locked is the result: printed even with --quiet
    return 0
