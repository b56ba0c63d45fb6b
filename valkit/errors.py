"""valkit's exceptions. The CLI maps them to exit codes in one place (valkit.cli).

Exit codes: 0 ok, 1 acceptance criteria failed, 2 invalid input, 3 internal error (and for ``valkit run``
4: insufficient evidence only; see valkit.cli), 5 report not rendered (results.json is complete and the
verdict was printed).
Messages name the thing, the expectation, what was found and the fix.
"""
from __future__ import annotations

import errno
import os


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


class ReportError(ValkitError):
    """The report could not be rendered; results.json stands and the verdict was printed. Exit code 5.

    Never exit code 1 or 0: a missing report must not pass for a gate result. The cause (a missing
    template, a bug) is chained as ``__cause__``.
    """

    exit_code = 5


#: errors of the machine, not of valkit or of the input, and what to do about each
ENVIRONMENT_ERRNOS = {
    errno.EACCES: "valkit may not read or write this path: fix its permissions, or choose another folder "
                  "(e.g. --runs-dir)",
    errno.EPERM: "the operation is not permitted on this path: fix its permissions, or choose another folder "
                 "(e.g. --runs-dir)",
    errno.ENOSPC: "the disk is full: free some space or choose another folder (e.g. --runs-dir); a rerun resumes "
                  "from the predictions already saved",
    errno.EDQUOT: "the disk quota is used up: free some space or choose another folder (e.g. --runs-dir)",
    errno.EROFS: "the file system is read-only: choose a writable folder (e.g. --runs-dir)",
}


def environment_problem(exc: OSError) -> str | None:
    """A one-line message for an environment error (permission, disk full, read-only), else None.

    >>> environment_problem(OSError(errno.ENOSPC, "No space left on device", "runs/demo/report.pdf.tmp"))
    'runs/demo/report.pdf: No space left on device (ENOSPC): the disk is full: free some space or choose another folder (e.g. --runs-dir); a rerun resumes from the predictions already saved'
    >>> environment_problem(OSError(errno.EBADF, "Bad file descriptor")) is None
    True
    """
    fix = ENVIRONMENT_ERRNOS.get(exc.errno)
    if fix is None:
        return None
    where = str(exc.filename or "")
    where = where[:-4] if where.endswith(".tmp") else where  # name the file the user asked for
    return f"{where or '(path unknown)'}: {exc.strerror} ({errno.errorcode.get(exc.errno, exc.errno)}): {fix}"


def without_path(message: str, path: str) -> str:
    """``message`` with every spelling of ``path`` (and its file name) replaced by ``<image>``.

    Failure reasons go to predictions.parquet, cases.csv and the report, which may be shared;
    folder and file names of PACS exports often hold patient ids, so a reason names the image
    by its case (the row it is recorded on), never by its path.

    >>> without_path("DicomDecodeError: /data/PID123/x.dcm: not a DICOM file", "/data/PID123/x.dcm")
    'DicomDecodeError: <image>: not a DICOM file'
    >>> without_path("[Errno 13] Permission denied: 'x.dcm'", "/data/PID123/x.dcm")
    "[Errno 13] Permission denied: '<image>'"
    """
    spellings = {str(path), os.path.abspath(path), os.path.realpath(path)}
    name = os.path.basename(str(path))
    for s in sorted(spellings, key=len, reverse=True) + ([name] if name else []):
        message = message.replace(s, "<image>")
    return message
