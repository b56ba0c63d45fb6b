"""One valkit process per run folder at a time: an exclusive advisory lock on ``RUN_DIR/.valkit.lock``.

Two ``valkit run`` of the same protocol would both score every image and race each other's
parts and results; the second one now stops at once and says who holds the folder. The lock
is ``flock(2)``: the kernel releases it when the holder exits, however it exits (a killed run
leaves no stale lock behind; the file itself stays, holding only the last holder's details).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from valkit.errors import BusyError
from valkit.provenance import utc_now

LOCK_NAME = ".valkit.lock"


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another valkit process"
    return (f"valkit {info.get('command', '')} by pid {info.get('pid')} on {info.get('host')}, "
            f"since {info.get('since')}").replace("valkit  by", "valkit by")


@contextlib.contextmanager
def run_folder_lock(run_dir: Path, *, command: str) -> Iterator[None]:
    """Hold the run folder for the duration of the ``with`` block.

    Raises
    ------
    BusyError
        Another process holds the folder; the message names it (command, pid, host, start time).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(
                f"{run_dir}: this run folder is in use by {_holder(fd)}. Wait for it to finish (a rerun then "
                "resumes from its predictions), or run into another folder (--runs-dir) or under another "
                "protocol id.") from None
        info = {"command": command, "pid": os.getpid(), "host": socket.gethostname(), "since": utc_now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


__all__ = ["LOCK_NAME", "run_folder_lock"]
