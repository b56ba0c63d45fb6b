"""Calibration of predicted probabilities: reliability curve, logistic recalibration, ECE, Hosmer-Lemeshow.

* Reliability curve: cases binned by predicted probability (``uniform`` width or
  ``quantile`` bins); per bin the mean prediction, the observed fraction of positives and
  its Wilson interval. Empty bins are dropped.
* Calibration-in-the-large: intercept ``a`` of ``logit P(y=1) = a + logit(p)`` (the
  prediction as an offset); 0 is ideal, ``a > 0`` means risks are underestimated.
* Calibration slope: ``b`` of ``logit P(y=1) = a + b logit(p)``; 1 is ideal, ``b < 1``
  means predictions are too extreme (overfitting). Both by maximum likelihood (Newton),
  Wald intervals (Cox 1958; Steyerberg 2019, ch. 15).
* Expected calibration error: ``sum_b (n_b/N) |mean(y)_b - mean(p)_b|`` over equal-width
  bins (Naeini et al. 2015).
* Hosmer-Lemeshow: groups at the deciles of predicted risk (as R ResourceSelection's
  ``hoslem.test``); ``H = sum_g (O1-E1)^2/E1 + (O0-E0)^2/E0`` against chi-square with
  g - 2 df (Hosmer & Lemeshow 1980).

Probabilities of exactly 0 or 1 are clipped to [1e-12, 1 - 1e-12] before taking logits.
Every function takes ``pos_label`` (the positive class when ``y_true`` is not 0/1; sklearn's
convention) and ``y_prob`` is the probability of that class.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from valkit.stats.intervals import proportion_interval
from valkit.stats.types import Estimate, Interval, TestResult, _clean
from valkit.stats.validation import (
    StatsInputError,
    as_labels,
    as_scores,
    check_confidence_level,
    check_same_length,
    look_up_option,
    not_estimable,
)

_EPS = 1e-12


def _labels_probs(y_true: Any, y_prob: Any, pos_label: Any = None) -> tuple[np.ndarray, np.ndarray]:
    y = as_labels(y_true, pos_label=pos_label)
    p = as_scores(y_prob, name="y_prob")
    check_same_length(y_true=y, y_prob=p)
    if p.size and (p.min() < 0 or p.max() > 1):
        raise StatsInputError(
            f"y_prob: calibration needs probabilities in [0, 1], found values in [{p.min():g}, {p.max():g}]. "
            "Pass the model's probability output, not a logit or a rank."
        )
    return y, p


def _bins(p: np.ndarray, n_bins: int, strategy: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise StatsInputError(f"n_bins: expected a positive integer, got {n_bins!r}.")
    look_up_option(strategy, {"uniform": 1, "quantile": 1}, what="strategy")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
        edges[0], edges[-1] = min(edges[0], 0.0), max(edges[-1], 1.0)
    # bins are (e_k, e_{k+1}], the first one closed on the left
    idx = np.clip(np.searchsorted(edges, p, side="left") - 1, 0, len(edges) - 2)
    return edges, idx


@dataclass(frozen=True)
class CalibrationCurve:
    """Reliability diagram data, one entry per non-empty bin."""

    bin_edges: np.ndarray
    mean_predicted: np.ndarray
    observed: np.ndarray
    observed_low: np.ndarray
    observed_high: np.ndarray
    counts: np.ndarray
    strategy: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (_clean(v.tolist()) if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()}


def calibration_curve(
    y_true: Any, y_prob: Any, *, n_bins: int = 10, strategy: str = "uniform", ci: str = "wilson",
    confidence_level: float = 0.95, pos_label: Any = None,
) -> CalibrationCurve:
    """Reliability curve with a binomial interval for each bin's observed fraction.

    >>> c = calibration_curve([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    >>> c.mean_predicted.tolist(), c.observed.tolist(), c.counts.tolist()
    ([0.15000000000000002, 0.8], [0.0, 1.0], [2, 2])
    """
    cl = check_confidence_level(confidence_level)
    y, p = _labels_probs(y_true, y_prob, pos_label)
    edges, idx = _bins(p, n_bins, strategy)
    k = len(edges) - 1
    counts = np.bincount(idx, minlength=k)
    pos = np.bincount(idx, weights=y, minlength=k)
    sum_p = np.bincount(idx, weights=p, minlength=k)
    keep = counts > 0
    ivs = [proportion_interval(int(x), int(c), ci=ci, confidence_level=cl)
           for x, c in zip(pos[keep], counts[keep])]
    return CalibrationCurve(
        edges, sum_p[keep] / counts[keep], pos[keep] / counts[keep],
        np.array([iv.low for iv in ivs]), np.array([iv.high for iv in ivs]), counts[keep], strategy,
    )


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.log(q) - np.log1p(-q)


def _logistic_fit(y: np.ndarray, x: np.ndarray | None, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """ML fit of logit P = b0 [+ b1 x] + offset by Newton-Raphson; None if it does not converge."""
    design = np.ones((len(y), 1)) if x is None else np.column_stack([np.ones(len(y)), x])
    beta = np.zeros(design.shape[1])
    for _ in range(100):
        eta = design @ beta + offset
        mu = special.expit(eta)  # no overflow however large |eta| grows
        w = mu * (1 - mu)
        info = design.T @ (design * w[:, None])
        grad = design.T @ (y - mu)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.abs(beta).max() > 1e6:
            return None
        if np.abs(step).max() < 1e-10:
            eta = design @ beta + offset
            mu = special.expit(eta)  # no overflow however large |eta| grows
            info = design.T @ (design * (mu * (1 - mu))[:, None])
            try:
                return beta, np.linalg.inv(info)
            except np.linalg.LinAlgError:
                return None
    return None


def _calibration_fit(y_true: Any, y_prob: Any, slope: bool, cl: float, pos_label: Any = None) -> Estimate:
    y, p = _labels_probs(y_true, y_prob, pos_label)
    n = len(y)
    method = "logistic_recalibration_slope" if slope else "logistic_offset_intercept"
    nan = Estimate(math.nan, Interval(math.nan, math.nan, cl, "wald"), n, None, None, method)
    m = int(y.sum())
    if n == 0 or m == 0 or m == n:
        code = "empty" if n == 0 else ("no_positives" if m == 0 else "no_negatives")
        w = not_estimable(code, "calibration needs both outcomes in the data.", stacklevel=4)
        return Estimate(nan.value, nan.interval, n, None, None, method, (w,))
    lp = _logit(p)
    if slope and np.ptp(lp) == 0:
        w = not_estimable("constant_predictions", "calibration slope is undefined when every prediction is equal.",
                          stacklevel=4)
        return Estimate(nan.value, nan.interval, n, None, None, method, (w,))
    fit = _logistic_fit(y.astype(float), lp if slope else None, np.zeros(n) if slope else lp)
    if fit is None:
        w = not_estimable("separation", "the recalibration model did not converge (outcomes perfectly separated "
                          "by the prediction).", stacklevel=4)
        return Estimate(nan.value, nan.interval, n, None, None, method, (w,))
    beta, cov = fit
    from scipy.stats import norm

    j = 1 if slope else 0
    est, se = float(beta[j]), math.sqrt(float(cov[j, j]))
    z = float(norm.ppf(0.5 + cl / 2))
    return Estimate(est, Interval(est - z * se, est + z * se, cl, "wald"), n, None, None, method)


def calibration_in_the_large(y_true: Any, y_prob: Any, *, confidence_level: float = 0.95,
                             pos_label: Any = None) -> Estimate:
    """Intercept of logistic recalibration with logit(p) as offset (ideal 0).

    >>> y = [0, 0, 1, 0, 1, 1, 0, 1, 0, 0]
    >>> p = [0.1, 0.2, 0.5, 0.2, 0.6, 0.3, 0.4, 0.7, 0.2, 0.1]
    >>> round(calibration_in_the_large(y, p).value, 4)
    0.372
    """
    return _calibration_fit(y_true, y_prob, False, check_confidence_level(confidence_level), pos_label)


def calibration_slope(y_true: Any, y_prob: Any, *, confidence_level: float = 0.95, pos_label: Any = None) -> Estimate:
    """Slope of logistic recalibration on logit(p) (ideal 1).

    >>> y = [0, 0, 1, 0, 1, 1, 0, 1, 0, 0]
    >>> p = [0.1, 0.2, 0.5, 0.2, 0.6, 0.3, 0.4, 0.7, 0.2, 0.1]
    >>> round(calibration_slope(y, p).value, 4)
    3.3001
    """
    return _calibration_fit(y_true, y_prob, True, check_confidence_level(confidence_level), pos_label)


def expected_calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 10, strategy: str = "uniform",
                               pos_label: Any = None) -> Estimate:
    """Expected calibration error over ``n_bins`` bins (no interval; bootstrap it if needed).

    >>> expected_calibration_error([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2).value
    0.175
    """
    y, p = _labels_probs(y_true, y_prob, pos_label)
    n = len(y)
    if n == 0:
        w = not_estimable("empty", "ECE is undefined with 0 cases.")
        return Estimate(math.nan, None, 0, None, None, "ece", (w,))
    edges, idx = _bins(p, n_bins, strategy)
    k = len(edges) - 1
    gap = np.abs(np.bincount(idx, weights=y, minlength=k) - np.bincount(idx, weights=p, minlength=k))
    return Estimate(float(gap.sum() / n), None, n, None, None, f"ece_{strategy}_{n_bins}")


def hosmer_lemeshow(y_true: Any, y_prob: Any, *, n_groups: int = 10, pos_label: Any = None) -> TestResult:
    """Hosmer-Lemeshow goodness-of-fit test over groups at quantiles of predicted risk.

    >>> y = [0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1]
    >>> p = [0.1, 0.3, 0.6, 0.2, 0.7, 0.4, 0.5, 0.8, 0.3, 0.1, 0.9, 0.6]
    >>> r = hosmer_lemeshow(y, p, n_groups=4)
    >>> round(r.statistic, 4), r.df
    (1.3337, 2.0)
    """
    from scipy.stats import chi2

    y, p = _labels_probs(y_true, y_prob, pos_label)
    if not isinstance(n_groups, (int, np.integer)) or n_groups < 3:
        raise StatsInputError(f"n_groups: expected an integer >= 3 (usually 10), got {n_groups!r}.")
    breaks = np.unique(np.quantile(p, np.linspace(0, 1, n_groups + 1))) if len(p) else np.zeros(1)
    method = "hosmer_lemeshow"
    if len(breaks) < 4:
        w = not_estimable("too_few_groups", "Hosmer-Lemeshow needs at least 3 distinct risk groups.")
        return TestResult(math.nan, math.nan, None, None, method, None, (w,))
    g_idx = np.clip(np.searchsorted(breaks, p, side="left") - 1, 0, len(breaks) - 2)
    k = len(breaks) - 1
    obs1 = np.bincount(g_idx, weights=y, minlength=k)
    cnt = np.bincount(g_idx, minlength=k).astype(float)
    exp1 = np.bincount(g_idx, weights=p, minlength=k)
    keep = cnt > 0
    obs1, cnt, exp1 = obs1[keep], cnt[keep], exp1[keep]
    exp0, obs0 = cnt - exp1, cnt - obs1
    if np.any(exp1 <= 0) or np.any(exp0 <= 0):
        w = not_estimable("zero_expected", "a risk group has 0 expected events or non-events.")
        return TestResult(math.nan, math.nan, None, None, method, None, (w,))
    stat = float(np.sum((obs1 - exp1) ** 2 / exp1 + (obs0 - exp0) ** 2 / exp0))
    df = float(len(cnt) - 2)
    return TestResult(stat, float(chi2.sf(stat, df)), None, None, method, df)
