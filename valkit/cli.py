"""valkit's command line. ``main(argv) -> int`` so tests call it directly.

Each subcommand lives in its own module under :mod:`valkit.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
Command modules import heavy dependencies (torch, pydicom, weasyprint) inside their
functions so that ``valkit --help`` stays fast.

This is the one place that maps exceptions to exit codes:
0 ok, 1 acceptance criteria failed, 2 invalid input, 3 internal error, and for ``valkit run``
4: no gating criterion failed but some are not shown to pass (insufficient evidence or not
estimable). 4 is non-zero, so a CI job goes red either way (the claim is not supported), and a CI
owner can still tell "the model fails" (1) from "collect more cases" (4); the gate's verdicts map to
codes in :data:`valkit.gate.EXIT_CODE`. 5: the report could not be rendered (results.json is written
and the verdict printed first). 130: interrupted. Progress and log lines go to stderr.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from valkit import __version__
from valkit.errors import ValkitError, environment_problem

EXIT_OK = 0
EXIT_CRITERIA_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INSUFFICIENT_EVIDENCE = 4  # valkit run only: see valkit.gate.EXIT_CODE
EXIT_REPORT_NOT_RENDERED = 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="valkit",
        description="Turn a medical-imaging AI model and DICOM studies into regulatory evidence.",
    )
    parser.add_argument("--version", action="version", version=f"valkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    import valkit.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"valkit.commands.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INVALID_INPUT
    try:
        return int(args.func(args))
    except ValkitError as exc:
        if exc.__cause__ is not None and not isinstance(exc.__cause__, ValkitError):
            traceback.print_exception(exc.__cause__)  # a bug behind the error: keep its traceback
        print(f"valkit: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        problem = environment_problem(exc)
        if problem is None:
            return _internal_error()
        print(f"valkit: error: {problem}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except KeyboardInterrupt:
        print("valkit: interrupted; a rerun of the same command resumes where it stopped.", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the one place that turns a bug into exit code 3
        return _internal_error()


def _internal_error() -> int:
    traceback.print_exc()
    print(
        "valkit: internal error (a bug in valkit, not in your input). "
        "Please report it with the traceback above.",
        file=sys.stderr,
    )
    return EXIT_INTERNAL_ERROR




def entry() -> None:
    sys.exit(main())
