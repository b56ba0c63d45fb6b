"""`valkit demo [--out DIR]`: the demo study end to end from the installed package (valkit.demo)."""
from __future__ import annotations

import argparse

from valkit.commands import add_quiet


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
    add_quiet(p, deprecated_no_progress=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.commands.run import report_gate
    from valkit.demo import run_demo

    outcome = run_demo(args.out, quick=args.quick, n_images=args.n_images, reader_cases=args.reader_cases,
                       progress=not args.quiet)
    rc = report_gate(outcome.results_path, report_paths=outcome.report_paths, flow=outcome.flow)
    if outcome.report_error is not None:  # after the verdict was printed: a failed rendering never hides it
        raise outcome.report_error
    pdf = outcome.run_dir / "report.pdf"
    if pdf in outcome.report_paths:
        print(f"Demo report: {pdf}")
    return rc
