"""valkit's exceptions. The CLI maps them to exit codes in one place (valkit.cli).

Exit codes: 0 ok, 1 acceptance criteria failed, 2 invalid input, 3 internal error.
Messages name the thing, the expectation, what was found and the fix.
"""
from __future__ import annotations

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
