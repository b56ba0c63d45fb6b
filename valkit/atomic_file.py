"""Writing an output file whole or not at all: a temporary file beside it, then a rename.

A reader never sees half a results.json or report.pdf, and a write that fails (a full disk,
a permission problem, an exception while writing) leaves no ``*.tmp`` behind: the temporary
file is removed before the error goes on.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, write: Callable[[Path], object] | bytes) -> None:
    """Write ``path`` atomically: ``write`` is the bytes, or a function that writes a given path.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> write_atomic(d / "a.txt", b"hello")
    >>> (d / "a.txt").read_bytes(), sorted(p.name for p in d.iterdir())
    (b'hello', ['a.txt'])
    >>> def broken(tmp):
    ...     tmp.write_bytes(b"half")
    ...     raise OSError(28, "No space left on device", str(tmp))
    >>> write_atomic(d / "b.txt", broken)
    Traceback (most recent call last):
    ...
    OSError: [Errno 28] No space left on device: ...
    >>> sorted(p.name for p in d.iterdir())  # no b.txt.tmp left behind
    ['a.txt']
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        if isinstance(write, (bytes, bytearray)):
            tmp.write_bytes(write)
        else:
            write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


__all__ = ["write_atomic"]
