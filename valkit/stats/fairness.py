"""Per-cell 2x2 counts under a patient-clustered, stratified bootstrap (the replicates behind fairness gaps).

One resampling plan serves every cell of a subgroup family (e.g. the levels of sex, or
of sex x age band) at once, so per-cell confidence intervals and the gaps *between*
cells (TPR/FPR differences and ratios, equalized odds, demographic parity) come from the
same resamples; the gaps themselves are :mod:`valkit.stats.disparity`.

Resampling. The unit is the patient (``cluster``); patients are drawn with replacement
within strata, keeping each stratum's number of patients fixed. The default stratum of a
patient is the set of (cell, outcome) pairs among its images, so every group keeps its
number of positive and of negative patients in every resample: a group cannot vanish from
a resample, and a sensitivity defined on the data is defined on every resample.

Speed. A patient enters the statistics only through its vector of per-cell TP/FP/FN/TN
counts. Patients of one stratum with the same vector are exchangeable, so drawing
``N_s`` patients uniformly from stratum ``s`` is exactly a multinomial draw over the
distinct vectors ("types") with probabilities proportional to how many patients share
each. Counts for all cells and all resamples are then ``W @ A``: resample-by-type weights
times the type-by-(cell, class) count matrix. With few types (the usual case: a family has
a handful of cells and patients have one or two images) the cost no longer grows with the
number of patients; with many types it falls back to drawing patient indices.

References: Davison AC, Hinkley DV (1997) Bootstrap Methods and their Application, 3.8
(clustered data) and 3.2 (stratified resampling); Efron B, Tibshirani RJ (1993) ch. 13
(percentile interval).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from valkit.stats.types import _clean
from valkit.stats.validation import (
    StatsInputError,
    as_cluster,
    as_labels,
    check_confidence_level,
    check_same_length,
    distinct,
    look_up_option,
)

CLASSES = ("tp", "fp", "fn", "tn")
_CHUNK_ELEMENTS = 4_000_000


# ----------------------------------------------------------------------------- counts
def _class_codes(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """0 = TP, 1 = FP, 2 = FN, 3 = TN (the order of :data:`CLASSES`)."""
    return np.where(y == 1, np.where(pred == 1, 0, 2), np.where(pred == 1, 1, 3)).astype(np.int64)


def _pairs(cells: Any, n: int, n_cells: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """(case index, cell index) membership pairs from a code vector or an (n x C) indicator."""
    try:
        import scipy.sparse as sp

        if sp.issparse(cells):
            coo = sp.coo_matrix(cells)
            if coo.shape[0] != n:
                raise StatsInputError(f"cells: expected {n} rows (one per case), got {coo.shape[0]}.")
            keep = coo.data != 0
            return coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64), int(coo.shape[1])
    except ImportError:  # pragma: no cover - scipy is a dependency
        pass
    arr = np.asarray(cells)
    if arr.ndim == 2:
        if arr.shape[0] != n:
            raise StatsInputError(f"cells: expected {n} rows (one per case), got {arr.shape[0]}.")
        rows, cols = np.nonzero(arr)
        return rows.astype(np.int64), cols.astype(np.int64), int(arr.shape[1])
    if arr.ndim != 1 or len(arr) != n:
        raise StatsInputError(f"cells: expected one cell code per case ({n} values) or an (n x cells) "
                              f"indicator matrix, got shape {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise StatsInputError("cells: expected integer cell codes (0..C-1, -1 = in no cell).")
    arr = arr.astype(np.int64)
    c = int(arr.max(initial=-1)) + 1 if n_cells is None else int(n_cells)
    if arr.size and (arr.min() < -1 or arr.max() >= max(c, 0)):
        raise StatsInputError(f"cells: codes must lie in -1..{c - 1}, found {arr.min()}..{arr.max()}.")
    rows = np.flatnonzero(arr >= 0)
    return rows, arr[rows], c


def confusion_by_cell(y_true: Any, y_pred: Any, cells: Any, *, n_cells: int | None = None) -> np.ndarray:
    """TP, FP, FN, TN per cell as an int array of shape (cells, 4).

    ``cells`` is one integer code per case (-1 = in no cell) or an (n x cells) 0/1 matrix
    (a case may then belong to several cells). Empty cells are rows of zeros.

    >>> confusion_by_cell([1, 1, 0, 0, 1], [1, 0, 0, 1, 1], [0, 0, 1, 1, 2], n_cells=4).tolist()
    [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]]
    """
    y = as_labels(y_true)
    p = as_labels(y_pred, name="y_pred")
    n = check_same_length(y_true=y, y_pred=p)
    rows, cols, c = _pairs(cells, n, n_cells)
    k = _class_codes(y, p)[rows]
    return np.bincount(cols * 4 + k, minlength=c * 4).reshape(c, 4).astype(np.int64)


# ----------------------------------------------------------------------------- rates
RATES = ("tpr", "fpr", "tnr", "fnr", "ppv", "npv", "selection_rate")


def rates(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Rates from counts ``[..., 4]`` (TP, FP, FN, TN); ``nan`` where a denominator is 0.

    ``tpr`` = sensitivity, ``tnr`` = specificity, ``selection_rate`` = share called positive.

    >>> r = rates(np.array([[8, 1, 2, 9], [0, 0, 0, 5]]))
    >>> r["tpr"].tolist(), r["fpr"].tolist(), r["selection_rate"].tolist()
    ([0.8, nan], [0.1, 0.0], [0.45, 0.0])
    """
    c = np.asarray(counts, dtype=float)
    tp, fp, fn, tn = c[..., 0], c[..., 1], c[..., 2], c[..., 3]

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)

    return {
        "tpr": ratio(tp, tp + fn), "fpr": ratio(fp, fp + tn), "tnr": ratio(tn, fp + tn),
        "fnr": ratio(fn, tp + fn), "ppv": ratio(tp, tp + fp), "npv": ratio(tn, tn + fn),
        "selection_rate": ratio(tp + fp, tp + fp + fn + tn),
    }


