"""DeLong's nonparametric AUC variance and test, by the fast algorithm of Sun & Xu (2014).

For m positives X and n negatives Y the AUC is the Mann-Whitney statistic
``theta = (1/mn) sum_ij psi(X_i, Y_j)`` with ``psi = 1`` if X > Y, ``1/2`` if tied,
``0`` otherwise. DeLong, DeLong & Clarke-Pearson (1988) estimate its (co)variance from
the *placement values* (structural components)

    V10_i = (1/n) sum_j psi(X_i, Y_j)     V01_j = (1/m) sum_i psi(X_i, Y_j)

as ``S10/m + S01/n`` where S10, S01 are the sample (co)variances of V10, V01.
Sun & Xu compute the placements from midranks: ``V10_i = (Tz_i - Tx_i)/n`` and
``V01_j = 1 - (Tz_j - Ty_j)/m`` where Tz, Tx, Ty are midranks in the pooled sample,
among positives and among negatives. ``Tz_i - Tx_i`` is the number of negatives below
X_i plus half the tied ones, so valkit sorts each class once and finds those counts by
binary search: O(N log N) instead of O(mn), with no Python loops.

Direction is fixed: a higher score means more likely positive; nothing is flipped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from valkit.stats.types import Interval, TestResult
from valkit.stats.validation import (
    StatsInputError,
    as_labels,
    as_scores,
    check_confidence_level,
    check_same_length,
    not_estimable,
)


@dataclass(frozen=True)
class Placements:
    """AUC and its placement values (one per positive, one per negative)."""

    auc: float
    v10: np.ndarray  # one per positive case
    v01: np.ndarray  # one per negative case


def placements(y: np.ndarray, s: np.ndarray, *, keep_order: bool = True) -> Placements:
    """Sun & Xu placements for validated int8 labels ``y`` and float scores ``s``.

    ``Tz - Tx`` (pooled midrank minus within-class midrank of a positive) is the number of
    negatives below it plus half the tied ones, so each class is sorted once and the other
    class is located in it by binary search. ``keep_order=True`` returns the placements in
    the original case order within each class (needed to pair modalities or clusters);
    otherwise they come in score order, which is enough for a single variance.
    Requires at least one positive and one negative.
    """
    is_pos = y.astype(bool)
    x, z = s[is_pos], s[~is_pos]
    m, n = len(x), len(z)
    if keep_order:
        ox, oz = np.argsort(x), np.argsort(z)
        xs, zs = x[ox], z[oz]
    else:
        xs, zs = np.sort(x), np.sort(z)
    # twice the psi-sums: 2 * #(neg < x) + #(neg == x) = left + right insertion points
    two_below_x = np.searchsorted(zs, xs, side="left") + np.searchsorted(zs, xs, side="right")
    two_below_z = np.searchsorted(xs, zs, side="left") + np.searchsorted(xs, zs, side="right")
    auc = float(two_below_x.sum(dtype=np.int64)) / (2.0 * m * n)
    v10 = two_below_x / (2.0 * n)
    v01 = 1.0 - two_below_z / (2.0 * m)
    if keep_order:
        v10_orig, v01_orig = np.empty(m), np.empty(n)
        v10_orig[ox], v01_orig[oz] = v10, v01
        v10, v01 = v10_orig, v01_orig
    return Placements(auc, v10, v01)


def _validated(y_true: Any, scores: tuple[Any, ...], pos_label: Any = None) -> tuple[np.ndarray, list[np.ndarray]]:
    y = as_labels(y_true, pos_label=pos_label)
    ss = [as_scores(s, name=f"scores[{k}]" if len(scores) > 1 else "y_score") for k, s in enumerate(scores)]
    check_same_length(y_true=y, **{f"scores_{k}": s for k, s in enumerate(ss)})
    return y, ss


def _class_warning(y: np.ndarray, what: str) -> str | None:
    m = int(y.sum())
    if len(y) == 0:
        return not_estimable("empty", f"{what} is undefined with 0 cases.", stacklevel=4)
    if m == 0:
        return not_estimable("no_positives", f"{what} is undefined: no positive cases.", stacklevel=4)
    if m == len(y):
        return not_estimable("no_negatives", f"{what} is undefined: no negative cases.", stacklevel=4)
    return None


def delong_covariance(y_true: Any, *scores: Any, pos_label: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of one or more scores on the same cases and DeLong's covariance matrix.

    Parameters
    ----------
    y_true : array of {0, 1}
    *scores : arrays
        One score per case for each model/reader (higher = more likely positive).
    pos_label : optional
        The positive class when ``y_true`` is not 0/1 (sklearn's convention).

    Returns
    -------
    aucs : ndarray, shape (k,)
    cov : ndarray, shape (k, k)
        ``S10/m + S01/n`` (DeLong et al. 1988, eq. 4-5); needs m, n >= 2, else nan.

    Examples
    --------
    >>> aucs, cov = delong_covariance([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(float(aucs[0]), 4), round(float(cov[0, 0]), 6)
    (0.8889, 0.024691)
    """
    if not scores:
        raise StatsInputError("delong_covariance: pass at least one score array after y_true.")
    y, ss = _validated(y_true, scores, pos_label)
    k = len(ss)
    w = _class_warning(y, "AUC")
    if w is not None:
        return np.full(k, np.nan), np.full((k, k), np.nan)
    pls = [placements(y, s, keep_order=k > 1) for s in ss]
    aucs = np.array([p.auc for p in pls])
    m, n = len(pls[0].v10), len(pls[0].v01)
    if m < 2 or n < 2:
        not_estimable("too_few_cases", f"DeLong variance needs >= 2 positives and >= 2 negatives (got {m}, {n}).")
        return aucs, np.full((k, k), np.nan)
    v10 = np.stack([p.v10 for p in pls])
    v01 = np.stack([p.v01 for p in pls])
    s10 = np.atleast_2d(np.cov(v10))
    s01 = np.atleast_2d(np.cov(v01))
    return aucs, s10 / m + s01 / n


