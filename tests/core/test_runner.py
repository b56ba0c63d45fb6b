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
from valkit.external_scores import external_predictions
from valkit.testing import fake_image_table, fake_predict, fake_preprocess
from valkit.runner import PREDICTION_COLUMNS, read_predictions, run_inference


def _run(table, run_dir, **kw):
    kw.setdefault("batch_size", 4)
    kw.setdefault("num_workers", 0)
    kw.setdefault("model_sha256", "abc")
    kw.setdefault("preprocessing_sha256", "pre1")
    return run_inference(table, run_dir, preprocess=fake_preprocess, predict=fake_predict, progress=False, **kw)


def swap_images(table: pd.DataFrame, rows, *, digests: bool = True) -> pd.DataFrame:
    """New pixel content behind the same case ids (as if the files were replaced), manifest rebuilt."""
    for i in rows:
        Path(table.abs_path[i]).write_bytes(f"replacement image {i}".encode())
    table = table.copy()
    table["sha256"] = [file_sha256(p) for p in table["abs_path"]] if digests else ""
    return table


def test_every_row_ends_as_one_prediction_or_failure(tmp_path):
    table = fake_image_table(tmp_path, 13, corrupt={2}, missing={5}, nan={7})
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
    table = fake_image_table(tmp_path, 3)
    Path(table.abs_path[1]).write_bytes(b"tampered")
    df = pd.read_parquet(_run(table, tmp_path / "run").predictions_path)
    assert "file changed since the manifest was built" in df.error[1]


def test_rerun_recomputes_nothing(tmp_path):
    table = fake_image_table(tmp_path, 6)
    first = _run(table, tmp_path / "run")
    second = _run(table, tmp_path / "run")
    assert second.n_resumed == 6 and second.n_ok == 6
    assert pd.read_parquet(second.predictions_path).equals(pd.read_parquet(first.predictions_path))


def test_changed_image_is_rescored_and_the_rest_reused(tmp_path):
    # issue #11 item 8: three images swapped behind their case ids, manifest rebuilt, rerun into the
    # same folder; the old scores of those three must not be reused
    table = fake_image_table(tmp_path, 10)
    first = pd.read_parquet(_run(table, tmp_path / "run").predictions_path).set_index("case_id")
    table2 = swap_images(table, [1, 4, 7])
    s = _run(table2, tmp_path / "run")
    df = pd.read_parquet(s.predictions_path)
    assert list(df["case_id"]) == list(table["case_id"])  # one row per manifest row, manifest order
    assert s.n_resumed == 7
    assert s.rescored == {"image_changed": 3, "model_or_preprocessing_changed": 0, "saved_without_digests": 0}
    fresh = pd.read_parquet(_run(table2, tmp_path / "fresh").predictions_path).set_index("case_id")
    after = df.set_index("case_id")
    changed = ["C001", "C004", "C007"]
    assert np.allclose(after.score, fresh.score)  # as if run from scratch on the new images
    assert not np.isclose(after.score[changed], first.score[changed]).any()
    assert after.drop(index=changed).score.equals(first.drop(index=changed).score)
    assert list(df["image_sha256"]) == list(table2["sha256"])
    assert (df["preprocessing_sha256"] == "pre1").all()


def test_changed_image_without_manifest_digest_is_rescored(tmp_path):
    table = fake_image_table(tmp_path, 4).drop(columns="sha256")  # a hand-made manifest with no sha256 column
    _run(table, tmp_path / "run")
    swap_images(table, [2], digests=False)
    s = _run(table.drop(columns="sha256", errors="ignore"), tmp_path / "run")
    assert (s.n_resumed, s.rescored["image_changed"]) == (3, 1)
    df = pd.read_parquet(s.predictions_path)
    assert df.image_sha256[2] == file_sha256(table.abs_path[2])  # computed from the file


