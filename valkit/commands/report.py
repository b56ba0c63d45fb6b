"""`valkit report RUN_DIR`: re-render the report from results.json alone."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="re-render report.html/report.pdf from RUN_DIR/results.json")
    p.add_argument("run_dir", help="a run directory, e.g. runs/demo")
    p.add_argument("--format", action="append", choices=["pdf", "html"], dest="formats",
                   help="output format (repeatable; default both)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from valkit.report import render_report

    for path in render_report(Path(args.run_dir), formats=tuple(args.formats or ("pdf", "html"))):
        print(f"report: {path}")
    return 0
