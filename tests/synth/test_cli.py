"""`valkit synth` on the command line: exit codes and messages."""
from __future__ import annotations

import csv

import pytest

from valkit.cli import main


def test_cli_writes_study_and_skips_rerun(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["synth", str(out), "--n-images", "3", "--seed", "4", "--jobs", "1", "--quiet"]
    assert main(argv) == 0
    assert "written" in capsys.readouterr().out
    with open(out / "labels.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 3
    assert main(argv + ["--if-absent"]) == 0
    assert "reused" in capsys.readouterr().out
    assert main(argv + ["--force"]) == 0
    assert "written" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--n-images", "0"], "--n-images: expected a whole number >= 1, found 0"),
        (["--n-images", "-5"], "--n-images: expected a whole number >= 1, found -5"),
        (["--seed", "-1"], "--seed: expected a whole number >= 0, found -1"),
        (["--jobs", "0"], "--jobs"),
        (["--n-images", "many"], "invalid int"),
        (["--force", "--if-absent"], "not allowed"),
    ],
)
def test_cli_bad_arguments_exit_2(tmp_path, capsys, args, fragment):
    assert main(["synth", str(tmp_path / "x"), "--quiet", *args]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