@pytest.mark.parametrize("change", [{"preprocessing_sha256": "pre2"}, {"model_sha256": "other"}])
def test_changed_model_or_preprocessing_rescores_everything(tmp_path, change):
    table = fake_image_table(tmp_path, 6)
    _run(table, tmp_path / "run")
    s = _run(table, tmp_path / "run", **change)
    assert s.n_resumed == 0
    assert s.rescored == {"image_changed": 0, "model_or_preprocessing_changed": 6, "saved_without_digests": 0}
    df = pd.read_parquet(s.predictions_path)
    assert df["case_id"].is_unique and len(df) == 6
    key, value = next(iter(change.items()))
    assert (df[key] == value).all()


def test_predictions_saved_without_digests_are_rescored(tmp_path):
    # a run folder from before predictions recorded their image and preprocessing digests
    table = fake_image_table(tmp_path, 5)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pd.DataFrame({"case_id": table.case_id, "score": 0.123, "model_sha256": "abc", "status": "ok",
                  "error": ""}).to_parquet(run_dir / "predictions.parquet", index=False)
    s = _run(table, run_dir)
    assert s.n_resumed == 0
    assert s.rescored == {"image_changed": 0, "model_or_preprocessing_changed": 0, "saved_without_digests": 5}
    assert not np.isclose(pd.read_parquet(s.predictions_path).score, 0.123).any()


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
                  model_sha256="abc", preprocessing_sha256="pre1", batch_size=2, num_workers=0, progress=False)
