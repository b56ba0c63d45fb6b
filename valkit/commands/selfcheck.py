"""`valkit selfcheck`: re-derive published reference values with this installation of valkit."""
from __future__ import annotations

import argparse
import json

from valkit.commands import add_quiet


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "selfcheck",
        help="recompute published reference values (pROC, Newcombe, epiR, metafor/Stata, OR-DBM MRMC) on this machine",
        description=(
            "Recompute a curated set of published statistics (DeLong AUC variance and intervals from pROC, "
            "Newcombe's proportion intervals, epiR likelihood ratios, DerSimonian-Laird pooling, the Iowa "
            "OR-DBM reader-study F test) with the installed valkit and its numerical libraries, and compare "
            "each with its published value. Every `valkit run` does the same and records it in results.json. "
            "Exit 0 when every value is reproduced, 3 when one is not (a broken installation or a bug)."
        ),
    )
    p.add_argument("--json", dest="json_path", default=None, metavar="OUT.json", help="also write the result as JSON")
    add_quiet(p)  # no long steps: accepted so that one flag works with every command
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.selfcheck import run_self_check

    out = run_self_check()
    for c in out["checks"]:
        got = "—" if c["obtained"] is None else f"{c['obtained']:.10g}"
        print(f"{'ok  ' if c['passed'] else 'FAIL'} {c['id']:<30} expected {c['expected']:<18.10g} got {got:<18} "
              f"{c['source']}" + (f" [{c['error']}]" if c.get("error") else ""))
    print(f"{out['verdict']}: {out['statement']} ({out['seconds']} s)")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2, allow_nan=False)
    return 0 if out["verdict"] == "PASS" else 3