# ----------------------------------------------------------------------------- bootstrap
@dataclass(frozen=True)
class CellCountReplicates:
    """Observed per-cell counts ``(C, 4)`` and their bootstrap replicates ``(B, C, 4)``."""

    counts: np.ndarray
    replicates: np.ndarray
    n_units: int
    n_types: int
    n_strata: int
    clustered: bool
    stratification: str
    seed: Any
    method: str = "cluster_bootstrap"

    def describe(self) -> dict[str, Any]:
        return _clean({
            "method": self.method, "n_resamples": int(self.replicates.shape[0]), "n_units": self.n_units,
            "unit": "patient" if self.clustered else "case", "n_strata": self.n_strata,
            "n_distinct_unit_patterns": self.n_types, "stratification": self.stratification,
            "seed": self.seed if isinstance(self.seed, (int, type(None))) else str(self.seed),
        })


_sorted_unique = distinct  # np.unique by sorting (numpy's default hash path is slow on millions of keys)


def _pack_rows(keys: np.ndarray, row_of: np.ndarray, n_rows: int) -> np.ndarray:
    """Group ids for variable-length sorted key lists (one list per row): equal lists, equal id."""
    # keys are sorted by (row, key); build a padded (n_rows x width) matrix and take unique rows
    starts = np.searchsorted(row_of, np.arange(n_rows), side="left")
    lengths = np.bincount(row_of, minlength=n_rows)
    width = int(lengths.max(initial=0))
    pos = np.arange(len(keys)) - np.repeat(starts, lengths)
    mat = np.full((n_rows, max(width, 1)), -1, dtype=np.int64)
    mat[row_of, pos] = keys
    radix = int(mat.max(initial=0)) + 2
    if width == 0:
        return np.zeros(n_rows, dtype=np.int64)
    if width * math.log2(radix) < 62:  # pack each row into one int64: a fast 1-D unique
        packed = np.zeros(n_rows, dtype=np.int64)
        for j in range(mat.shape[1]):
            packed = packed * radix + (mat[:, j] + 1)
        _, inv = np.unique(packed, return_inverse=True)
    else:
        _, inv = np.unique(mat, axis=0, return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def _strata_codes(strata: Any, y: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> tuple[np.ndarray, str]:
    """Per-case stratum keys (possibly several per case) as (case index, key) pairs."""
    if isinstance(strata, str):
        look_up_option(strata, {"cell_outcome": 0, "outcome": 0, "none": 0}, what="strata")
        if strata == "cell_outcome":
            return np.c_[rows, cols * 2 + y[rows]], "patient's set of (cell, outcome) pairs"
        if strata == "outcome":
            return np.c_[np.arange(n), y.astype(np.int64)], "patient's set of outcomes"
        return np.c_[np.arange(n), np.zeros(n, dtype=np.int64)], "none"
    if strata is None:
        return np.c_[np.arange(n), np.zeros(n, dtype=np.int64)], "none"
    arr = np.asarray(strata).reshape(-1)
    check_same_length(y_true=y, strata=arr)
    _, codes = np.unique(arr, return_inverse=True)
    return np.c_[np.arange(n), codes.reshape(-1).astype(np.int64)], "patient's set of given strata"


def bootstrap_cell_counts(
    y_true: Any,
    y_pred: Any,
    cells: Any,
    *,
    n_cells: int | None = None,
    cluster: Any = None,
    strata: Any = "cell_outcome",
    n_resamples: int = 2000,
    seed: Any = None,
) -> CellCountReplicates:
    """Bootstrap replicates of every cell's 2x2 table from one patient-level resampling plan.

    Parameters
    ----------
    y_true, y_pred : arrays of {0, 1}, one per case (image)
    cells : int codes (one per case, -1 = in no cell) or an (n x cells) 0/1 matrix
    n_cells : int, optional
        Number of cells (declared cells may be empty); default max code + 1.
    cluster : array, optional
        Patient id per case; patients are resampled whole.
    strata : {"cell_outcome", "outcome", "none"} or array
        ``cell_outcome`` (default): a patient's stratum is its set of (cell, outcome) pairs,
        so each group keeps its number of positive and negative patients. An array gives
        one stratum label per case.
    n_resamples : int
    seed : int or numpy Generator

    Returns
    -------
    CellCountReplicates
        ``replicates[b, c]`` = (TP, FP, FN, TN) of cell ``c`` in resample ``b``.

    Examples
    --------
    >>> y = [1, 1, 0, 0, 1, 0, 1, 0]
    >>> p = [1, 0, 0, 1, 1, 0, 1, 0]
    >>> r = bootstrap_cell_counts(y, p, [0, 0, 0, 0, 1, 1, 1, 1], n_resamples=50, seed=1)
    >>> r.counts.tolist(), r.replicates.shape
    ([[1, 1, 1, 1], [2, 0, 0, 2]], (50, 2, 4))
    >>> bool((r.replicates[:, :, [0, 2]].sum(axis=2) == [2, 2]).all())  # positives per group fixed
    True
    """
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise StatsInputError(f"n_resamples: expected a positive integer (e.g. 2000), got {n_resamples!r}.")
    y = as_labels(y_true)
    p = as_labels(y_pred, name="y_pred")
    n = check_same_length(y_true=y, y_pred=p)
    rows, cols, c = _pairs(cells, n, n_cells)
    unit = as_cluster(cluster, n)
    clustered = unit is not None
    if unit is None:
        unit = np.arange(n, dtype=np.intp)
    n_units = int(unit.max(initial=-1)) + 1
    n_cols = c * 4

    # per-unit (cell, class) counts as sorted (unit, column) entries
    key = unit[rows].astype(np.int64) * n_cols + cols * 4 + _class_codes(y, p)[rows]
    ukey, kcount = np.unique(key, return_counts=True)
    e_unit, e_col = ukey // n_cols, ukey % n_cols

    # per-unit stratum signature
    spairs, strat_desc = _strata_codes(strata, y.astype(np.int64), rows, cols, n)
    s_radix = int(spairs[:, 1].max(initial=0)) + 1
    s_key = _sorted_unique(unit[spairs[:, 0]].astype(np.int64) * s_radix + spairs[:, 1])
    unit_stratum = _pack_rows(s_key % s_radix, s_key // s_radix, n_units)

    # unit type = (stratum, counts vector): the stratum id sorts first (keys below n_str)
    n_str = int(unit_stratum.max(initial=0)) + 1
    count_radix = int(kcount.max(initial=1)) + 1
    type_keys = np.r_[unit_stratum, n_str + e_col * count_radix + kcount]
    type_rows = np.r_[np.arange(n_units, dtype=np.int64), e_unit]
    order = np.lexsort((type_keys, type_rows))
    unit_type = _pack_rows(type_keys[order], type_rows[order], n_units)
    types, rep_unit, type_size = np.unique(unit_type, return_index=True, return_counts=True)
    n_types = len(types)
    type_stratum = unit_stratum[rep_unit]

    # type x (cell, class) count matrix A from one representative unit per type
    import scipy.sparse as sp

    unit_to_type = np.full(n_units, -1, dtype=np.int64)
    unit_to_type[rep_unit] = np.arange(n_types)
    sel = unit_to_type[e_unit] >= 0
    a_mat = sp.csr_matrix((kcount[sel].astype(np.float64), (unit_to_type[e_unit[sel]], e_col[sel])),
                          shape=(n_types, n_cols))
    observed = np.asarray(a_mat.T @ type_size.astype(np.float64)).reshape(c, 4).round().astype(np.int64)

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    # types sorted by stratum, so a stratum is a contiguous block of W's columns
    by_stratum = np.argsort(type_stratum, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(type_stratum[by_stratum]) != 0, True])
    n_strata = len(bounds) - 1
    a_t = a_mat[by_stratum].T.tocsr()
    sizes = type_size[by_stratum]
    reps = np.empty((n_resamples, n_cols), dtype=np.int64)
    step = max(1, min(n_resamples, _CHUNK_ELEMENTS // max(n_types, 1)))
    for start in range(0, n_resamples, step):
        r = min(step, n_resamples - start)
        w = np.zeros((r, n_types), dtype=np.float64)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            w[:, lo:hi] = _draw(rng, sizes[lo:hi], r)
        reps[start:start + r] = np.asarray(a_t @ w.T).T.round().astype(np.int64)
    return CellCountReplicates(
        counts=observed, replicates=reps.reshape(n_resamples, c, 4), n_units=n_units, n_types=n_types,
        n_strata=n_strata, clustered=clustered, stratification=strat_desc,
        seed=seed, method="cluster_bootstrap" if clustered else "bootstrap",
    )


def _draw(rng: np.random.Generator, sizes: np.ndarray, r: int) -> np.ndarray:
    """(r x types) counts: ``sizes.sum()`` units drawn uniformly, tallied by type."""
    total = int(sizes.sum())
    k = len(sizes)
    if k == 1:
        return np.full((r, 1), total, dtype=np.float64)
    if k * 8 <= total:  # few types: one multinomial per resample, cost O(types)
        return rng.multinomial(total, sizes / total, size=r).astype(np.float64)
    # many types: draw unit indices and tally (cost O(units))
    type_of_unit = np.repeat(np.arange(k), sizes)
    idx = type_of_unit[rng.integers(0, total, size=(r, total))]
    idx += (np.arange(r) * k)[:, None]
    return np.bincount(idx.ravel(), minlength=r * k).reshape(r, k).astype(np.float64)


# ----------------------------------------------------------------------------- intervals
def percentile_interval(replicates: np.ndarray, *, confidence_level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile bounds along axis 0, ignoring ``nan`` resamples; also how many were usable.

    >>> lo, hi, used = percentile_interval(np.array([[0.1, np.nan], [0.2, 0.5], [0.3, 0.6]]))
    >>> lo.round(3).tolist(), used.tolist()
    ([0.105, 0.502], [3, 2])
    """
    cl = check_confidence_level(confidence_level)
    reps = np.asarray(replicates, dtype=float)
    used = np.isfinite(reps).sum(axis=0)
    alpha = 1 - cl
    lo = np.full(reps.shape[1:], np.nan)
    hi = np.full(reps.shape[1:], np.nan)
    ok = used >= 2
    if ok.any():
        q = np.nanquantile(reps[:, ok], [alpha / 2, 1 - alpha / 2], axis=0)
        lo[ok], hi[ok] = q[0], q[1]
    return lo, hi, used


__all__ = [
    "CLASSES", "RATES", "CellCountReplicates", "bootstrap_cell_counts", "confusion_by_cell", "percentile_interval",
    "rates",
]
