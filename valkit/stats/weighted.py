"""Weighted statistics of resample multiplicities: the vectorised kernels behind the bootstrap.

A bootstrap resample is a vector of unit multiplicities (how often each patient, case or
(score, label) cell was drawn). Each class here evaluates one statistic for a whole
(resamples x units) matrix at once, from orders precomputed on the full data, and gives the
leave-one-unit-out jackknife values BCa needs.

* AUC: sort once; with negative weights in score order and ``C`` their cumulative sum, the
  weighted Mann-Whitney numerator is ``sum_i w_i (C[a_i] + C[b_i]) / 2`` over positives
  (``a_i``/``b_i`` = negatives strictly below / at most the positive's score).
* Cell counts (tie compression): AUC and AP from counts per distinct score and label.
* Ratios (sensitivity, specificity, PPV, NPV, accuracy): per-unit sums and a matrix product.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from valkit.stats.validation import as_labels, as_scores

_CHUNK_ELEMENTS = 4_000_000  # rows x columns of one working array (~16-32 MB)


class _Weighted:
    """A statistic of unit multiplicities: value, batch over resamples, jackknife."""

    n_units: int

    def batch(self, m: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def value(self) -> float:
        return float(self.batch(np.ones((1, self.n_units), dtype=np.int32))[0])

    def jackknife(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-unit-out values and how many cases each stands for (default: batched)."""
        vals = np.empty(self.n_units)
        step = max(1, _CHUNK_ELEMENTS // max(self.n_units, 1))
        for start in range(0, self.n_units, step):
            stop = min(self.n_units, start + step)
            m = np.ones((stop - start, self.n_units), dtype=np.int32)
            m[np.arange(stop - start), np.arange(start, stop)] = 0
            vals[start:stop] = self.batch(m)
        return vals, np.ones(self.n_units)


class _AucByCase(_Weighted):
    """Weighted Mann-Whitney AUC; units are clusters (or cases)."""

    def __init__(self, y: np.ndarray, s: np.ndarray, unit: np.ndarray, n_units: int):
        self.n_units = n_units
        order = np.argsort(s, kind="stable")
        is_pos = y[order].astype(bool)
        pos_idx, neg_idx = order[is_pos], order[~is_pos]
        neg_scores, pos_scores = s[neg_idx], s[pos_idx]
        self.a = np.searchsorted(neg_scores, pos_scores, side="left")
        self.b = np.searchsorted(neg_scores, pos_scores, side="right")
        self.ties = bool((self.a != self.b).any())
        self.unit_pos, self.unit_neg = unit[pos_idx], unit[neg_idx]
        self.y, self.s, self.unit = y, s, unit
        self._buf: np.ndarray | None = None
        self.unit_sizes = np.bincount(unit, minlength=n_units).astype(np.int64)

    def batch(self, m: np.ndarray) -> np.ndarray:
        r = m.shape[0]
        n0 = len(self.unit_neg)
        # int32 cumulative case weights are exact while twice the resampled case total is below 2**31
        total = int((m @ self.unit_sizes).max(initial=0))
        dtype = np.int32 if 2 * total < 2**31 - 1 else np.int64
        if self._buf is None or self._buf.shape[0] != r or self._buf.dtype != dtype:
            self._buf = np.zeros((r, n0 + 1), dtype=dtype)
        c = self._buf
        wn = np.take(m, self.unit_neg, axis=1)
        np.cumsum(wn, axis=1, out=c[:, 1:])
        wp = np.take(m, self.unit_pos, axis=1)
        below = np.take(c, self.a, axis=1)
        if self.ties:
            below += np.take(c, self.b, axis=1)
            num = np.einsum("ij,ij->i", wp, below, dtype=np.float64) / 2.0
        else:
            num = np.einsum("ij,ij->i", wp, below, dtype=np.float64)
        den = wp.sum(axis=1, dtype=np.float64) * c[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    def jackknife(self) -> tuple[np.ndarray, np.ndarray]:
        # AUC without cluster c: (U - R_c - C_c + W_c) / ((m - m_c)(n - n_c)), where R_c, C_c are the
        # pair counts of c's positives / negatives with everyone and W_c the pairs inside c.
        from valkit.stats.delong import placements

        y, s, unit, k = self.y, self.s, self.unit, self.n_units
        p = placements(y, s)
        is_pos = y.astype(bool)
        m, n = int(is_pos.sum()), int((~is_pos).sum())
        u_total = p.auc * m * n
        r_c = np.bincount(unit[is_pos], weights=p.v10 * n, minlength=k)
        c_c = np.bincount(unit[~is_pos], weights=p.v01 * m, minlength=k)
        m_c = np.bincount(unit[is_pos], minlength=k)
        n_c = np.bincount(unit[~is_pos], minlength=k)
        order = np.lexsort((s, unit))
        su, ss = unit[order], s[order]
        key_new = np.r_[True, (su[1:] != su[:-1]) | (ss[1:] != ss[:-1])]
        starts = np.flatnonzero(key_new)
        counts = np.diff(np.append(starts, len(s)))
        cluster_start = np.searchsorted(su, np.arange(k), side="left")
        grp_start = np.repeat(starts, counts)
        rank_in_cluster = (grp_start - cluster_start[su]) + (np.repeat(counts, counts) + 1) / 2.0
        pos_sorted = is_pos[order]
        rank_sum = np.bincount(su[pos_sorted], weights=rank_in_cluster[pos_sorted], minlength=k)
        w_c = rank_sum - m_c * (m_c + 1) / 2.0
        den = (m - m_c) * (n - n_c)
        with np.errstate(invalid="ignore", divide="ignore"):
            vals = np.where(den > 0, (u_total - r_c - c_c + w_c) / np.where(den > 0, den, 1), np.nan)
        return vals, np.ones(k)


class _CellCounts(_Weighted):
    """AUC or AP from counts per (distinct score, label) cell; units are cells."""

    def __init__(self, kind: str, cell_group: np.ndarray, cell_pos: np.ndarray, n_groups: int,
                 counts: np.ndarray):
        self.kind = kind
        self.n_units = len(cell_group)
        self.counts = counts
        self.to_pos = np.zeros((self.n_units, n_groups))
        self.to_neg = np.zeros((self.n_units, n_groups))
        self.to_pos[np.flatnonzero(cell_pos), cell_group[cell_pos]] = 1.0
        self.to_neg[np.flatnonzero(~cell_pos), cell_group[~cell_pos]] = 1.0

    def batch(self, m: np.ndarray) -> np.ndarray:
        p = m @ self.to_pos  # (r x groups), groups in ascending score order
        q = m @ self.to_neg
        return _auc_from_group_counts(p, q) if self.kind == "auc" else _ap_from_group_counts(p, q)

    def value(self) -> float:
        return float(self.batch(self.counts[None, :].astype(float))[0])

    def jackknife(self) -> tuple[np.ndarray, np.ndarray]:
        m = np.repeat(self.counts[None, :].astype(float), self.n_units, axis=0)
        m[np.arange(self.n_units), np.arange(self.n_units)] -= 1
        return self.batch(m), self.counts.astype(float)


def _auc_from_group_counts(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    below = np.cumsum(q, axis=1) - q
    num = (p * (below + 0.5 * q)).sum(axis=1)
    den = p.sum(axis=1) * q.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _ap_from_group_counts(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Average precision from per-group positive/negative weights in ascending score order."""
    p, q = p[:, ::-1], q[:, ::-1]  # descending thresholds
    tp, fp = np.cumsum(p, axis=1), np.cumsum(q, axis=1)
    total = tp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1), 0.0)
        return np.where(total > 0, (p * prec).sum(axis=1) / np.where(total > 0, total, 1), np.nan)


class _ApByCase(_Weighted):
    def __init__(self, y: np.ndarray, s: np.ndarray, unit: np.ndarray, n_units: int):
        self.n_units = n_units
        order = np.argsort(s, kind="stable")
        self.unit_sorted = unit[order]
        self.pos_sorted = y[order].astype(bool)
        ss = s[order]
        new = np.r_[True, ss[1:] != ss[:-1]] if len(ss) else np.zeros(0, bool)
        self.starts = np.flatnonzero(new)

    def batch(self, m: np.ndarray) -> np.ndarray:
        w = np.take(m, self.unit_sorted, axis=1).astype(np.float64)
        p = np.add.reduceat(np.where(self.pos_sorted, w, 0.0), self.starts, axis=1)
        q = np.add.reduceat(np.where(self.pos_sorted, 0.0, w), self.starts, axis=1)
        return _ap_from_group_counts(p, q)


class _Ratio(_Weighted):
    """sum(w * num) / sum(w * den) with per-unit sums; covers the 2x2-table proportions."""

    def __init__(self, num: np.ndarray, den: np.ndarray, unit: np.ndarray, n_units: int):
        self.n_units = n_units
        self.num = np.bincount(unit, weights=num, minlength=n_units)
        self.den = np.bincount(unit, weights=den, minlength=n_units)

    def batch(self, m: np.ndarray) -> np.ndarray:
        a, b = m @ self.num, m @ self.den
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)

    def jackknife(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.num.sum() - self.num, self.den.sum() - self.den
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan), np.ones(self.n_units)


def _ratio_factory(kind: str) -> Callable[..., _Weighted]:
    def make(y: np.ndarray, pred: np.ndarray, unit: np.ndarray, n_units: int) -> _Weighted:
        yp, pp = y.astype(float), pred.astype(float)
        num, den = {
            "sensitivity": (yp * pp, yp),
            "specificity": ((1 - yp) * (1 - pp), 1 - yp),
            "ppv": (yp * pp, pp),
            "npv": ((1 - yp) * (1 - pp), 1 - pp),
            "accuracy": (yp * pp + (1 - yp) * (1 - pp), np.ones_like(yp)),
        }[kind]
        return _Ratio(num, den, unit, n_units)

    return make


_SCORE_STATS: dict[str, type[_Weighted]] = {"auc": _AucByCase, "average_precision": _ApByCase}
_PRED_STATS = {k: _ratio_factory(k) for k in ("sensitivity", "specificity", "ppv", "npv", "accuracy")}
NAMED_STATISTICS = tuple(sorted([*_SCORE_STATS, *_PRED_STATS]))


def auc_weighted(y: Any, s: Any, weights: np.ndarray) -> np.ndarray:
    """Weighted AUC for each row of case weights (r x n): the kernel behind the bootstrap.

    >>> auc_weighted([0, 0, 1, 1], [1, 2, 2, 3], np.array([[1, 1, 1, 1], [2, 0, 1, 1]])).tolist()
    [0.875, 1.0]
    """
    y, s = as_labels(y), as_scores(s)
    w = np.asarray(weights)
    return _AucByCase(y, s, np.arange(len(y)), len(y)).batch(w)


def average_precision_weighted(y: Any, s: Any, weights: np.ndarray) -> np.ndarray:
    """Weighted average precision for each row of case weights (r x n).

    >>> average_precision_weighted([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], np.ones((1, 4))).round(4).tolist()
    [0.8333]
    """
    y, s = as_labels(y), as_scores(s)
    return _ApByCase(y, s, np.arange(len(y)), len(y)).batch(np.asarray(weights))
