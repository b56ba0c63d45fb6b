"""Fairness gaps between groups: every pair's signed difference or ratio, with bootstrap intervals.

A gap is judged pair by pair. For each pair of compared groups the two are put in order once, on
the observed data (``higher`` = the group with the higher observed rate), and the same order is
kept in every bootstrap resample: the difference is ``rate[higher] - rate[lower]`` and the ratio
``rate[lower] / rate[higher]``. These are smooth functions of the two groups' rates, so their
percentile intervals behave like any other two-sample contrast: with equal true rates the
difference's interval contains 0 (the ratio's contains 1) about as often as its level says.

Why not the interval of ``max - min`` over groups (fairlearn's "between_groups" gap, which
valkit used before)? ``max - min`` (and ``|difference|``) is bounded below by 0 and biased away
from 0: with equal true rates the largest of noisy rates minus the smallest is still positive, so
its percentile interval lies above 0 in (nearly) every resample set and can never contain the
truth 0. The point estimate of the family's headline gap is still fairlearn's (the largest observed
pair is exactly ``max - min``); only its interval changes, to that pair's signed interval.

Multiplicity. A family of ``k`` groups has ``k(k-1)/2`` pairs per rate (twice that for equalized
odds, which looks at the TPR and FPR pairs together). A claim that *some* pair exceeds a limit is
a union over the pairs and needs multiplicity control: each pair also carries a Bonferroni interval
at level ``1 - alpha/m``. A claim that *every* pair is within a limit is an intersection-union test
(Berger 1982): each pair is tested at level ``alpha`` and no adjustment is needed.

References: Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap, ch. 13 (percentile
interval; transformation-respecting, so a ratio's percentile interval is the same on the log
scale); Berger RL (1982) Multiparameter hypothesis testing and acceptance sampling. Technometrics
24:295-300 (intersection-union tests); Hardt M, Price E, Srebro N (2016) Equality of opportunity in
supervised learning (equalized odds); fairlearn ``MetricFrame.difference()``/``ratio()``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valkit.stats.fairness import percentile_interval, rates
from valkit.stats.types import Interval, _clean
from valkit.stats.validation import check_confidence_level, look_up_option

# metric -> (rate names, kind)
DISPARITY_METRICS: dict[str, tuple[tuple[str, ...], str]] = {
    "tpr_difference": (("tpr",), "difference"),
    "tpr_ratio": (("tpr",), "ratio"),
    "fpr_difference": (("fpr",), "difference"),
    "fpr_ratio": (("fpr",), "ratio"),
    "equalized_odds_difference": (("tpr", "fpr"), "difference"),
    "equalized_odds_ratio": (("tpr", "fpr"), "ratio"),
    "demographic_parity_difference": (("selection_rate",), "difference"),
    "demographic_parity_ratio": (("selection_rate",), "ratio"),
}


@dataclass(frozen=True)
class PairGap:
    """One pair's gap on one rate, oriented by the observed data.

    ``value`` = ``rate[higher] - rate[lower]`` (difference, >= 0 as observed) or
    ``rate[lower] / rate[higher]`` (ratio, <= 1 as observed); the orientation is kept in every
    resample, so ``interval`` (at the requested level) may contain 0 (or 1) and go beyond it.
    ``adjusted_interval`` is the Bonferroni interval at ``1 - alpha/m`` over the family's ``m``
    pairwise comparisons for the metric.
    """

    rate: str
    higher: int
    lower: int
    value: float
    interval: Interval
    adjusted_interval: Interval
    n_resamples_used: int
    warnings: tuple[str, ...] = ()
    #: the pair's groups whose rate is 0 or 1: {"rate", "value", "group"}
    boundary: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = _clean({k: getattr(self, k) for k in self.__dataclass_fields__})
        d["interval"] = self.interval.to_dict()
        d["adjusted_interval"] = self.adjusted_interval.to_dict()
        return d


@dataclass(frozen=True)
class Disparity:
    """A family's gap on a metric: every pair, and the headline (the observed largest pair).

    ``value``, ``interval``, ``highest``, ``lowest`` and ``rate`` describe the headline pair (for
    equalized odds, ``rate`` says whether TPR or FPR gives it); ``value`` equals fairlearn's
    ``between_groups`` gap (``max - min`` or ``min / max``). ``n_comparisons`` is Bonferroni's m and
    ``adjusted_confidence_level`` = ``1 - (1 - confidence_level) / m``.
    """

    metric: str
    value: float
    interval: Interval
    highest: int | None
    lowest: int | None
    groups: tuple[int, ...]
    n_resamples_used: int
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: compared groups whose rate is 0 or 1: {"rate", "value", "group" (label, or cell index)}
    boundary: tuple[dict[str, Any], ...] = ()
    rate: str | None = None
    pairs: tuple[PairGap, ...] = ()
    n_comparisons: int = 0
    adjusted_confidence_level: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = _clean({k: getattr(self, k) for k in self.__dataclass_fields__ if k != "pairs"})
        d["interval"] = self.interval.to_dict()
        d["pairs"] = [p.to_dict() for p in self.pairs]
        return d


def _oriented(r: np.ndarray, i: int, j: int) -> tuple[int, int]:
    """(higher, lower) by the observed rates; a tie keeps the groups' order."""
    return (j, i) if r[j] > r[i] else (i, j)


