"""One module per `valkit` subcommand; each exposes ``register(subparsers)``.

Every subcommand takes ``--quiet`` (:func:`add_quiet`): one flag name across commands. Progress
and log lines always go to stderr (:class:`valkit.progress.Progress`); stdout carries results only.
"""
from __future__ import annotations

import argparse

from valkit.progress import Progress


def add_quiet(parser: argparse.ArgumentParser, *, deprecated_no_progress: bool = False) -> None:
    """Add ``--quiet`` (no progress bars or log lines on stderr; errors are still printed).

    ``deprecated_no_progress`` also accepts ``--no-progress``, the old spelling of ``valkit run``,
    as a hidden alias (scripts written for valkit 0.1 keep working).
    """
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bars or log lines (stderr); results and errors are still printed")
    if deprecated_no_progress:
        parser.add_argument("--no-progress", dest="quiet", action="store_true", help=argparse.SUPPRESS)


def progress_of(args: argparse.Namespace) -> Progress:
    """The command's progress reporter (stderr), silent with ``--quiet``."""
    return Progress(quiet=bool(getattr(args, "quiet", False)))
