"""The inference runner: manifest rows in, one predictions table out.

This is the only stage that touches torch and pixels. It decodes and preprocesses in
DataLoader worker processes, runs the model batch by batch, and appends each batch's
predictions to ``<run>/predictions.parts/`` as a small parquet file written atomically
(temp file + rename). A killed run therefore leaves only whole batches behind; running
again skips every case that already has a current row, so nothing is lost or duplicated.
When all rows are done the parts are consolidated into ``<run>/predictions.parquet``.

Each row records what it was computed from: the model weights (``model_sha256``), the
image file (``image_sha256``: the manifest's digest, or the file's when the manifest has
none) and the preprocessing settings (``preprocessing_sha256``, see
:attr:`valkit.model_card.PreprocessingSpec.sha256`). A saved row is reused only when all
three match the current run; otherwise the case is scored again and the stale row is
dropped at consolidation (see :func:`plan_reuse` for the reasons counted). Rows saved
before these digests were recorded cannot be checked and are scored again.

Every manifest row ends as exactly one row: ``status`` "ok" with a score; "excluded" when
the image is readable but outside what the model card accepts (wrong modality, too small,
...; :class:`valkit.preprocess.ImageNotAccepted`), with the reason in ``error``; or "failed"
with the reason in ``error`` (unreadable file, digest mismatch, NaN score, ...).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from valkit.atomic_file import write_atomic
from valkit.errors import without_path
from valkit.preprocess import ImageNotAccepted
from valkit.progress import QUIET, Progress

PREDICTION_COLUMNS = ("case_id", "score", "model_sha256", "image_sha256", "preprocessing_sha256", "status", "error",
                      "pixel_decoder")
# pixel_decoder: the pydicom plugin that decoded this row's pixels, recorded with the row (so a resumed
# run knows which decoder made each saved prediction); "" when valkit did not decode (external scores)
# or the row was saved by a valkit that did not record it
#: What a prediction was computed from; a saved row is reused only when all of these match.
INPUT_DIGESTS = ("model_sha256", "image_sha256", "preprocessing_sha256")
#: Why a saved prediction was not reused (keys of :attr:`InferenceSummary.rescored`).
RESCORE_REASONS = ("image_changed", "model_or_preprocessing_changed", "saved_without_digests")


@dataclass(frozen=True)
class InferenceSummary:
    """What a call of :func:`run_inference` did.

    ``n_resumed`` saved predictions were reused; ``rescored`` counts, by reason
    (:data:`RESCORE_REASONS`), the cases that had a saved prediction which was not reused
    and were scored again.
    """

    n_total: int
    n_ok: int
    n_failed: int
    n_resumed: int
    seconds: float
    device: str
    predictions_path: Path
    rescored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESCORE_REASONS, 0))
    n_excluded: int = 0  # readable images outside the model card's accepts block


@dataclass(frozen=True)
class ReusePlan:
    """Which saved predictions a run reuses and which cases it scores.

    ``wanted`` maps every case id, in manifest order, to the digests its prediction must carry
    (model, image, preprocessing); ``reused`` are the saved rows that carry them (one per case);
    ``todo`` are the table rows to score, with their ``image_sha256``; ``rescored`` counts the
    cases in ``todo`` that had a stale saved prediction, by reason.
    """

    wanted: dict[str, tuple[str, str, str]]
    reused: pd.DataFrame
    todo: pd.DataFrame
    rescored: dict[str, int]


class ImageChangedError(ValueError):
    """An image file's sha256 differs from the one the manifest (or an earlier run) recorded."""


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
                raise FileNotFoundError("image file not found at the manifest's path for this case")
            if self.verify_sha256 and digest:
                from valkit.digests import file_sha256

                got = file_sha256(Path(path))
                if got != digest:
                    raise ImageChangedError(
                        f"file changed since the manifest was built (sha256 {got[:12]}… != {digest[:12]}…); "
                        "rebuild the manifest if the change is intended"
                    )
            x = np.ascontiguousarray(self.preprocess(path), dtype=np.float32)
            return {"case_id": case_id, "x": x, "status": "ok", "error": ""}
        except ImageNotAccepted as exc:  # readable, but not an image this model is meant to score
            return {"case_id": case_id, "x": None, "status": "excluded", "error": without_path(exc.reason, path)}
        except Exception as exc:  # one bad image must not stop the batch
            return {"case_id": case_id, "x": None, "status": "failed",
                    "error": without_path(f"{type(exc).__name__}: {exc}", path)}



def _collate(items: list[dict]) -> dict:
    import torch

    ok = [it for it in items if it["x"] is not None]
    return {
        "ok_ids": [it["case_id"] for it in ok],
        "x": torch.from_numpy(np.stack([it["x"] for it in ok])) if ok else None,
        "not_scored": [(it["case_id"], it["status"], it["error"]) for it in items if it["x"] is None],
    }