def _contrast(hi: np.ndarray, lo: np.ndarray, kind: str) -> np.ndarray:
    if kind == "difference":
        return hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi > 0, lo / np.where(hi > 0, hi, 1), np.nan)


def _is_worse(a: float, b: float, kind: str) -> bool:
    return a > b if kind == "difference" else a < b


def disparity(counts: np.ndarray, replicates: np.ndarray | None, metric: str, *, groups: Any = None,
              confidence_level: float = 0.95, labels: Any = None) -> Disparity:
    """Pairwise gaps between ``groups`` (cell indices) with bootstrap percentile intervals.

    Parameters
    ----------
    counts : (cells, 4) TP, FP, FN, TN per cell
    replicates : (B, cells, 4) bootstrap replicates of ``counts``
        (:func:`valkit.stats.fairness.bootstrap_cell_counts`), or None for point estimates only.
    metric : one of :data:`DISPARITY_METRICS`
    groups : cell indices to compare (default: all)
    confidence_level : level of each pair's unadjusted interval
    labels : one name per cell, used in warnings

    Returns
    -------
    Disparity
        ``pairs`` holds every pair (for equalized odds: every pair on TPR, then on FPR); the
        headline is the observed largest difference (smallest ratio). A pair involving a group
        whose rate is undefined is not estimable, and so is the headline (a gap is never taken
        over fewer groups than asked). Resamples in which a pair is undefined are dropped and
        counted. A group at rate 0 or 1 is resampled as exactly that, so a pair involving it has
        too narrow an interval (``boundary`` warning) and no interval at all when it has no spread.

    Examples
    --------
    >>> counts = np.array([[40, 5, 10, 45], [30, 10, 20, 40]])
    >>> d = disparity(counts, None, "tpr_difference")
    >>> round(d.value, 3), d.highest, d.lowest, d.n_comparisons
    (0.2, 0, 1, 1)
    >>> eo = disparity(counts, None, "equalized_odds_difference")
    >>> round(eo.value, 3), eo.rate, len(eo.pairs)
    (0.2, 'tpr', 2)
    """
    names, kind = look_up_option(metric, DISPARITY_METRICS, what="metric")
    cl = check_confidence_level(confidence_level)
    counts = np.asarray(counts)
    g = np.arange(counts.shape[0]) if groups is None else np.asarray(groups, dtype=np.int64).reshape(-1)
    g_t = tuple(int(x) for x in g)
    method = "bootstrap_percentile" if replicates is not None else "none"
    none = Interval(math.nan, math.nan, cl, method)
    if len(g) < 2:
        return Disparity(metric, math.nan, none, None, None, g_t, 0,
                         ("fewer_than_two_groups: a gap needs at least two groups with sufficient evidence.",))
    index = [(i, j) for i in range(len(g)) for j in range(i + 1, len(g))]
    m = len(index) * len(names)
    adj_cl = 1 - (1 - cl) / m
    name = (lambda c: str(labels[c])) if labels is not None else (lambda c: f"group {c}")
    point = rates(counts[g])
    boot = rates(np.asarray(replicates)[:, g, :]) if replicates is not None else None
    n_reps = 0 if replicates is None else int(np.asarray(replicates).shape[0])
    pairs: list[PairGap] = []
    for nm in names:
        r = point[nm]
        orient = [_oriented(r, i, j) for i, j in index]
        hi_idx, lo_idx = np.array([o[0] for o in orient]), np.array([o[1] for o in orient])
        values = _contrast(r[hi_idx], r[lo_idx], kind)
        if boot is not None:
            reps = _contrast(boot[nm][:, hi_idx], boot[nm][:, lo_idx], kind)
            lo, hi, used = percentile_interval(reps, confidence_level=cl)
            alo, ahi, _ = percentile_interval(reps, confidence_level=adj_cl)
        else:
            lo = hi = alo = ahi = np.full(len(index), np.nan)
            used = np.zeros(len(index), dtype=np.int64)
        for p, (a, b) in enumerate(orient):
            pairs.append(_pair(nm, int(g[a]), int(g[b]), float(values[p]), (float(lo[p]), float(hi[p])),
                               (float(alo[p]), float(ahi[p])), int(used[p]), n_reps,
                               (r[a], r[b]), cl, adj_cl, method, name))
    warns: list[str] = []
    estimable = [p for p in pairs if math.isfinite(p.value)]
    if len(estimable) < len(pairs):
        warns.append(f"not_estimable: {metric} is undefined (a group has no cases for one of its rates).")
        head = None
    else:
        head = pairs[0]
        for p in pairs[1:]:
            if _is_worse(p.value, head.value, kind):
                head = p
    at_bound = tuple({"rate": nm, "value": float(point[nm][j]), "group": name(int(gi))} for nm in names
                     for j, gi in enumerate(g) if point[nm][j] in (0.0, 1.0))
    if head is None:
        return Disparity(metric, math.nan, none, None, None, g_t, 0, tuple(warns), at_bound, None,
                         tuple(pairs), m, adj_cl)
    return Disparity(metric, head.value, head.interval, head.higher, head.lower, g_t, head.n_resamples_used,
                     tuple(warns) + head.warnings, at_bound, head.rate, tuple(pairs), m, adj_cl)


