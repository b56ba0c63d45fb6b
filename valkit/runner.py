"""The inference runner: manifest rows in, one predictions table out.

This is the only stage that touches torch and pixels. It decodes and preprocesses in
DataLoader worker processes, runs the model batch by batch, and appends each batch's
predictions to ``<run>/predictions.parts/`` as a small parquet file written atomically
(temp file + rename). A killed run therefore leaves only whole batches behind; running
again skips every case that already has a row, so nothing is lost or duplicated. When
all rows are done the parts are consolidated into ``<run>/predictions.parquet``.

Every manifest row ends as exactly one row: ``status`` "ok" with a score; "excluded" when
the image is readable but outside what the model card accepts (wrong modality, too small,
...; :class:`valkit.preprocess.ImageNotAccepted`), with the reason in ``error``; or "failed"
with the reason in ``error`` (unreadable file, digest mismatch, NaN score, ...).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from valkit.errors import InputError
from valkit.preprocess import ImageNotAccepted

PREDICTION_COLUMNS = ("case_id", "score", "model_sha256", "status", "error")


@dataclass(frozen=True)
class InferenceSummary:
    n_total: int
    n_ok: int
    n_failed: int
    n_resumed: int
    seconds: float
    device: str
    predictions_path: Path
    n_excluded: int = 0  # readable images outside the model card's accepts block


class _ImageDataset:
    """Map-style dataset: decode + preprocess one manifest row; failures come back as data."""

    def __init__(self, rows: Sequence[tuple[str, str, str]], preprocess: Callable[[str], np.ndarray],
                 verify_sha256: bool):
        self.rows = list(rows)
        self.preprocess = preprocess
        self.verify_sha256 = verify_sha256

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        case_id, path, digest = self.rows[i]
        try:
            if not os.path.exists(path):
                raise FileNotFoundError(f"image file not found: {path}")
            if self.verify_sha256 and digest:
                from valkit.digests import file_sha256

                got = file_sha256(Path(path))
                if got != digest:
                    raise ValueError(
                        f"file changed since the manifest was built (sha256 {got[:12]}… != {digest[:12]}…); "
                        "rebuild the manifest if the change is intended"
                    )
            x = np.ascontiguousarray(self.preprocess(path), dtype=np.float32)
            return {"case_id": case_id, "x": x, "status": "ok", "error": ""}
        except ImageNotAccepted as exc:  # readable, but not an image this model is meant to score
            return {"case_id": case_id, "x": None, "status": "excluded", "error": exc.reason}
        except Exception as exc:  # one bad image must not stop the batch
            return {"case_id": case_id, "x": None, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def _collate(items: list[dict]) -> dict:
    import torch

    ok = [it for it in items if it["x"] is not None]
    return {
        "ok_ids": [it["case_id"] for it in ok],
        "x": torch.from_numpy(np.stack([it["x"] for it in ok])) if ok else None,
        "not_scored": [(it["case_id"], it["status"], it["error"]) for it in items if it["x"] is None],
    }


def read_predictions(run_dir: Path) -> pd.DataFrame:
    """All predictions recorded so far: the consolidated file plus any parts."""
    frames = []
    final = run_dir / "predictions.parquet"
    if final.exists():
        frames.append(pd.read_parquet(final))
    parts = run_dir / "predictions.parts"
    if parts.is_dir():
        frames += [pd.read_parquet(p) for p in sorted(parts.glob("part-*.parquet"))]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "score" else "object") for c in PREDICTION_COLUMNS})
    df = pd.concat(frames, ignore_index=True)
    # A part can repeat a consolidated row only if consolidation was killed between
    # writing the final file and deleting the parts; the rows are identical then.
    return df.drop_duplicates(subset="case_id", keep="first").reset_index(drop=True)


def _write_part(run_dir: Path, rows: list[dict]) -> None:
    parts = run_dir / "predictions.parts"
    parts.mkdir(parents=True, exist_ok=True)
    name = f"part-{time.time_ns():020d}-{os.getpid()}.parquet"
    tmp = parts / (name + ".tmp")
    pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS)).astype({"score": "float64"}).to_parquet(tmp, index=False)
    os.replace(tmp, parts / name)


def consolidate(run_dir: Path, case_order: Sequence[str]) -> pd.DataFrame:
    """Merge parts into predictions.parquet (in manifest order) and remove the parts."""
    df = read_predictions(run_dir)
    order = {c: i for i, c in enumerate(case_order)}
    df = df[df["case_id"].isin(order)].copy()
    df["_o"] = df["case_id"].map(order)
    df = df.sort_values("_o").drop(columns="_o").reset_index(drop=True)
    final = run_dir / "predictions.parquet"
    tmp = run_dir / "predictions.parquet.tmp"
    df.to_parquet(tmp, index=False)
    os.replace(tmp, final)
    parts = run_dir / "predictions.parts"
    if parts.is_dir():
        for p in parts.iterdir():
            p.unlink()
        parts.rmdir()
    return df


def run_inference(
    table: pd.DataFrame,
    run_dir: Path,
    *,
    preprocess: Callable[[str], np.ndarray],
    predict: Callable[["object"], np.ndarray],
    model_sha256: str,
    batch_size: int = 16,
    num_workers: int = 2,
    device: str = "cpu",
    verify_sha256: bool = True,
    progress: bool = True,
) -> InferenceSummary:
    """Predict every row of ``table`` (columns case_id, abs_path, sha256), resuming if possible.

    ``preprocess(path) -> (C, H, W) float32`` must be picklable (it runs in workers);
    ``predict(batch_tensor) -> probabilities``.
    """
    import torch
    from torch.utils.data import DataLoader

    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    done = read_predictions(run_dir)
    stale = done[done["model_sha256"] != model_sha256]
    if len(stale):
        raise InputError(
            f"{run_dir}: {len(stale)} existing prediction(s) were made by another model "
            f"(weights sha256 {str(stale['model_sha256'].iloc[0])[:12]}…, now {model_sha256[:12]}…). "
            "Delete the run folder to start over, or give the protocol a new id."
        )
    done_ids = set(done["case_id"])
    todo = table[~table["case_id"].isin(done_ids)]
    rows = list(zip(todo["case_id"], todo["abs_path"], todo.get("sha256", pd.Series([""] * len(todo)))))
    if rows:
        loader = DataLoader(
            _ImageDataset(rows, preprocess, verify_sha256),
            batch_size=batch_size,
            num_workers=num_workers,
            collate_fn=_collate,
            persistent_workers=False,
            prefetch_factor=4 if num_workers > 0 else None,
            pin_memory=device.startswith("cuda"),
        )
        bar = _progress(progress, len(rows))
        threads = torch.get_num_threads()
        if not device.startswith("cuda") and num_workers > 0:
            # On CPU the decode workers and the model share the cores; intra-op threads beyond what
            # the workers leave make the forward pass several times slower (measured: docs/latency.md).
            torch.set_num_threads(max(1, _usable_cores() - num_workers))
        try:
            for batch in loader:
                out = [
                    {"case_id": c, "score": math.nan, "model_sha256": model_sha256, "status": st, "error": e}
                    for c, st, e in batch["not_scored"]
                ]
                if batch["x"] is not None:
                    scores = np.asarray(predict(batch["x"]), dtype=np.float64).reshape(-1)
                    for c, s in zip(batch["ok_ids"], scores):
                        bad = not math.isfinite(s) or not 0.0 <= s <= 1.0
                        out.append({
                            "case_id": c, "score": math.nan if bad else float(s), "model_sha256": model_sha256,
                            "status": "failed" if bad else "ok",
                            "error": f"model returned an invalid score ({s}); expected a probability in [0, 1]"
                            if bad else "",
                        })
                _write_part(run_dir, out)
                if bar is not None:
                    bar[0].update(bar[1], advance=len(out))
        finally:
            torch.set_num_threads(threads)
            if bar is not None:
                bar[0].stop()
    final = consolidate(run_dir, list(table["case_id"]))
    missing = set(table["case_id"]) - set(final["case_id"])
    if missing:  # cannot happen unless a worker lost a row; never let it pass silently
        raise RuntimeError(f"{len(missing)} manifest row(s) have no prediction after the run, e.g. {min(missing)}")
    return InferenceSummary(
        n_total=len(table), n_ok=int((final["status"] == "ok").sum()),
        n_failed=int((final["status"] == "failed").sum()), n_resumed=len(done_ids & set(table["case_id"])),
        n_excluded=int((final["status"] == "excluded").sum()),
        seconds=time.perf_counter() - t0, device=device, predictions_path=run_dir / "predictions.parquet",
    )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _progress(enabled: bool, total: int):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("inference"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   transient=False)
    task = bar.add_task("inference", total=total)
    bar.start()
    return bar, task
