"""Reader study input: read the tidy ratings table, validate it, and number readers, cases and modalities.

One row per reader x case x modality (``reader,case,modality,truth,rating[,reading_time_s]``);
modalities and readers are numbered 1, 2, ... in sorted order of their labels. Every problem is
an :class:`valkit.errors.InputError` naming the rows and the fix. Used by
:func:`valkit.reader_study.analyze_reader_study`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from valkit.errors import InputError
from valkit.stats.mrmc.design import DESIGNS, FACTORIAL, detect_design
from valkit.stats.mrmc.options import look_up

REQUIRED_COLUMNS = ("reader", "case", "modality", "truth", "rating")
TIME_COLUMN = "reading_time_s"
_MAX_LISTED = 8


@dataclass(frozen=True)
class RatingTable:
    """A validated reader study as arrays plus the labels behind the numbering."""

    ratings: np.ndarray  # (T, R, C), nan = not read
    truth: np.ndarray  # (C,) bool
    modalities: tuple[str, ...]
    readers: tuple[str, ...]
    cases: tuple[str, ...]
    design: str
    reading_time: np.ndarray | None  # (T, R, C) seconds or None
    source: str


def _label_order(values: pd.Series) -> list[str]:
    """Unique labels in sorted order: numerically when every label is a number, else as text."""
    uniq = [str(v) for v in pd.unique(values)]
    try:
        return sorted(uniq, key=lambda v: (float(v), v))
    except ValueError:
        return sorted(uniq)


def listing(items: list[str], limit: int = _MAX_LISTED) -> str:
    """The first ``limit`` items joined, and how many more there are.

    >>> listing(["a", "b", "c"], limit=2)
    'a, b (and 1 more)'
    """
    shown = items[:limit]
    more = f" (and {len(items) - len(shown)} more)" if len(items) > len(shown) else ""
    return ", ".join(shown) + more


def read_ratings(source: pd.DataFrame | str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """Load the ratings table (a DataFrame is used as is; a path is read as CSV)."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), "<DataFrame>"
    path = os.fspath(source)
    if not os.path.exists(path):
        raise InputError(f"{path}: ratings file not found. Fix: check the path.")
    try:
        df = pd.read_csv(path, dtype={"reader": str, "case": str, "modality": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as CSV ({exc}). Fix: save it as comma-separated text.") from exc
    return df, path


def _truth_values(col: pd.Series, src: str) -> np.ndarray:
    mapping = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1}
    if col.dtype == bool:
        return col.to_numpy().astype(int)
    text = col.astype(str).str.strip().str.lower()
    bad = ~text.isin(mapping)
    if bad.any():
        rows = [f"row {i + 2}: {col.iloc[i]!r}" for i in np.flatnonzero(bad.to_numpy())]
        raise InputError(
            f"{src}: column 'truth': expected 1 (positive) or 0 (negative) in every row; "
            f"found {listing(rows)}. Fix: code the reference standard as 0/1.")
    return text.map(mapping).to_numpy().astype(int)


def validate_ratings(df: pd.DataFrame, *, source: str = "<DataFrame>", design: str = "auto") -> RatingTable:
    """Strictly validate a ratings table and turn it into arrays.

    Raises :class:`~valkit.errors.InputError` naming the rows, readers or cases at fault:
    missing columns, non-numeric or missing ratings, truth not 0/1, a case whose truth
    differs between rows, duplicated reader x case x modality rows, a modality read by
    fewer than two readers, and missing cells in a design that is not nested.
    """
    src = source
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{src}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}. "
            f"Fix: the table needs columns {', '.join(REQUIRED_COLUMNS)} (and optionally {TIME_COLUMN}).")
    if len(df) == 0:
        raise InputError(f"{src}: the ratings table has no rows.")
    df = df.reset_index(drop=True)
    for c in ("reader", "case", "modality"):
        empty = df[c].isna() | (df[c].astype(str).str.strip() == "")
        if empty.any():
            rows = [f"row {i + 2}" for i in np.flatnonzero(empty.to_numpy())]
            raise InputError(f"{src}: column {c!r} is empty in {listing(rows)}. Fix: fill in every label.")
        df[c] = df[c].astype(str).str.strip()
    rating = pd.to_numeric(df["rating"], errors="coerce")
    bad = rating.isna() | ~np.isfinite(rating.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        rows = [f"row {i + 2} (reader {df.reader[i]}, case {df.case[i]}, modality {df.modality[i]}): "
                f"{df.rating[i]!r}" for i in np.flatnonzero(bad.to_numpy())]
        raise InputError(
            f"{src}: column 'rating': expected a finite number in every row; found {listing(rows)}. "
            "Fix: enter the rating as a number (e.g. 1-5 or 0-100), or drop the row.")
    truth = _truth_values(df["truth"], src)
    per_case = pd.DataFrame({"case": df["case"], "truth": truth}).groupby("case")["truth"].nunique()
    conflict = per_case[per_case > 1].index.tolist()
    if conflict:
        raise InputError(
            f"{src}: the truth of case(s) {listing([str(c) for c in conflict])} differs between rows. "
            "Fix: one case has one reference standard; correct the rows or give the cases different ids.")
    dup = df.duplicated(subset=["reader", "case", "modality"], keep=False)
    if dup.any():
        cells = sorted({f"(reader {r}, case {c}, modality {m})" for r, c, m in
                        df.loc[dup, ["reader", "case", "modality"]].itertuples(index=False)})
        raise InputError(
            f"{src}: {len(cells)} reader x case x modality cell(s) appear more than once: {listing(cells)}. "
            "Fix: keep one rating per reader, case and modality.")
    modalities = _label_order(df["modality"])
    readers = _label_order(df["reader"])
    cases = _label_order(df["case"])
    n_readers_by_mod = df.groupby("modality")["reader"].nunique()
    lonely = [f"{m!r} ({int(n)} reader)" for m, n in n_readers_by_mod.items() if n < 2]
    if lonely:
        raise InputError(
            f"{src}: modality {listing(lonely)}: an MRMC analysis needs at least 2 readers per modality. "
            "Fix: add readers, or remove that modality.")
    mi = {m: i for i, m in enumerate(modalities)}
    ri = {r: i for i, r in enumerate(readers)}
    ci = {c: i for i, c in enumerate(cases)}
    t_idx = df["modality"].map(mi).to_numpy()
    r_idx = df["reader"].map(ri).to_numpy()
    c_idx = df["case"].map(ci).to_numpy()
    arr = np.full((len(modalities), len(readers), len(cases)), np.nan)
    arr[t_idx, r_idx, c_idx] = rating.to_numpy(dtype=float)
    case_truth = np.zeros(len(cases), dtype=bool)
    case_truth[c_idx] = truth.astype(bool)
    times = None
    if TIME_COLUMN in df.columns:
        tcol = pd.to_numeric(df[TIME_COLUMN], errors="coerce")
        given = df[TIME_COLUMN].notna()
        badt = given & (tcol.isna() | (tcol < 0))
        if badt.any():
            rows = [f"row {i + 2}: {df[TIME_COLUMN][i]!r}" for i in np.flatnonzero(badt.to_numpy())]
            raise InputError(f"{src}: column {TIME_COLUMN!r}: expected seconds >= 0; found {listing(rows)}.")
        times = np.full(arr.shape, np.nan)
        times[t_idx, r_idx, c_idx] = tcol.to_numpy(dtype=float)
    read = ~np.isnan(arr)
    found = detect_design(read)
    wanted = look_up(design, {"auto": "auto", **{d: d for d in DESIGNS}}, what="design")
    if found is None and wanted in ("auto", FACTORIAL):
        holes = np.argwhere(~read)
        cells = [f"(reader {readers[r]}, case {cases[c]}, modality {modalities[t]})" for t, r, c in holes]
        raise InputError(
            f"{src}: the study is analysed as fully crossed (every reader reads every case under every "
            f"modality) but {len(cells)} reader x case x modality cell(s) have no rating: {listing(cells)}. "
            "Fix: add the missing ratings, or recode a nested design so that each case is read by one "
            "reader only (cases nested in reader) or under one modality only (cases nested in modality).")
    if found is None:
        raise InputError(
            f"{src}: design {wanted!r} was requested but the reading pattern does not follow it "
            f"({int((~read).sum())} cells without a rating). Fix: in {wanted}, each case is read "
            + ("by one reader only, under every modality." if wanted == "cases_nested_in_reader"
               else "under one modality only, by every reader."))
    if wanted not in ("auto", found):
        raise InputError(
            f"{src}: design {wanted!r} was requested but the ratings follow {found!r}. "
            f"Fix: pass design='{found}' or 'auto'.")
    n_pos, n_neg = int(case_truth.sum()), int((~case_truth).sum())
    if n_pos < 2 or n_neg < 2:
        raise InputError(
            f"{src}: the study has {n_pos} positive and {n_neg} negative case(s); at least 2 of each are "
            "needed. Fix: add cases of the missing class.")
    return RatingTable(arr, case_truth, tuple(map(str, modalities)), tuple(map(str, readers)),
                       tuple(map(str, cases)), found, times, src)


def read_model_scores(source: Any, cases: tuple[str, ...]) -> np.ndarray:
    """Model standalone scores aligned to ``cases``; a DataFrame/CSV path or a {case: score} mapping."""
    if isinstance(source, dict):
        df = pd.DataFrame({"case": list(source), "score": list(source.values())})
        src = "model_scores"
    elif isinstance(source, pd.DataFrame):
        df, src = source.copy(), "model_scores"
    else:
        src = os.fspath(source)
        if not os.path.exists(src):
            raise InputError(f"{src}: model scores file not found. Fix: check the path.")
        df = pd.read_csv(src, dtype={"case": str})
    col = "score" if "score" in df.columns else ("model_score" if "model_score" in df.columns else None)
    if "case" not in df.columns or col is None:
        raise InputError(
            f"{src}: expected columns 'case' and 'score' (or 'model_score'); found {', '.join(map(str, df.columns))}.")
    df["case"] = df["case"].astype(str).str.strip()
    if df["case"].duplicated().any():
        dups = df.loc[df["case"].duplicated(), "case"].tolist()
        raise InputError(f"{src}: case(s) {listing(dups)} have more than one model score. Fix: one row per case.")
    score = pd.to_numeric(df[col], errors="coerce")
    if score.isna().any():
        rows = [f"case {c}: {v!r}" for c, v in zip(df["case"][score.isna()], df[col][score.isna()])]
        raise InputError(f"{src}: column {col!r}: expected a number for every case; found {listing(rows)}.")
    lookup = dict(zip(df["case"], score.to_numpy(dtype=float)))
    absent = [c for c in cases if c not in lookup]
    if absent:
        raise InputError(
            f"{src}: no model score for {len(absent)} case(s) of the reader study: {listing(absent)}. "
            "Fix: score every case the readers read.")
    return np.array([lookup[c] for c in cases])
