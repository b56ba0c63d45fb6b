"""Inference runner: one row per manifest row, failures recorded, resume without loss or duplicates."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valkit.errors import InputError
from valkit.digests import file_sha256
from valkit.runner import external_predictions, read_predictions, run_inference


def fake_preprocess(path: str) -> np.ndarray:
    """Deterministic stand-in for DICOM decoding: the file's bytes set the pixel values."""
    data = Path(path).read_bytes()
    if data.startswith(b"CORRUPT"):
        raise ValueError("cannot decode pixel data")
    return np.full((1, 4, 4), (sum(data) % 997) / 997.0, dtype=np.float32)


def fake_predict(x):
    v = x.mean(dim=(1, 2, 3)).numpy()
    return np.where(v > 0.99, np.nan, v)  # a value > 0.99 stands for a model that returns NaN


def make_table(tmp_path: Path, n: int, corrupt=(), missing=(), nan=()) -> pd.DataFrame:
    rows = []
    for i in range(n):
        p = tmp_path / f"img{i:03d}.bin"
        if i in corrupt:
            p.write_bytes(b"CORRUPT")
        elif i in nan:
            p.write_bytes(b"\x01" * 996)  # byte sum 996 -> value 0.999 -> fake model returns NaN
        elif i not in missing:
            p.write_bytes(f"image {i}".encode())
        rows.append({"case_id": f"C{i:03d}", "abs_path": str(p),
                     "sha256": file_sha256(p) if p.exists() else ""})
    return pd.DataFrame(rows)


def _run(table, run_dir, **kw):
    kw.setdefault("batch_size", 4)
    kw.setdefault("num_workers", 0)
    return run_inference(table, run_dir, preprocess=fake_preprocess, predict=fake_predict,
                         model_sha256="abc", progress=False, **kw)


def test_every_row_ends_as_one_prediction_or_failure(tmp_path):
    table = make_table(tmp_path, 13, corrupt={2}, missing={5}, nan={7})
    s = _run(table, tmp_path / "run", num_workers=2)
    df = pd.read_parquet(s.predictions_path)
    assert list(df["case_id"]) == list(table["case_id"])  # manifest order, no duplicates
    assert (s.n_total, s.n_ok, s.n_failed) == (13, 10, 3)
    failed = df.set_index("case_id").loc[["C002", "C005", "C007"]]
    assert failed["status"].eq("failed").all()
    assert "cannot decode" in failed.at["C002", "error"]
    assert "not found" in failed.at["C005", "error"]
    assert "invalid score" in failed.at["C007", "error"]
    assert df.loc[df.status == "ok", "score"].between(0, 1).all()
    assert not (tmp_path / "run" / "predictions.parts").exists()


def test_changed_file_is_a_recorded_failure(tmp_path):
    table = make_table(tmp_path, 3)
    Path(table.abs_path[1]).write_bytes(b"tampered")
    df = pd.read_parquet(_run(table, tmp_path / "run").predictions_path)
    assert "file changed since the manifest was built" in df.error[1]


def test_rerun_recomputes_nothing(tmp_path):
    table = make_table(tmp_path, 6)
    first = _run(table, tmp_path / "run")
    second = _run(table, tmp_path / "run")
    assert second.n_resumed == 6 and second.n_ok == 6
    assert pd.read_parquet(second.predictions_path).equals(pd.read_parquet(first.predictions_path))


def test_predictions_from_another_model_are_refused(tmp_path):
    table = make_table(tmp_path, 2)
    _run(table, tmp_path / "run")
    with pytest.raises(InputError, match="made by another model"):
        run_inference(table, tmp_path / "run", preprocess=fake_preprocess, predict=fake_predict,
                      model_sha256="other", progress=False, num_workers=0)


KILL_SCRIPT = textwrap.dedent("""
    import sys, time, importlib.util
    import pandas as pd
    spec = importlib.util.spec_from_file_location("t", sys.argv[1]); t = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(t)
    from valkit.runner import run_inference
    table = pd.read_pickle(sys.argv[2])
    def slow(x):
        time.sleep(0.15)
        return t.fake_predict(x)
    run_inference(table, __import__("pathlib").Path(sys.argv[3]), preprocess=t.fake_preprocess, predict=slow,
                  model_sha256="abc", batch_size=2, num_workers=0, progress=False)
""")


def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path):
    table = make_table(tmp_path, 40, corrupt={3})
    table.to_pickle(tmp_path / "table.pkl")
    run_dir = tmp_path / "run"
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), __file__, str(tmp_path / "table.pkl"), str(run_dir)])
    parts = run_dir / "predictions.parts"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(parts.glob("part-*.parquet"))) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_predictions(run_dir)
    assert 6 <= len(before) < 40, "the kill must land mid-run"
    s = _run(table, run_dir)
    df = pd.read_parquet(s.predictions_path)
    assert s.n_resumed == len(before)
    assert list(df["case_id"]) == list(table["case_id"])
    assert df["case_id"].is_unique and (s.n_ok, s.n_failed) == (39, 1)
    # resumed rows are the very rows written before the kill
    merged = before.merge(df, on="case_id", suffixes=("_before", "_after"))
    assert np.allclose(merged.score_before.fillna(-1), merged.score_after.fillna(-1))


def test_external_predictions_aligned_and_accounted(tmp_path):
    table = make_table(tmp_path, 4)
    f = tmp_path / "vendor.csv"
    pd.DataFrame({"case_id": ["C000", "C001", "C002", "C999"], "score": [0.1, "nan", 7.5, 0.3]}).to_csv(f, index=False)
    df = external_predictions(table, f, case_id_column="case_id", score_column="score", digest="d")
    assert list(df.status) == ["ok", "failed", "ok", "failed"]
    assert "NaN" in df.error[1] and "no score" in df.error[3]
    with pytest.raises(InputError, match="column 'prob' not found"):
        external_predictions(table, f, case_id_column="case_id", score_column="prob", digest="d")
