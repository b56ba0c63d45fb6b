"""`valkit audit verify` / `valkit audit show`: check or list the audit log of a runs folder."""
from __future__ import annotations

import argparse

from valkit.commands import add_quiet


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("audit", help="verify or list the audit log (locks, runs, signatures)")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="check the hash chain, its end, each run's results.json and each signature",
                       description="Exit code: 0 everything checks, 1 a problem was found (each is listed).")
    v.add_argument("--runs-dir", default="runs", help="the runs folder holding audit.log.jsonl (default: runs)")
    add_quiet(v)
    v.set_defaults(func=verify)
    s = sub.add_parser("show", help="list the audit log, one entry per line")
    s.add_argument("--runs-dir", default="runs", help="the runs folder holding audit.log.jsonl (default: runs)")
    add_quiet(s)
    s.set_defaults(func=show)


def verify(args: argparse.Namespace) -> int:
    from valkit.audit.verify import verify as check

    v = check(args.runs_dir)
    head = f", head seq {v.head['seq']} sha256 {v.head['sha256']}" if v.head else ""
    print(f"audit log: {v.entries} entries{head}")
    for line in v.runs:
        print(f"run       {line}")
    for line in v.signatures:
        print(f"signature {line}")
    for p in v.problems:
        print(f"PROBLEM   {p}")
    print("verified: no problem found" if v.ok else f"NOT VERIFIED: {len(v.problems)} problem(s)")
    return 0 if v.ok else 1


def show(args: argparse.Namespace) -> int:
    from valkit.audit import log

    for e in log.read_entries(args.runs_dir):
        if "_unreadable" in e:
            print(f"(line {e['_unreadable']} unreadable)")
            continue
        d = e.get("details", {})
        what = d.get("protocol_id") or d.get("run_dir") or ""
        extra = d.get("verdict") or d.get("meaning") or d.get("lock_status") or ""
        print(f"{e['seq']:>5}  {e['utc']}  {e['kind']:<17} {what} {extra}  {e['sha256'][:12]}")
    return 0
