"""`valkit report RUN_DIR`: re-render the report from results.json alone."""
from __future__ import annotations

import argparse
import contextlib

from valkit.commands import add_quiet, progress_of


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="re-render report.html/report.pdf from RUN_DIR/results.json")
    p.add_argument("run_dir", help="a run directory, e.g. runs/demo")
    p.add_argument("--format", action="append", choices=["pdf", "html"], dest="formats",
                   help="output format (repeatable; default both)")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from valkit.report import render_report
    from valkit.run_lock import run_folder_lock

    run_dir = Path(args.run_dir)
    formats = tuple(args.formats or ("pdf", "html"))
    # not while a run writes the folder; a folder that does not exist gets render_report's own error
    with run_folder_lock(run_dir, command="report") if run_dir.is_dir() else contextlib.nullcontext():
        written = render_report(run_dir, formats=formats, progress=progress_of(args))
        for path in written:
            print(f"report: {path}")
        _log_render(run_dir, formats)
    return 0


def _log_render(run_dir, formats) -> None:
    """A re-render is an audit event (where the runs folder has an audit log)."""
    import sys

    from valkit.audit import log
    from valkit.digests import file_sha256
    from valkit.errors import IntegrityError

    if not log.log_path(run_dir.parent).is_file():
        return
    try:
        log.append(run_dir.parent, "render", {"run_dir": run_dir.name, "formats": list(formats),
                                              "results_sha256": file_sha256(run_dir / "results.json")})
    except IntegrityError as exc:
        print(f"valkit: warning: the re-render was not logged: {exc}", file=sys.stderr)
