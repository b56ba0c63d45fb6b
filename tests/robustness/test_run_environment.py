"""Issue #16 items 5 and 6: a run folder is held by one process; permission and disk-full errors are exit 2."""
from __future__ import annotations

import errno
import json
import multiprocessing
import shutil
from pathlib import Path

import pytest

from valkit.cli import main
from valkit.run_lock import LOCK_NAME, run_folder_lock

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"


@pytest.fixture()
def study(tmp_path):
    d = tmp_path / "study"
    shutil.copytree(FAKE, d)
    return d


def _hold(run_dir: str, ready, release) -> None:  # in another process
    with run_folder_lock(Path(run_dir), command="run"):
        ready.set()
        release.wait(60)


def test_a_second_run_of_the_same_folder_says_who_holds_it_and_exits_2(study, capsys):
    run_dir = study / "runs" / "fake"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(run_dir), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        rc = main(["run", str(study / "fake.yaml"), "--runs-dir", str(study / "runs"), "--no-report",
                   "--quiet"])
        err = capsys.readouterr().err
        assert rc == 2
        assert f"this run folder is in use by valkit run by pid {holder.pid}" in err and "--runs-dir" in err
        assert not (run_dir / "results.json").exists()  # the second run did no work
        assert main(["report", str(run_dir)]) == 2  # nor can a re-render write into it meanwhile
    finally:
        release.set()
        holder.join(60)
    # the holder has gone (however it ended): the folder is free again, no stale lock
    assert main(["run", str(study / "fake.yaml"), "--runs-dir", str(study / "runs"), "--no-report",
                 "--quiet"]) in (0, 1, 4)
    assert json.loads((run_dir / LOCK_NAME).read_text())["command"] == "run"


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "permissions"),
                                         (errno.EROFS, "read-only")])
def test_disk_full_or_no_permission_while_rendering_is_exit_2_with_the_path_and_no_tmp_left(study, monkeypatch,
                                                                                          capsys, code, words):
    import valkit.report.render as render

    def no_space(html, base_url=None):
        raise OSError(code, "simulated", str(study / "runs" / "fake" / "report.pdf.tmp"))

    monkeypatch.setattr(render, "html_to_pdf", no_space)
    rc = main(["run", str(study / "fake.yaml"), "--runs-dir", str(study / "runs"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "internal error" not in err and "Traceback" not in err
    assert f"{study / 'runs' / 'fake' / 'report.pdf'}: simulated ({errno.errorcode[code]}): " in err and words in err
    assert not list((study / "runs" / "fake").glob("*.tmp"))


def test_a_failed_write_removes_its_temporary_file(study, monkeypatch, capsys):
    import pandas as pd

    def full(self, path, *a, **k):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    rc = main(["run", str(study / "fake.yaml"), "--runs-dir", str(study / "runs"), "--no-report", "--quiet"])
    assert rc == 2
    assert "predictions.parquet: No space left on device (ENOSPC)" in capsys.readouterr().err
    assert not list((study / "runs" / "fake").rglob("*.tmp"))