""")


def _kill_mid_run(tmp_path, table, run_dir) -> pd.DataFrame:
    """Run the KILL_SCRIPT on ``table``, SIGKILL it after a few batches; the predictions saved by then."""
    table.to_pickle(tmp_path / "table.pkl")
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_SCRIPT)
    parts = run_dir / "predictions.parts"
    n_parts = len(list(parts.glob("part-*.parquet")))
    proc = subprocess.Popen([sys.executable, str(script), __file__, str(tmp_path / "table.pkl"), str(run_dir)])
    deadline = time.time() + 60
    while time.time() < deadline and len(list(parts.glob("part-*.parquet"))) < n_parts + 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return read_predictions(run_dir)


def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path):
    table = fake_image_table(tmp_path, 40, corrupt={3})
    run_dir = tmp_path / "run"
    before = _kill_mid_run(tmp_path, table, run_dir)
    assert 6 <= len(before) < 40, "the kill must land mid-run"
    s = _run(table, run_dir)
    df = pd.read_parquet(s.predictions_path)
    assert s.n_resumed == len(before)
    assert list(df["case_id"]) == list(table["case_id"])
    assert df["case_id"].is_unique and (s.n_ok, s.n_failed) == (39, 1)
    # resumed rows are the very rows written before the kill
    merged = before.merge(df, on="case_id", suffixes=("_before", "_after"))
    assert np.allclose(merged.score_before.fillna(-1), merged.score_after.fillna(-1))


def test_rescoring_rerun_killed_midway_keeps_only_current_rows(tmp_path):
    # stale rows in predictions.parquet and fresh rows in the parts for the same case ids:
    # the resumed run keeps the fresh ones, scores the rest, and ends with one row per case
    table = fake_image_table(tmp_path, 40)
    run_dir = tmp_path / "run"
    _run(table, run_dir)
    table2 = swap_images(table, range(40))
    saved = _kill_mid_run(tmp_path, table2, run_dir)
    n_fresh = int((saved["image_sha256"].isin(table2["sha256"])).sum())
    assert 6 <= n_fresh < 40, "the kill must land mid-run"
    s = _run(table2, run_dir)
    assert (s.n_resumed, s.rescored["image_changed"]) == (n_fresh, 40 - n_fresh)
    df = pd.read_parquet(s.predictions_path)
    assert list(df["case_id"]) == list(table["case_id"])
    assert list(df["image_sha256"]) == list(table2["sha256"])
    fresh = pd.read_parquet(_run(table2, tmp_path / "fresh").predictions_path)
    assert np.allclose(df.score, fresh.score)


def _scores(tmp_path: Path, ids, scores) -> Path:
    f = tmp_path / "vendor.csv"
    pd.DataFrame({"case_id": ids, "score": scores}).to_csv(f, index=False)
    return f


def test_external_predictions_aligned_and_accounted(tmp_path):
    table = fake_image_table(tmp_path, 4)
    f = _scores(tmp_path, ["C000", "C001", "C002", "C999"], [0.1, "nan", 0.75, 0.3])
    ext = external_predictions(table, f, case_id_column="case_id", score_column="score", digest="d")
    df = ext.predictions
    assert list(df.case_id) == list(table.case_id)
    assert list(df.status) == ["ok", "failed", "ok", "failed"]
    assert "NaN" in df.error[1] and "no score" in df.error[3]
    assert list(df.columns) == list(PREDICTION_COLUMNS)
    with pytest.raises(InputError, match="column 'prob' not found"):
        external_predictions(table, f, case_id_column="case_id", score_column="prob", digest="d")


def test_external_score_outside_01_is_an_input_error_naming_cases_value_and_fix(tmp_path):
    # issue #11 item 9: 1.5 was accepted and called positive
    table = fake_image_table(tmp_path, 5)
    f = _scores(tmp_path, ["C000", "C001", "C002", "C003", "C004"], [0.1, 1.5, 0.2, -3, 70])
    with pytest.raises(InputError) as exc:
        external_predictions(table, f, case_id_column="case_id", score_column="score", digest="d")
    msg = str(exc.value)
    assert str(f) in msg and "3 score(s) outside [0, 1]" in msg
    assert "C001 (1.5)" in msg and "C003 (-3" in msg and "C004 (70" in msg
    assert "predictions.score_range" in msg


def test_declared_score_range_is_accepted_and_enforced(tmp_path):
    table = fake_image_table(tmp_path, 3)
    f = _scores(tmp_path, ["C000", "C001", "C002"], [0, 55.5, 100])
    ext = external_predictions(table, f, case_id_column="case_id", score_column="score", digest="d",
                               score_range=(0, 100))
    assert list(ext.predictions.status) == ["ok"] * 3 and ext.predictions.score[1] == 55.5
    f = _scores(tmp_path, ["C000", "C001", "C002"], [0, 55.5, 100.5])
    with pytest.raises(InputError, match=r"1 score\(s\) outside \[0, 100\].*C002 \(100.5\)"):
        external_predictions(table, f, case_id_column="case_id", score_column="score", digest="d",
                             score_range=(0, 100))


def test_non_numeric_score_is_a_failed_case_that_keeps_its_text(tmp_path):
    table = fake_image_table(tmp_path, 3)
    f = _scores(tmp_path, ["C000", "C001", "C002"], [0.4, "n/a", ""])
    df = external_predictions(table, f, case_id_column="case_id", score_column="score", digest="d").predictions
    assert list(df.status) == ["ok", "failed", "failed"]
    assert "score 'n/a' is not a number" in df.error[1]
    assert "no score" in df.error[2] and "empty" in df.error[2]


def test_scores_for_unknown_case_ids_are_counted_and_listed(tmp_path):
    table = fake_image_table(tmp_path, 2)
    f = _scores(tmp_path, ["C000", "X9", "C001", "X1", "X5"], [0.1, 0.2, 0.3, 0.4, 0.5])
    ext = external_predictions(table, f, case_id_column="case_id", score_column="score", digest="d")
    acc = ext.accounting()
    assert acc["rows_in_file"] == 5 and acc["matched"] == 2
    assert acc["not_in_manifest"] == 3 and acc["not_in_manifest_examples"] == ["X9", "X1", "X5"]
    assert acc["score_range"] == [0.0, 1.0]


def test_duplicate_case_ids_in_scores_file_are_refused(tmp_path):
    table = fake_image_table(tmp_path, 2)
    f = _scores(tmp_path, ["C000", "C001", "C000"], [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="case id 'C000' has more than one score"):
        external_predictions(table, f, case_id_column="case_id", score_column="score", digest="d")