def _pair(nm: str, a: int, b: int, value: float, iv: tuple[float, float], adj: tuple[float, float],
          used: int, n_reps: int, r_ab: tuple[float, float], cl: float, adj_cl: float, method: str,
          name: Any) -> PairGap:
    """One oriented pair with its warnings (undefined resamples, rates at 0 or 1, no spread)."""
    warns: list[str] = []
    label = f"{nm} {name(a)} vs {name(b)}"
    if not math.isfinite(value):
        warns.append(f"not_estimable: {label} is undefined (a group has no cases for this rate).")
    elif used < n_reps:
        warns.append(f"undefined_resamples: {n_reps - used} of {n_reps} resamples left {label} undefined "
                     "and were dropped.")
    bound = tuple({"rate": nm, "value": float(x), "group": name(c)} for c, x in ((a, r_ab[0]), (b, r_ab[1]))
                  if x in (0.0, 1.0))
    low, high = iv if math.isfinite(value) else (math.nan, math.nan)
    alow, ahigh = adj if math.isfinite(value) else (math.nan, math.nan)
    if bound and math.isfinite(value):
        listed = ", ".join(f"{x['rate']} = {x['value']:g} in {x['group']}" for x in bound)
        warns.append(f"boundary: {listed}; the bootstrap cannot show that group's uncertainty, "
                     "so the interval is too narrow" + ("; no interval is given" if low == high else "") + ".")
        if low == high:  # no spread at all: a [v, v] interval would claim certainty
            low = high = alow = ahigh = math.nan
    return PairGap(nm, a, b, value, Interval(low, high, cl, method), Interval(alow, ahigh, adj_cl, method),
                   used, tuple(warns), bound)


__all__ = ["DISPARITY_METRICS", "Disparity", "PairGap", "disparity"]