def read_predictions(run_dir: Path) -> pd.DataFrame:
    """All predictions recorded so far: the consolidated file plus any parts.

    A case can have more than one row here (a stale one and its re-score); rows computed
    from the same inputs appear once. Rows saved before the input digests were recorded
    have ``None`` in ``image_sha256`` and ``preprocessing_sha256``.
    """
    frames = []
    final = run_dir / "predictions.parquet"
    if final.exists():
        frames.append(pd.read_parquet(final))
    parts = run_dir / "predictions.parts"
    if parts.is_dir():
        frames += [pd.read_parquet(p) for p in sorted(parts.glob("part-*.parquet"))]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "score" else "object") for c in PREDICTION_COLUMNS})
    frames = [f.reindex(columns=list(PREDICTION_COLUMNS)).astype({c: "object" for c in INPUT_DIGESTS})
              .assign(pixel_decoder=lambda x: x["pixel_decoder"].astype(object).where(x["pixel_decoder"].notna(), "")
                      .astype(str)) for f in frames]
    df = pd.concat(frames, ignore_index=True)
    # A part can repeat a consolidated row only if consolidation was killed between
    # writing the final file and deleting the parts; the rows are identical then.
    return df.drop_duplicates(subset=["case_id", *INPUT_DIGESTS], keep="first").reset_index(drop=True)


def image_digests(table: pd.DataFrame, *, progress: Progress | None = None) -> list[str]:
    """The sha256 of each row's image: the manifest's ``sha256``, else the file's ('' if unreadable)."""
    from valkit.digests import file_sha256

    given = table["sha256"].fillna("").astype(str) if "sha256" in table.columns else [""] * len(table)
    out = []
    to_hash = sum(1 for d in given if not d)
    shown = (progress or QUIET) if to_hash else QUIET  # no line at all when the manifest gives every digest
    with shown.task("hashing images", total=to_hash) as step:
        for digest, path in zip(given, table["abs_path"]):
            if not digest:
                try:
                    digest = file_sha256(path)
                except OSError:  # a missing file is recorded as a failure by the runner
                    digest = ""
                step.advance()
            out.append(digest)
    return out


def _stale_reason(saved: tuple, wanted: tuple[str, str, str]) -> str:
    model, image, prep = saved
    if not isinstance(image, str) or not isinstance(prep, str):
        return "saved_without_digests"
    if model != wanted[0] or prep != wanted[2]:
        return "model_or_preprocessing_changed"
    return "image_changed"


def plan_reuse(table: pd.DataFrame, run_dir: Path, *, model_sha256: str, preprocessing_sha256: str) -> ReusePlan:
    """Match saved predictions to ``table`` (case_id, abs_path, optional sha256) by case and inputs.

    A saved row is reused only when its case id, model weights, image digest and preprocessing
    digest all equal the current ones. A case whose saved rows all differ is scored again and
    counted under the reason of its newest saved row: ``saved_without_digests`` (written before
    the digests were recorded), ``model_or_preprocessing_changed``, or ``image_changed``.
    """
    table = table.assign(image_sha256=image_digests(table))
    wanted = {c: (model_sha256, img, preprocessing_sha256) for c, img in zip(table["case_id"], table["image_sha256"])}
    saved = read_predictions(run_dir)
    keep, stale = _match(saved, wanted)
    reused = saved.loc[list(keep.values())]
    rescored = dict.fromkeys(RESCORE_REASONS, 0)
    for case_id, reason in stale.items():
        if case_id not in keep:
            rescored[reason] += 1
    return ReusePlan(wanted=wanted, reused=reused, todo=table[~table["case_id"].isin(keep)], rescored=rescored)


def _match(saved: pd.DataFrame, wanted: dict[str, tuple[str, str, str]]) -> tuple[dict[str, int], dict[str, str]]:
    """Index of the current saved row per case, and the stale reason of each case's newest other row."""
    keep: dict[str, int] = {}
    stale: dict[str, str] = {}
    digests = zip(*(saved[c] for c in INPUT_DIGESTS))
    for i, case_id, got in zip(saved.index, saved["case_id"], digests):
        want = wanted.get(case_id)
        if want is None:  # no longer in the manifest
            continue
        if got == want:
            keep.setdefault(case_id, i)
        else:
            stale[case_id] = _stale_reason(got, want)
    return keep, stale


def _write_part(run_dir: Path, rows: list[dict]) -> None:
    parts = run_dir / "predictions.parts"
    parts.mkdir(parents=True, exist_ok=True)
    name = f"part-{time.time_ns():020d}-{os.getpid()}.parquet"
    frame = pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS)).astype({"score": "float64"})
    write_atomic(parts / name, lambda tmp: frame.to_parquet(tmp, index=False))