def _z(cl: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + cl / 2.0))


def delong_test(
    y_true: Any,
    score_a: Any,
    score_b: Any,
    *,
    paired: bool = True,
    y_true_b: Any = None,
    confidence_level: float = 0.95,
    pos_label: Any = None,
) -> TestResult:
    """DeLong's test of equal AUCs; difference is ``AUC(a) - AUC(b)``.

    Paired (the same cases scored twice): ``Z = (A - B) / sqrt(Var A + Var B - 2 Cov)``,
    two-sided normal p-value and Wald interval of the difference (DeLong et al. 1988; as
    pROC ``roc.test(method="delong")``).

    Unpaired (independent samples; pass ``y_true_b`` when b was scored on other cases):
    ``D = (A - B) / sqrt(Var A + Var B)`` referred to a t distribution with
    Welch-Satterthwaite df ``(VA+VB)^2 / (VA^2/(NA-1) + VB^2/(NB-1))`` (pROC 1.18).

    ``pos_label`` names the positive class when the labels are not 0/1 (both samples).

    Examples
    --------
    >>> y = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> r = delong_test(y, [1, 2, 3, 5, 4, 6, 7, 8], [1, 2, 6, 4, 3, 5, 7, 8])
    >>> round(r.difference, 4), round(r.statistic, 4)
    (0.125, 0.866)
    """
    cl = check_confidence_level(confidence_level)
    if paired:
        if y_true_b is not None:
            raise StatsInputError("delong_test: y_true_b only applies to paired=False (independent samples).")
        aucs, cov = delong_covariance(y_true, score_a, score_b, pos_label=pos_label)
        diff = float(aucs[0] - aucs[1])
        var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
        method, df = "delong_paired", None
    else:
        aucs_a, cov_a = delong_covariance(y_true, score_a, pos_label=pos_label)
        aucs_b, cov_b = delong_covariance(y_true if y_true_b is None else y_true_b, score_b, pos_label=pos_label)
        diff = float(aucs_a[0] - aucs_b[0])
        va, vb = float(cov_a[0, 0]), float(cov_b[0, 0])
        var = va + vb
        na = len(np.asarray(y_true))
        nb = len(np.asarray(y_true if y_true_b is None else y_true_b))
        df = var**2 / (va**2 / (na - 1) + vb**2 / (nb - 1)) if var > 0 else math.nan
        method = "delong_unpaired"
    return _wald_test(diff, var, cl=cl, method=method, df=df)


def _wald_test(diff: float, var: float, *, cl: float, method: str, df: float | None = None) -> TestResult:
    from scipy.stats import norm, t

    warns: tuple[str, ...] = ()
    if math.isnan(diff) or math.isnan(var):
        return TestResult(math.nan, math.nan, diff, Interval(math.nan, math.nan, cl, method), method, df)
    if var <= 0:
        if diff == 0:  # identical AUCs and no variability: no evidence of a difference (as pROC)
            return TestResult(0.0, 1.0, 0.0, Interval(0.0, 0.0, cl, method), method, df)
        warns = (not_estimable("zero_variance", "variance of the AUC difference is 0; no test possible."),)
        return TestResult(math.nan, math.nan, diff, Interval(math.nan, math.nan, cl, method), method, df, warns)
    se = math.sqrt(var)
    stat = diff / se
    if df is None:
        p = float(2 * norm.sf(abs(stat)))
        q = float(norm.ppf(0.5 + cl / 2))
    else:
        p = float(2 * t.sf(abs(stat), df))
        q = float(t.ppf(0.5 + cl / 2, df))
    return TestResult(stat, p, diff, Interval(diff - q * se, diff + q * se, cl, method), method, df, warns)
