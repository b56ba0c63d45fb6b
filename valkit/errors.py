"""valkit's exceptions. The CLI maps them to exit codes in one place (valkit.cli).

Exit codes: 0 ok, 1 acceptance criteria failed, 2 invalid input, 3 internal error (and for ``valkit run``
4: insufficient evidence only; see valkit.cli).
Messages name the thing, the expectation, what was found and the fix.
"""
from __future__ import annotations


class ValkitError(Exception):
    """Base class for errors valkit raises on purpose."""

    exit_code = 3


class InputError(ValkitError):
    """Invalid user input: a protocol, manifest, model card, DICOM path or CSV. Exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, problems: list[str] | None = None):
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class IntegrityError(InputError):
    """A file does not match its recorded digest (model weights, manifest). Exit code 2."""


class BusyError(ValkitError):
    """A run folder is held by another valkit process. Exit code 2."""

    exit_code = 2


class EnvironmentProblem(ValkitError):
    """The machine, not the input or valkit: permission denied, disk full, read-only file system. Exit code 2."""

    exit_code = 2
