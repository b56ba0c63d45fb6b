"""Statistics of timing samples: percentiles with confidence intervals, histogram, knee.

Pure functions (numpy and scipy only; no torch, no I/O), so they can be reviewed and
reference-tested like :mod:`valkit.stats`, whose :class:`~valkit.stats.types.Estimate`
they return.

Percentile definition
    The p-th percentile is the **nearest-rank** order statistic ``X_(k)`` with
    ``k = ceil(p/100 * n)`` (Hyndman & Fan 1996, definition 1; MLPerf LoadGen reports
    the same kind of value): always a latency that was actually observed, never an
    interpolation between two.

Confidence interval of a percentile
    ``order_statistic`` (default, distribution-free): the number ``B`` of samples below
    the true p-quantile is Binomial(n, p), so ``P(X_(r) <= xi_p < X_(s)) = F(s-1) - F(r-1)``
    with ``F`` the Binomial(n, p) CDF. ``r`` is the largest rank with ``F(r-1) <= alpha/2``
    and ``s`` the smallest with ``F(s-1) >= 1 - alpha/2``; each tail holds at most
    ``alpha/2``, so coverage is at least the confidence level (Conover 1999, *Practical
    Nonparametric Statistics*, 3rd ed., §3.2; Hahn & Meeker 1991, *Statistical Intervals*,
    §5.2). When ``n`` is too small for a bound (p99 needs ``n >= 367`` for an upper 97.5 %
    bound) that bound is NaN and the estimate says why. ``bootstrap``: percentile
    bootstrap of the same nearest-rank statistic (Efron & Tibshirani 1993, ch. 13).

Assumption: samples are independent draws from one stationary distribution. Warm-up must
be excluded before calling (the harness does this), and a machine shared with other jobs
breaks stationarity; the environment record says how loaded the machine was.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from valkit.stats.types import Estimate, Interval
from valkit.suggest import did_you_mean

CI_METHODS = ("order_statistic", "bootstrap")
DEFAULT_PERCENTILES = (50, 90, 95, 99)


def nearest_rank(samples: Any, p: float) -> float:
    """The nearest-rank p-th percentile (0 < p <= 100) of ``samples``.

    Examples
    --------
    >>> nearest_rank([15, 20, 35, 40, 50], 30)
    20.0
    >>> nearest_rank([15, 20, 35, 40, 50], 100)
    50.0
    """
    x = np.sort(np.asarray(samples, dtype=float))
    if x.size == 0:
        return math.nan
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], found {p}")
    k = max(1, math.ceil(p / 100.0 * x.size - 1e-9))  # 1e-9: 0.95*100 is 95.00000000000001 in floats
    return float(x[k - 1])


def order_statistic_ranks(n: int, p: float, confidence_level: float = 0.95) -> tuple[int | None, int | None]:
    """1-based ranks ``(r, s)`` of the distribution-free interval ``[X_(r), X_(s)]`` for the p-th percentile.

    ``None`` for a bound that ``n`` samples cannot give at this level.

    Examples
    --------
    The median of 10 samples: ``[X_(2), X_(9)]``, coverage 97.9 % (Conover 1999, Table A3).

    >>> order_statistic_ranks(10, 50)
    (2, 9)
    >>> order_statistic_ranks(100, 99)
    (97, None)
    """
    from scipy.stats import binom

    if n < 1:
        return None, None
    q = p / 100.0
    alpha = 1.0 - confidence_level
    cdf = binom.cdf(np.arange(n + 1), n, q)  # cdf[k] = P(B <= k)
    low_ok = np.nonzero(cdf[:n] <= alpha / 2 + 1e-12)[0]  # candidates k = r - 1 in 0..n-1
    high_ok = np.nonzero(cdf[:n] >= 1 - alpha / 2 - 1e-12)[0]  # candidates k = s - 1 in 0..n-1
    r = int(low_ok[-1]) + 1 if low_ok.size else None
    s = int(high_ok[0]) + 1 if high_ok.size else None
    return r, s


def min_samples_for_upper_bound(p: float, confidence_level: float = 0.95) -> int:
    """Fewest samples for which the p-th percentile has an order-statistic upper bound.

    >>> min_samples_for_upper_bound(99)
    368
    >>> min_samples_for_upper_bound(95)
    72
    """
    alpha = 1.0 - confidence_level
    # an upper bound exists when P(all n samples below the quantile) = q**n <= alpha/2
    return int(math.floor(math.log(alpha / 2) / math.log(p / 100.0))) + 1


def percentile_estimate(samples: Any, p: float, *, confidence_level: float = 0.95, ci: str = "order_statistic",
                        resamples: int = 2000, seed: int | None = None) -> Estimate:
    """The nearest-rank p-th percentile with its confidence interval, as an :class:`Estimate`.

    Examples
    --------
    >>> est = percentile_estimate(list(range(1, 101)), 50)
    >>> est.value, est.interval.low, est.interval.high
    (50.0, 40.0, 61.0)
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = int(x.size)
    method = _lookup(ci)
    value = nearest_rank(x, p) if n else math.nan
    warnings: list[str] = []
    if n == 0:
        return Estimate(math.nan, None, 0, method=method, warnings=("no samples",))
    if method == "order_statistic":
        r, s = order_statistic_ranks(n, p, confidence_level)
        low = float(x[r - 1]) if r is not None else math.nan
        high = float(x[s - 1]) if s is not None else math.nan
        if r is None:
            warnings.append(f"no lower bound for p{p:g} from {n} samples")
        if s is None:
            warnings.append(f"no upper bound for p{p:g} from {n} samples; needs at least "
                            f"{min_samples_for_upper_bound(p, confidence_level)}")
    else:
        rng = np.random.default_rng(seed)
        k = max(1, math.ceil(p / 100.0 * n - 1e-9)) - 1
        reps = np.empty(resamples)
        chunk = max(1, 4_000_000 // n)  # bound memory: at most ~32 MB of indices at a time
        for start in range(0, resamples, chunk):
            m = min(chunk, resamples - start)
            draws = x[rng.integers(0, n, size=(m, n))]
            reps[start:start + m] = np.partition(draws, k, axis=1)[:, k]
        alpha = 1.0 - confidence_level
        low, high = (float(v) for v in np.quantile(reps, [alpha / 2, 1 - alpha / 2]))
    return Estimate(value, Interval(low, high, confidence_level, method), n, method=method,
                    warnings=tuple(warnings))


def _lookup(ci: str) -> str:
    if ci not in CI_METHODS:
        hint = did_you_mean(ci, CI_METHODS, cutoff=0.5)
        raise ValueError(f"unknown percentile CI method '{ci}'.{hint} Valid: {', '.join(CI_METHODS)}.")
    return ci


def mean_estimate(samples: Any, *, confidence_level: float = 0.95) -> Estimate:
    """Mean with a Student-t interval (fine for the large n of a latency run).

    >>> mean_estimate([1.0, 2.0, 3.0]).value
    2.0
    """
    from scipy.stats import t

    x = np.asarray(samples, dtype=float)
    n = int(x.size)
    if n == 0:
        return Estimate(math.nan, None, 0, method="t", warnings=("no samples",))
    m = float(x.mean())
    if n < 2:
        return Estimate(m, Interval(math.nan, math.nan, confidence_level, "t"), n, method="t",
                        warnings=("one sample: no interval",))
    half = float(t.ppf(0.5 + confidence_level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Estimate(m, Interval(m - half, m + half, confidence_level, "t"), n, method="t")


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles (with CIs), mean, min and max of one set of timings, in the samples' unit."""

    n: int
    percentiles: dict[int, Estimate]
    mean: Estimate
    minimum: float
    maximum: float
    std: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n}
        for p, est in self.percentiles.items():
            out[f"p{p}"] = _flat(est)
        out["mean"] = _flat(self.mean)
        out["min"] = self.minimum
        out["max"] = self.maximum
        out["std"] = self.std
        return out


def _flat(est: Estimate) -> dict[str, Any]:
    iv = est.interval
    return {
        "value": est.value,
        "ci_low": iv.low if iv is not None else math.nan,
        "ci_high": iv.high if iv is not None else math.nan,
        "confidence_level": iv.confidence_level if iv is not None else None,
        "method": est.method,
        "warnings": list(est.warnings),
    }


def summarize(samples: Any, *, percentiles: tuple[int, ...] = DEFAULT_PERCENTILES, confidence_level: float = 0.95,
              ci: str = "order_statistic", resamples: int = 2000, seed: int | None = None) -> LatencySummary:
    """Summarise timings: p50/p90/p95/p99 with CIs, mean with CI, min, max, standard deviation.

    Examples
    --------
    >>> s = summarize(np.arange(1.0, 401.0))
    >>> s.percentiles[95].value, s.maximum, s.percentiles[99].interval.high
    (380.0, 400.0, 400.0)
    """
    x = np.asarray(samples, dtype=float)
    return LatencySummary(
        n=int(x.size),
        percentiles={int(p): percentile_estimate(x, p, confidence_level=confidence_level, ci=ci,
                                                 resamples=resamples, seed=seed) for p in percentiles},
        mean=mean_estimate(x, confidence_level=confidence_level),
        minimum=float(x.min()) if x.size else math.nan,
        maximum=float(x.max()) if x.size else math.nan,
        std=float(x.std(ddof=1)) if x.size > 1 else math.nan,
    )


def histogram(samples: Any, *, bins: int = 30) -> dict[str, list[float]]:
    """Equal-width histogram for the report (the renderer draws it; it never bins).

    >>> histogram([1.0, 2.0, 2.0, 3.0], bins=2)
    {'edges': [1.0, 2.0, 3.0], 'counts': [1, 3]}
    """
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        return {"edges": [], "counts": []}
    lo, hi = float(x.min()), float(x.max())
    if hi - lo <= 1e-9 * max(1.0, abs(hi)):  # all (nearly) equal: one bin, not a float-rounding error
        return {"edges": [lo, hi], "counts": [int(x.size)]}
    counts, edges = np.histogram(x, bins=bins)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


@dataclass(frozen=True)
class Knee:
    """Where the throughput-vs-batch-size curve flattens.

    ``batch_size`` is the smallest batch size whose throughput reaches ``fraction`` of the
    peak; beyond it larger batches buy little throughput and cost latency.
    """

    batch_size: int | None
    throughput: float
    peak_batch_size: int | None
    peak_throughput: float
    fraction: float
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "throughput": self.throughput, "peak_batch_size": self.peak_batch_size,
                "peak_throughput": self.peak_throughput, "fraction": self.fraction, "rule": self.rule}


def throughput_knee(batch_sizes: Any, throughputs: Any, *, fraction: float = 0.9) -> Knee:
    """The knee of throughput against batch size: first batch size within ``fraction`` of the peak.

    NaN throughputs (batch sizes not measured) are ignored.

    Examples
    --------
    >>> k = throughput_knee([1, 8, 32, 64], [10.0, 60.0, 95.0, 100.0])
    >>> k.batch_size, k.peak_batch_size
    (32, 64)
    """
    b = np.asarray(batch_sizes, dtype=int)
    t = np.asarray(throughputs, dtype=float)
    ok = np.isfinite(t)
    rule = f"smallest batch size with throughput >= {fraction:g} x peak"
    if not ok.any():
        return Knee(None, math.nan, None, math.nan, fraction, rule)
    b, t = b[ok], t[ok]
    order = np.argsort(b)
    b, t = b[order], t[order]
    i_peak = int(np.argmax(t))
    i_knee = int(np.nonzero(t >= fraction * t[i_peak])[0][0])
    return Knee(int(b[i_knee]), float(t[i_knee]), int(b[i_peak]), float(t[i_peak]), fraction, rule)
