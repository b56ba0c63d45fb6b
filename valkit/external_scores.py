"""Scores from a vendor file (CSV or parquet) aligned to the manifest: the predictions table without a model.

Every manifest row ends as one prediction row, as with the inference runner: ``ok`` with
its score, or ``failed`` with the reason (no score for the case, an empty cell, text that is
not a number, NaN or infinity). A score outside the protocol's declared range
(``predictions.score_range``, default [0, 1]) is not a per-case problem but a sign that
the file is on another scale, so it stops the run with an :class:`~valkit.errors.InputError`.
Rows of the file whose case id is not in the manifest are counted and listed
(:meth:`ExternalScores.accounting`), never silently dropped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from valkit.errors import InputError
from valkit.runner import PREDICTION_COLUMNS

SHOWN = 10  # case ids quoted in a message or in results.json before "and N more"


@dataclass(frozen=True)
class ExternalScores:
    """The aligned predictions plus the accounting of the scores file's rows."""

    predictions: pd.DataFrame
    path: str
    n_rows: int
    n_matched: int
    not_in_manifest: tuple[str, ...]
    score_range: tuple[float, float]

    def accounting(self) -> dict:
        """results.json ``data.external_scores``: rows in the file, matched, and those not in the manifest."""
        return {
            "path": self.path,
            "rows_in_file": self.n_rows,
            "matched": self.n_matched,
            "not_in_manifest": len(self.not_in_manifest),
            "not_in_manifest_examples": list(self.not_in_manifest[:SHOWN]),
            "score_range": [float(self.score_range[0]), float(self.score_range[1])],
        }


def _parse_score(value: object) -> tuple[float | None, str]:
    """(score, "") or (None, reason) for one cell, keeping the original text in the reason."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str)
                                                                              and not value.strip()):
        return None, "no score for this case (empty cell in the predictions file)"
    try:
        s = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None, f"score {value!r} is not a number"
    if not math.isfinite(s):
        return None, f"invalid score {value!r} (NaN or infinite)"
    return s, ""


def _parse_scores(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores, reasons) of a column: NaN and the :func:`_parse_score` reason where a cell is not a score.

    Whole-column conversion first (the same parse as ``float()``); only the cells it cannot turn
    into a finite number are looked at one by one, for their reason.
    """
    try:
        score = values.astype(np.float64)
    except (TypeError, ValueError):
        score = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
        good = np.isfinite(score)
        try:  # the exact float() parse for the cells pandas read as numbers
            score[good] = values[good].astype(np.float64)
        except (TypeError, ValueError):
            score = np.full(len(values), np.nan)
    reason = np.full(len(values), "", dtype=object)
    for i in np.flatnonzero(~np.isfinite(score)):
        s, why = _parse_score(values[i])
        score[i], reason[i] = (np.nan, why) if s is None else (s, "")
    return score, reason


def _read(path: Path, case_id_column: str, score_column: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: predictions file not found.")
    # CSV cells are read as text so a bad score keeps its original spelling in the error
    ext = (pd.read_parquet(path) if path.suffix == ".parquet"
           else pd.read_csv(path, dtype=str, keep_default_na=False))
    for col in (case_id_column, score_column):
        if col not in ext.columns:
            raise InputError(f"{path}: column '{col}' not found; found {', '.join(map(str, ext.columns))}. "
                             "Set predictions.case_id_column / score_column in the protocol.")
    ids = ext[case_id_column].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"{path}: case id '{dup.iloc[0]}' has more than one score ({len(dup)} duplicates). "
                         "Keep one score per case.")
    return pd.DataFrame({"case_id": ids.to_numpy(), "score": ext[score_column].to_numpy(dtype=object)})


def external_predictions(table: pd.DataFrame, path: Path, *, case_id_column: str, score_column: str,
                         digest: str, score_range: tuple[float, float] = (0.0, 1.0),
                         shown_path: str | None = None) -> ExternalScores:
    """Predictions from a vendor file aligned to ``table`` (one row per manifest case, manifest order).

    Raises
    ------
    InputError
        The file or a column is missing, a case id has two scores, or a score lies outside
        ``score_range`` (the message names the cases, the values and the protocol key to set).
    """
    ext = _read(path, case_id_column, score_column)
    ext_ids = ext["case_id"].to_numpy(dtype=object)
    score, reason = _parse_scores(ext["score"].to_numpy(dtype=object))
    low, high = score_range
    out_mask = np.isfinite(score) & ~((low <= score) & (score <= high))
    if out_mask.any():
        outside = list(zip(ext_ids[out_mask], score[out_mask]))
        listed = ", ".join(f"{cid} ({s:g})" for cid, s in outside[:SHOWN])
        more = f" and {len(outside) - SHOWN} more" if len(outside) > SHOWN else ""
        raise InputError(
            f"{path}: {len(outside)} score(s) outside [{low:g}, {high:g}]: {listed}{more}. Scores on another "
            f"scale (e.g. 0-100) must be declared: set predictions.score_range in the protocol (e.g. [0, 100]) "
            "and give predictions.threshold on that scale."
        )
    # align to the manifest: the file's row of each manifest case (-1: the case has no score)
    at = pd.Index(ext_ids).get_indexer(table["case_id"].to_numpy(dtype=object))
    found = at >= 0
    row_score = np.where(found, score[np.where(found, at, 0)], np.nan)
    ok = np.isfinite(row_score)
    row_reason = np.where(found, reason[np.where(found, at, 0)], "no score for this case in the predictions file")
    n = len(table)
    # the image digest is the manifest's; the preprocessing digest is empty (valkit preprocessed nothing)
    images = (table["sha256"].fillna("").astype(str).to_numpy(dtype=object) if "sha256" in table.columns
              else np.full(n, "", dtype=object))
    predictions = pd.DataFrame({
        "case_id": table["case_id"].to_numpy(dtype=object), "score": row_score.astype("float64"),
        "model_sha256": np.full(n, digest, dtype=object), "image_sha256": images,
        "preprocessing_sha256": np.full(n, "", dtype=object),
        "status": np.where(ok, "ok", "failed").astype(object),
        "error": np.where(ok, "", row_reason).astype(object), "pixel_decoder": np.full(n, "", dtype=object),
    })[list(PREDICTION_COLUMNS)]
    unmatched = tuple(ext_ids[pd.Index(table["case_id"].to_numpy(dtype=object)).get_indexer(ext_ids) < 0].tolist())
    return ExternalScores(predictions=predictions, path=shown_path or str(path), n_rows=len(ext),
                          n_matched=len(ext) - len(unmatched), not_in_manifest=unmatched,
                          score_range=(float(low), float(high)))
