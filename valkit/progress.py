"""Progress of one command: bars and log lines, always on stderr, silent with ``--quiet``.

A :class:`Progress` is made once by the command (``Progress(quiet=args.quiet)``) and passed down to
every step that can take more than a few seconds (image digests, inference, bootstrap families,
Grad-CAM, latency, the PDF). Nothing here is process-wide: two commands in one process (tests call
``valkit.cli.main`` repeatedly) each have their own. stdout stays free for results, so
``valkit run --json`` can be piped.

On a terminal a step shows a rich progress bar; in a CI log (stderr not a terminal) a bar cannot
redraw, so a step prints one line when it starts and one when it ends, with its duration::

    bootstrap families ...
    bootstrap families: 7 done in 12.3 s

>>> import io
>>> stream = io.StringIO()
>>> progress = Progress(stream=stream, clock=iter([0.0, 2.5]).__next__)
>>> with progress.task("bootstrap families", total=2) as step:
...     step.advance()
...     step.advance()
>>> print(stream.getvalue(), end="")
bootstrap families ...
bootstrap families: 2 done in 2.5 s
>>> quiet = Progress(quiet=True)
>>> with quiet.task("anything") as step:
...     step.advance()
>>> quiet.log("not shown")
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO


class Step:
    """One running step: :meth:`advance` after each unit of work (a family, a case, a batch)."""

    def __init__(self, advance: Callable[[int], None]):
        self._advance = advance
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._advance(n)


class Progress:
    """Progress bars and log lines of one command, on stderr.

    Parameters
    ----------
    quiet
        Show nothing (``--quiet``). Errors are not progress: the CLI prints them regardless.
    stream
        Where to write (default: ``sys.stderr`` at the time of writing, so pytest's capture sees it).
    clock
        Seconds now, for the durations (tests pass a fake clock).
    """

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.quiet = quiet
        self._stream = stream
        self._clock = clock

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def _live(self) -> bool:
        """A redrawing bar only on an interactive terminal."""
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def log(self, message: str) -> None:
        """One line of progress (a stage started, a choice made)."""
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Step]:
        """A step of ``total`` units (``None``: unknown); yields a :class:`Step` to advance."""
        if self.quiet:
            yield Step(lambda n: None)
            return
        if self._live():
            with self._bar(description, total) as step:
                yield step
            return
        t0 = self._clock()
        self.log(f"{description} ...")
        step = Step(lambda n: None)
        yield step
        units = f"{step.done} done " if step.done else ""
        self.log(f"{description}: {units}in {self._clock() - t0:.1f} s")

    @contextmanager
    def _bar(self, description: str, total: int | None) -> Iterator[Step]:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, SpinnerColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)

        columns = ([TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
                   if total else [SpinnerColumn(), TextColumn(description), TimeElapsedColumn()])
        with RichProgress(*columns, console=Console(file=self.stream), transient=False) as bar:
            task_id = bar.add_task(description, total=total)
            yield Step(lambda n: bar.update(task_id, advance=n))


#: for library callers and tests that want no output at all
QUIET = Progress(quiet=True)

__all__ = ["Progress", "QUIET", "Step"]
