"""`valkit run PROTOCOL`: the whole study, from manifests to report; exit code is the gate."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="run a protocol end to end: inference, analyses, results.json, report",
        description="Exit code: 0 all primary endpoints pass, 1 an acceptance criterion failed, "
                    "2 invalid input, 3 internal error, 4 the report could not be rendered (results.json "
                    "and the verdict stand). Re-running resumes inference where it stopped.",
    )
    p.add_argument("protocol", help="protocol YAML, e.g. protocols/demo.yaml")
    p.add_argument("--runs-dir", default="runs", help="parent folder of run directories (default: runs)")
    p.add_argument("--no-report", action="store_true", help="stop after results.json")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.pipeline import run_protocol

    outcome = run_protocol(args.protocol, runs_root=args.runs_dir, progress=not args.no_progress,
                           render=not args.no_report)
    return report_outcome(outcome)


def report_outcome(outcome) -> int:
    """Print the case counts, where the results and report are and the verdict; the exit code (raises a
    ReportError after printing, so a failed rendering never hides the verdict)."""
    f = outcome.flow
    print(f"cases:   {f.get('in_manifest', 0)} in the manifest: {f.get('analysed', 0)} analysed, "
          f"{f.get('failed', 0)} failed, {f.get('excluded', 0)} excluded (reasons: cases.csv and the report)")
    print(f"results: {outcome.results_path}")
    for path in outcome.report_paths:
        print(f"report:  {path}")
    print(f"verdict: {outcome.verdict}", flush=True)
    if outcome.report_error is not None:
        raise outcome.report_error
    return 1 if outcome.verdict == "FAIL" else 0
