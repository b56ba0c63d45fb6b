"""Patient-clustered, outcome-stratified bootstrap confidence intervals (percentile and BCa).

Resampling unit: the cluster (patient) when ``cluster`` is given, else the case. With
``strata`` the units are resampled within strata, keeping each stratum's size fixed; a
cluster's stratum is the set of strata values among its cases (with outcome strata:
"negatives only", "positives only", "both"), so every resample has positives and
negatives when the data do.

Fast paths. A resample is a vector of unit multiplicities (how often each patient was
drawn). Named statistics (``"auc"``, ``"average_precision"``, ``"sensitivity"``,
``"specificity"``, ``"ppv"``, ``"npv"``, ``"accuracy"``) are weighted statistics of
precomputed sorted orders (:mod:`valkit.stats.weighted`), evaluated for a chunk of
resamples at once.

* Few distinct scores and no clusters ("tie-compressed"): the data reduce to counts per
  (distinct score, label) cell; resampling cases i.i.d. within strata is exactly a
  multinomial draw of cell counts, so each resample costs O(cells) instead of O(n).

Any other statistic is a Python callable ``f(*arrays) -> float`` evaluated on each
resampled data set (slower, fully general).

References: Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap, ch. 13-14
(percentile, BCa); Davison AC, Hinkley DV (1997) Bootstrap Methods, sec. 3.8 (clustered data).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from valkit.stats.types import Estimate, Interval
from valkit.stats.weighted import (
    _CHUNK_ELEMENTS,
    _PRED_STATS,
    _SCORE_STATS,
    NAMED_STATISTICS,
    _CellCounts,
    _Weighted,
)
from valkit.stats.validation import (
    StatsInputError,
    as_cluster,
    as_labels,
    as_scores,
    check_confidence_level,
    check_same_length,
    look_up_option,
    not_estimable,
)


@dataclass(frozen=True)
class _Group:
    units: np.ndarray          # unit indices in this stratum
    probs: np.ndarray | None   # None: uniform, draws = len(units) (ordinary bootstrap)
    draws: int


class _Plan:
    """How to draw a chunk of resamples as an (r x n_units) multiplicity matrix."""

    def __init__(self, n_units: int, groups: list[_Group]):
        self.n_units = n_units
        self.groups = groups

    def draw(self, rng: np.random.Generator, r: int) -> np.ndarray:
        m = np.zeros((r, self.n_units), dtype=np.int32)
        for g in self.groups:
            k = len(g.units)
            if g.probs is None:
                idx = rng.integers(0, k, size=(r, g.draws), dtype=np.int64)
                idx += (np.arange(r, dtype=np.int64) * k)[:, None]
                counts = np.bincount(idx.ravel(), minlength=r * k).reshape(r, k)
            else:
                counts = rng.multinomial(g.draws, g.probs, size=r)
            m[:, g.units] = counts
        return m


def _unit_strata(unit_of_case: np.ndarray, strata_codes: np.ndarray | None, n_units: int) -> np.ndarray:
    """Stratum of each unit = the set of case strata it contains, as a code."""
    if strata_codes is None:
        return np.zeros(n_units, dtype=np.int64)
    if strata_codes.max(initial=0) > 61:
        raise StatsInputError("strata: at most 62 distinct strata are supported for clustered resampling.")
    mask = np.zeros(n_units, dtype=np.int64)
    np.bitwise_or.at(mask, unit_of_case, np.left_shift(np.int64(1), strata_codes.astype(np.int64)))
    return mask


def _uniform_plan(unit_strata: np.ndarray) -> _Plan:
    groups = [_Group(np.flatnonzero(unit_strata == s), None, int((unit_strata == s).sum()))
              for s in np.unique(unit_strata)]
    return _Plan(len(unit_strata), groups)


# ----------------------------------------------------------------------------- intervals
def _percentile(reps: np.ndarray, theta: float, cl: float, jack: Any) -> tuple[float, float]:
    alpha = 1 - cl
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _bca(reps: np.ndarray, theta: float, cl: float, jack: Callable[[], tuple[np.ndarray, np.ndarray]]
         ) -> tuple[float, float]:
    from scipy.stats import norm

    alpha = 1 - cl
    prop = (np.count_nonzero(reps < theta) + 0.5 * np.count_nonzero(reps == theta)) / len(reps)
    prop = min(max(prop, 0.5 / len(reps)), 1 - 0.5 / len(reps))
    z0 = float(norm.ppf(prop))
    vals, counts = jack()
    ok = np.isfinite(vals)
    vals, counts = vals[ok], counts[ok]
    mean = np.average(vals, weights=counts)
    d = mean - vals
    den = 6.0 * (np.sum(counts * d**2)) ** 1.5
    acc = float(np.sum(counts * d**3) / den) if den > 0 else 0.0
    out = []
    for q in (alpha / 2, 1 - alpha / 2):
        zq = float(norm.ppf(q))
        denom = 1 - acc * (z0 + zq)
        # a degenerate acceleration (denominator <= 0) falls back to the bias-corrected limit
        adj = float(norm.cdf(z0 + (z0 + zq) / denom)) if denom > 0 else float(norm.cdf(2 * z0 + zq))
        out.append(float(np.quantile(reps, min(max(adj, 0.0), 1.0))))
    return out[0], out[1]


_CI_METHODS = {"percentile": _percentile, "bca": _bca}


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def bootstrap_replicates(
    statistic: str | Callable[..., float],
    *data: Any,
    cluster: Any = None,
    strata: Any = None,
    n_resamples: int = 2000,
    seed: Any = None,
) -> tuple[float, np.ndarray, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    """Point value, the bootstrap replicates and a jackknife callable (for BCa).

    See :func:`bootstrap_ci` for the arguments. Replicates may contain ``nan`` (a
    resample where the statistic is undefined).

    >>> theta, reps, _ = bootstrap_replicates("auc", [0, 0, 1, 1], [1, 2, 2, 3], n_resamples=5, seed=1,
    ...                                       strata=[0, 0, 1, 1])
    >>> theta, reps.shape
    (0.875, (5,))
    """
    if not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise StatsInputError(f"n_resamples: expected a positive integer (e.g. 2000), got {n_resamples!r}.")
    if not data:
        raise StatsInputError("bootstrap_ci: pass the data arrays after the statistic, e.g. (y_true, y_score).")
    arrays = [np.asarray(d) for d in data]
    n = check_same_length(**{f"data[{k}]": a for k, a in enumerate(arrays)})
    unit = as_cluster(cluster, n)
    if strata is not None:
        strata_arr = np.asarray(strata)
        check_same_length(data=arrays[0], strata=strata_arr)
        _, strata_codes = np.unique(strata_arr, return_inverse=True)
        strata_codes = strata_codes.reshape(-1)
    else:
        strata_codes = None
    singletons = unit is None or int(unit.max(initial=-1)) + 1 == n
    if unit is None:
        unit = np.arange(n)
    n_units = int(unit.max(initial=-1)) + 1
    rng = _rng(seed)

    stat: _Weighted | None = None
    plan: _Plan | None = None
    if isinstance(statistic, str):
        look_up_option(statistic, dict.fromkeys(NAMED_STATISTICS), what="statistic")
        if len(arrays) != 2:
            raise StatsInputError(f"statistic '{statistic}': expected 2 arrays (y_true, y_score or y_pred), "
                                  f"got {len(arrays)}.")
        y = as_labels(arrays[0])
        if statistic in _SCORE_STATS:
            s = as_scores(arrays[1])
            stat, plan = _maybe_compress(statistic, y, s, strata_codes) if singletons else (None, None)
            if stat is None:
                stat = _SCORE_STATS[statistic](y, s, unit, n_units)
        else:
            stat = _PRED_STATS[statistic](y, as_labels(arrays[1], name="y_pred"), unit, n_units)
        if plan is None:
            plan = _uniform_plan(_unit_strata(unit, strata_codes, n_units))
        theta = stat.value()
        reps = np.empty(n_resamples)
        for start, m in multiplicity_chunks(plan, rng, n_resamples, n):
            reps[start:start + len(m)] = stat.batch(m)
        return theta, reps, stat.jackknife

    if not callable(statistic):
        raise StatsInputError(f"statistic: expected a name ({', '.join(NAMED_STATISTICS)}) or a callable, "
                              f"got {statistic!r}.")
    return _callable_replicates(statistic, arrays, unit, n_units, strata_codes, n_resamples, rng)


def multiplicity_chunks(plan: _Plan, rng: np.random.Generator, n_resamples: int, n_cases: int):
    """Yield ``(first_resample_index, multiplicity matrix)`` chunks; the chunk size depends on n only."""
    step = max(1, min(n_resamples, _CHUNK_ELEMENTS // max(n_cases, 1)))
    for start in range(0, n_resamples, step):
        yield start, plan.draw(rng, min(step, n_resamples - start))


def _maybe_compress(kind: str, y: np.ndarray, s: np.ndarray, strata_codes: np.ndarray | None
                    ) -> tuple[_Weighted | None, _Plan | None]:
    """Tie-compressed statistic and multinomial plan when cells are few compared with cases."""
    values, group = np.unique(s, return_inverse=True)
    group = group.reshape(-1)
    strata = np.zeros(len(y), dtype=np.int64) if strata_codes is None else strata_codes
    key = (strata * len(values) + group) * 2 + y
    cells, cell_of_case, counts = np.unique(key, return_inverse=True, return_counts=True)
    if len(cells) * 20 > len(y) or len(cells) > 20_000:
        return None, None
    cell_pos = (cells % 2).astype(bool)
    cell_group = (cells // 2) % len(values)
    cell_stratum = cells // 2 // len(values)
    groups = []
    for st in np.unique(cell_stratum):
        units = np.flatnonzero(cell_stratum == st)
        total = int(counts[units].sum())
        groups.append(_Group(units, counts[units] / total, total))
    return _CellCounts(kind, cell_group, cell_pos, len(values), counts), _Plan(len(cells), groups)


def _callable_replicates(f: Callable[..., float], arrays: list[np.ndarray], unit: np.ndarray, n_units: int,
                         strata_codes: np.ndarray | None, n_resamples: int, rng: np.random.Generator
                         ) -> tuple[float, np.ndarray, Callable[[], tuple[np.ndarray, np.ndarray]]]:
    order = np.argsort(unit, kind="stable")
    sizes = np.bincount(unit, minlength=n_units)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    plan = _uniform_plan(_unit_strata(unit, strata_codes, n_units))

    def expand(mult: np.ndarray) -> np.ndarray:
        chosen = np.repeat(np.arange(n_units), mult)
        lengths = sizes[chosen]
        offsets = np.repeat(starts[chosen] - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        return order[np.arange(lengths.sum()) + offsets]

    theta = float(f(*arrays))
    reps = np.empty(n_resamples)
    for start, m in multiplicity_chunks(plan, rng, n_resamples, len(unit)):
        for k, row in enumerate(m):
            idx = expand(row)
            reps[start + k] = float(f(*(a[idx] for a in arrays)))

    def jack() -> tuple[np.ndarray, np.ndarray]:
        vals = np.empty(n_units)
        for c in range(n_units):
            keep = unit != c
            vals[c] = float(f(*(a[keep] for a in arrays)))
        return vals, np.ones(n_units)

    return theta, reps, jack


def bootstrap_ci(
    statistic: str | Callable[..., float],
    *data: Any,
    cluster: Any = None,
    strata: Any = None,
    n_resamples: int = 2000,
    confidence_level: float = 0.95,
    method: str = "percentile",
    seed: Any = None,
) -> Estimate:
    """Bootstrap confidence interval, resampling patients (``cluster``) within ``strata``.

    Parameters
    ----------
    statistic : str or callable
        A name from ``NAMED_STATISTICS`` (fast, vectorised; data = ``(y_true, y_score)`` for
        ``auc``/``average_precision``, ``(y_true, y_pred)`` for the proportions) or any
        callable ``f(*data) -> float``.
    *data : arrays of equal length (one entry per case)
    cluster : array, optional
        Patient id per case; whole patients are resampled (Davison & Hinkley 1997, 3.8).
    strata : array, optional
        Stratum per case, usually ``y_true`` (outcome-stratified: keeps the numbers of
        positive and negative patients fixed).
    n_resamples : int
    confidence_level : float
    method : {"percentile", "bca"}
        BCa uses the leave-one-patient-out jackknife for the acceleration.
    seed : int or numpy Generator
        Record it: the same seed and data give the same interval.

    Returns
    -------
    Estimate
        ``method`` is ``bootstrap_<method>``, or ``cluster_bootstrap_<method>`` when some
        patient has several cases; resamples
        where the statistic is undefined are dropped with a ``undefined_resamples`` warning.

    Examples
    --------
    >>> y = [0, 0, 0, 1, 1, 1, 0, 1]
    >>> s = [0.1, 0.3, 0.5, 0.4, 0.8, 0.9, 0.2, 0.7]
    >>> est = bootstrap_ci("auc", y, s, strata=y, n_resamples=200, seed=7)
    >>> round(est.value, 4), est.method, est.interval.low <= est.value <= est.interval.high
    (0.9375, 'bootstrap_percentile', True)
    """
    ci_fn = look_up_option(method, _CI_METHODS, what="method")
    cl = check_confidence_level(confidence_level)
    theta, reps, jack = bootstrap_replicates(statistic, *data, cluster=cluster, strata=strata,
                                             n_resamples=n_resamples, seed=seed)
    n = len(np.asarray(data[0]))
    from valkit.stats.clustered import has_clusters

    label = ("cluster_" if has_clusters(cluster) else "") + f"bootstrap_{method}"
    name = statistic if isinstance(statistic, str) else getattr(statistic, "__name__", "statistic")
    warns: list[str] = []
    if not math.isfinite(theta):
        warns.append(not_estimable("not_estimable", f"{name} is undefined on the full data; no bootstrap."))
        return Estimate(math.nan, Interval(math.nan, math.nan, cl, label), n, None, None, label, tuple(warns))
    finite = reps[np.isfinite(reps)]
    if len(finite) < len(reps):
        warns.append(not_estimable(
            "undefined_resamples",
            f"{len(reps) - len(finite)} of {len(reps)} resamples left {name} undefined and were dropped; "
            "stratify by outcome (strata=y_true) to avoid this."))
    if len(finite) < 2:
        warns.append(not_estimable("too_few_resamples", f"fewer than 2 usable resamples for {name}."))
        return Estimate(theta, Interval(math.nan, math.nan, cl, label), n, None, None, label, tuple(warns))
    lo, hi = ci_fn(finite, theta, cl, jack)
    return Estimate(theta, Interval(lo, hi, cl, label), n, None, None, label, tuple(warns))