def consolidate(run_dir: Path, wanted: dict[str, tuple[str, str, str]]) -> pd.DataFrame:
    """Merge parts into predictions.parquet and remove the parts.

    ``wanted`` maps each case id, in manifest order, to the (model, image, preprocessing)
    digests of its current prediction; only those rows are kept, so stale rows and cases no
    longer in the manifest are dropped and each case has at most one row.
    """
    df = read_predictions(run_dir)
    keep, _ = _match(df, wanted)
    df = df.loc[[keep[c] for c in wanted if c in keep]].reset_index(drop=True)
    final = run_dir / "predictions.parquet"
    write_atomic(final, lambda tmp: df.to_parquet(tmp, index=False))
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
    preprocessing_sha256: str,
    batch_size: int = 16,
    num_workers: int = 2,
    device: str = "cpu",
    verify_sha256: bool = True,
    progress: Progress | None = None,
    decoder_of: dict[str, str] | None = None,
) -> InferenceSummary:
    """Predict every row of ``table`` (columns case_id, abs_path, sha256), resuming if possible.

    ``preprocess(path) -> (C, H, W) float32`` must be picklable (it runs in workers);
    ``predict(batch_tensor) -> probabilities``. ``model_sha256`` and ``preprocessing_sha256``
    identify the weights and the preprocessing settings; saved predictions are reused only
    when they, the case id and the image digest match (:func:`plan_reuse`). ``decoder_of`` maps a
    case id to the pixel decoder that will decode it; it is recorded with the case's prediction.
    ``progress`` shows a bar of the cases scored (on stderr; None: silent).
    """
    import torch
    from torch.utils.data import DataLoader

    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    plan = plan_reuse(table, run_dir, model_sha256=model_sha256, preprocessing_sha256=preprocessing_sha256)
    rows = todo_rows(plan)
    row = RowMaker(plan, model_sha256, preprocessing_sha256, decoder_of)
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
        threads = torch.get_num_threads()
        if not device.startswith("cuda") and num_workers > 0:
            # On CPU the decode workers and the model share the cores; intra-op threads beyond what
            # the workers leave make the forward pass several times slower (measured: docs/latency.md).
            torch.set_num_threads(max(1, _usable_cores() - num_workers))
        try:
            with (progress or QUIET).task("inference", total=len(rows)) as step:
                for batch in loader:
                    scores = None if batch["x"] is None else predict(batch["x"])
                    out = batch_rows(row, batch["not_scored"], batch["ok_ids"], scores)
                    _write_part(run_dir, out)
                    step.advance(len(out))
        finally:
            torch.set_num_threads(threads)
    return finish(table, run_dir, plan, t0=t0, device=device)


def todo_rows(plan: ReusePlan) -> list[tuple[str, str, str]]:
    """(case id, image path, image digest) of each case to score; workers check each file against the digest."""
    todo = plan.todo
    return list(zip(todo["case_id"], todo["abs_path"], todo["image_sha256"]))


class RowMaker:
    """Builds prediction rows (:data:`PREDICTION_COLUMNS`) carrying the digests the run's plan wants."""

    def __init__(self, plan: ReusePlan, model_sha256: str, preprocessing_sha256: str,
                 decoder_of: dict[str, str] | None = None):
        self.image_of = dict(zip(plan.todo["case_id"], plan.todo["image_sha256"]))
        self.model_sha256, self.preprocessing_sha256 = model_sha256, preprocessing_sha256
        self.decoder_of = decoder_of or {}

    def __call__(self, case_id: str, score: float, error: str, status: str = "") -> dict:
        return {"case_id": case_id, "score": score, "model_sha256": self.model_sha256,
                "image_sha256": self.image_of[case_id], "preprocessing_sha256": self.preprocessing_sha256,
                "status": status or ("failed" if error else "ok"), "error": error,
                "pixel_decoder": self.decoder_of.get(case_id, "")}


def batch_rows(row: RowMaker, not_scored: Sequence[tuple[str, str, str]], ok_ids: Sequence[str],
               scores: object) -> list[dict]:
    """The rows of one batch: (case id, status, error) of the images not scored, then each score.

    A score that is not a probability in [0, 1] makes its case ``failed``, with the value in the reason.
    """
    out = [row(c, math.nan, e, st) for c, st, e in not_scored]
    if len(ok_ids):
        values = np.asarray(scores, dtype=np.float64).reshape(-1)
        for c, s in zip(ok_ids, values):
            if math.isfinite(s) and 0.0 <= s <= 1.0:
                out.append(row(c, float(s), ""))
            else:
                out.append(row(c, math.nan, f"model returned an invalid score ({s}); "
                                            "expected a probability in [0, 1]"))
    return out


def write_part(run_dir: Path, rows: list[dict]) -> None:
    """Append one batch's rows as a parquet part (atomic), as the local runner does after each batch."""
    _write_part(run_dir, rows)


def finish(table: pd.DataFrame, run_dir: Path, plan: ReusePlan, *, t0: float, device: str) -> InferenceSummary:
    """Consolidate the parts, check every manifest row has its prediction, and summarise the run."""
    final = consolidate(run_dir, plan.wanted)
    missing = set(table["case_id"]) - set(final["case_id"])
    if missing:  # cannot happen unless a worker lost a row; never let it pass silently
        raise RuntimeError(f"{len(missing)} manifest row(s) have no prediction after the run, e.g. {min(missing)}")
    return InferenceSummary(
        n_total=len(table), n_ok=int((final["status"] == "ok").sum()),
        n_failed=int((final["status"] == "failed").sum()), n_resumed=len(plan.reused),
        n_excluded=int((final["status"] == "excluded").sum()),
        seconds=time.perf_counter() - t0, device=device, predictions_path=run_dir / "predictions.parquet",
        rescored=plan.rescored,
    )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
