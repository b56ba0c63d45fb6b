"""`valkit demo [--out DIR]`: the demo study end to end from the installed package (valkit.demo)."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="run the demo study end to end (phantom DICOM study, demo model, report)",
        description="Copy the demo protocol and model into DIR, generate the phantom study there, build its "
                    "manifest and run the protocol; prints the path of the PDF. Exit codes as for `valkit run` "
                    "(the demo's verdict is FAIL by design: exit 1 with the report written).",
    )
    p.add_argument("--out", default="valkit-demo", help="demo folder (default: ./valkit-demo)")
    p.add_argument("--quick", action="store_true",
                   help="a first look in about a minute: 120 images, 40 reader-study cases, no latency "
                        "benchmark or Grad-CAM analysis (protocols/demo-quick.yaml)")
    p.add_argument("--n-images", type=int, help="phantom images (default 600; 120 with --quick)")
    p.add_argument("--reader-cases", type=int, help="reader-study cases (default 120; 40 with --quick)")
    p.add_argument("--no-progress", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.commands.run import report_outcome
    from valkit.demo import run_demo

    outcome = run_demo(args.out, quick=args.quick, n_images=args.n_images, reader_cases=args.reader_cases,
                       progress=not args.no_progress)
    rc = report_outcome(outcome)
    pdf = outcome.run_dir / "report.pdf"
    if pdf in outcome.report_paths:
        print(f"Demo report: {pdf}")
    return rc
