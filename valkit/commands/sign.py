"""`valkit sign RUN_DIR --name --role --meaning`: an electronic signature bound to results.json's digest."""
from __future__ import annotations

import argparse

from valkit.commands import add_quiet


def register(subparsers: argparse._SubParsersAction) -> None:
    from valkit.audit.signatures import MEANINGS

    p = subparsers.add_parser(
        "sign", help="sign a run's results.json (name, role, meaning, UTC time) in the audit log",
        description="Records a signature manifestation bound to the sha256 of RUN_DIR/results.json, in the audit "
                    "log and in RUN_DIR/signatures.json. Re-render (`valkit report RUN_DIR`) to print it on the "
                    "document-control page. Meanings: " + "; ".join(MEANINGS.values()) + ".")
    p.add_argument("run_dir", help="a run directory, e.g. runs/demo")
    p.add_argument("--name", required=True, help="the signer's full name")
    p.add_argument("--role", required=True, help="the signer's role or title, e.g. 'Lead biostatistician'")
    p.add_argument("--meaning", required=True, help=f"what the signature means: {', '.join(MEANINGS)}")
    p.add_argument("--runs-dir", default=None, help="the runs folder holding the audit log (default: RUN_DIR's parent)")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import contextlib
    from pathlib import Path

    from valkit.audit.signatures import sign
    from valkit.run_lock import run_folder_lock

    run_dir = Path(args.run_dir)
    # not while a run rewrites the results being signed
    with run_folder_lock(run_dir, command="sign") if run_dir.is_dir() else contextlib.nullcontext():
        entry = sign(args.run_dir, name=args.name, role=args.role, meaning=args.meaning, runs_root=args.runs_dir)
    d = entry["details"]
    print(f"signed: {d['name']} ({d['role']}), meaning {d['meaning']}, at {entry['utc']}")
    print(f"bound to results.json sha256 {d['results_sha256']} (audit seq {entry['seq']})")
    print(f"re-render to print it: valkit report {args.run_dir}")
    return 0

