"""`valkit run PROTOCOL`: the whole study, from manifests to report; exit code is the gate.

stdout: the case flow, the files written, each acceptance criterion with its estimate, CI, goal
and verdict, then the overall verdict; with ``--json`` only the gate summary as one JSON document
(everything else goes to stderr, so ``valkit run --json P > gate.json`` is clean). Progress bars and
log lines always go to stderr (``--quiet``: none). ``--junit`` and ``--summary`` write the same
gate as JUnit XML and as a markdown table (:mod:`valkit.gate_outputs`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from valkit.commands import add_quiet, progress_of


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="run a protocol end to end: inference, analyses, results.json, report",
        description="Exit code: 0 every gating criterion passes (or none is set), 1 a gating criterion failed, "
                    "4 none failed but some are not shown to pass (insufficient evidence or not estimable), "
                    "2 invalid input, 3 internal error, 5 the report could not be rendered (results.json and "
                    "the verdict stand). Re-running resumes inference where it stopped.",
    )
    p.add_argument("protocol", help="protocol YAML, e.g. protocols/demo.yaml")
    p.add_argument("--runs-dir", default="runs", help="parent folder of run directories (default: runs)")
    p.add_argument("--no-report", action="store_true", help="stop after results.json")
    p.add_argument("--junit", metavar="FILE.xml", help="write the gate as JUnit XML (one testcase per criterion)")
    p.add_argument("--summary", metavar="FILE.md",
                   help="write the gate as a markdown table (a pull-request comment, $GITHUB_STEP_SUMMARY)")
    p.add_argument("--json", action="store_true",
                   help="print the gate summary as JSON on stdout, and nothing else there (the rest goes to stderr)")
    add_quiet(p, deprecated_no_progress=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.pipeline import run_protocol

    outcome = run_protocol(args.protocol, runs_root=args.runs_dir, progress=progress_of(args),
                           render=not args.no_report)
    code = report_gate(outcome.results_path, report_paths=outcome.report_paths, flow=outcome.flow,
                       junit=args.junit, summary=args.summary, as_json=args.json)
    if outcome.report_error is not None:  # after the verdict was printed: a failed rendering never hides it
        raise outcome.report_error
    return code


def report_gate(results_path: Path, *, report_paths: tuple[Path, ...] = (), flow: dict | None = None,
                junit: str | None = None, summary: str | None = None, as_json: bool = False) -> int:
    """Print and write the gate of ``results_path`` (results.json alone); return the exit code."""
    from valkit.atomic_file import write_atomic
    from valkit.gate_outputs import console_lines, gate_summary, junit_xml, markdown, summary_json
    from valkit.results import read_results

    gate = gate_summary(read_results(Path(results_path).parent))
    out = sys.stderr if as_json else sys.stdout  # --json: stdout holds the JSON document only
    f = flow or {}
    print(f"cases:   {f.get('in_manifest', 0)} in the manifest: {f.get('analysed', 0)} analysed, "
          f"{f.get('failed', 0)} failed, {f.get('excluded', 0)} excluded (reasons: cases.csv and the report)", file=out)
    print(f"results: {results_path}", file=out)
    for path in report_paths:
        print(f"report:  {path}", file=out)
    if junit:
        Path(junit).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(Path(junit), junit_xml(gate))
        print(f"junit:   {junit}", file=out)
    if summary:
        Path(summary).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(Path(summary), markdown(gate).encode("utf-8"))
        print(f"summary: {summary}", file=out)
    for line in console_lines(gate):
        print(line, file=out)
    if as_json:
        print(summary_json(gate))
    return gate["exit_code"]
