"""Differences of proportions (independent and paired) and McNemar's test.

* Independent groups: Newcombe's hybrid score interval (1998b, method 10), built from the
  two Wilson intervals ``[l1, u1]``, ``[l2, u2]``::

      L = (p1 - p2) - sqrt((p1 - l1)^2 + (u2 - p2)^2)
      U = (p1 - p2) + sqrt((u1 - p1)^2 + (p2 - l2)^2)

* Paired data (the same cases under A and B; cells e = both succeed, f = A only,
  g = B only, h = neither; n = e+f+g+h): Newcombe (1998c, method 10), the same
  square-and-add with a correlation term::

      L = d - sqrt((p1 - l1)^2 - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)^2)
      U = d + sqrt((p2 - l2)^2 - 2 phi (p2 - l2)(u1 - p1) + (u1 - p1)^2)

  with p1 = (e+f)/n, p2 = (e+g)/n, d = (f-g)/n and the continuity-corrected phi
  ``phi = C / sqrt((e+f)(g+h)(e+g)(f+h))``, ``C = eh - fg - n/2`` if ``eh - fg > n/2``,
  ``C = eh - fg`` if ``eh - fg < 0``, else 0 (phi = 0 when a margin is empty).

* McNemar's test of ``f = g``: exact (two-sided binomial on the discordant pairs) or
  asymptotic chi-square (optionally continuity-corrected).

* Tango's (1998) score test of ``p_B - p_A = delta0`` for paired data (non-inferiority).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from valkit.stats.intervals import wilson_interval
from valkit.stats.types import Estimate, Interval, TestResult
from valkit.stats.validation import (
    StatsInputError,
    as_count,
    as_labels,
    check_confidence_level,
    check_same_length,
    look_up_option,
    not_estimable,
)


def _nan_estimate(n: int, cl: float, method: str, code: str, msg: str) -> Estimate:
    w = not_estimable(code, msg, stacklevel=4)
    return Estimate(math.nan, Interval(math.nan, math.nan, cl, method), n, None, None, method, (w,))


def _newcombe_limits(x1: int, n1: int, x2: int, n2: int, cl: float) -> tuple[float, float]:
    p1, p2 = x1 / n1, x2 / n2
    a, b = wilson_interval(x1, n1, confidence_level=cl), wilson_interval(x2, n2, confidence_level=cl)
    d = p1 - p2
    return (d - math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2),
            d + math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2))


def _wald_limits(x1: int, n1: int, x2: int, n2: int, cl: float) -> tuple[float, float]:
    from scipy.stats import norm

    p1, p2 = x1 / n1, x2 / n2
    half = float(norm.ppf(0.5 + cl / 2)) * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return p1 - p2 - half, p1 - p2 + half


_DIFFERENCE_CI = {"newcombe": ("newcombe_hybrid_score", _newcombe_limits), "wald": ("wald", _wald_limits)}


def proportion_difference(
    x1: int, n1: int, x2: int, n2: int, *, ci: str = "newcombe", confidence_level: float = 0.95
) -> Estimate:
    """Difference ``x1/n1 - x2/n2`` of independent proportions.

    ``ci="newcombe"`` (default): Newcombe's hybrid score interval (1998b, method 10).
    ``ci="wald"``: the simple Wald interval, for comparison only (poor coverage).

    Examples
    --------
    Newcombe (1998b), Table II: 56/70 - 48/80.

    >>> est = proportion_difference(56, 70, 48, 80)
    >>> round(est.value, 4), round(est.interval.low, 4), round(est.interval.high, 4)
    (0.2, 0.0524, 0.3339)
    >>> iv = proportion_difference(56, 70, 48, 80, ci="wald").interval
    >>> round(iv.low, 4), round(iv.high, 4)
    (0.0575, 0.3425)
    """
    method, limits = look_up_option(ci, _DIFFERENCE_CI, what="ci")
    cl = check_confidence_level(confidence_level)
    x1, n1, x2, n2 = (as_count(v, name=k) for k, v in dict(x1=x1, n1=n1, x2=x2, n2=n2).items())
    if x1 > n1 or x2 > n2:
        raise StatsInputError(f"successes exceed trials: {x1}/{n1}, {x2}/{n2}.")
    if n1 == 0 or n2 == 0:
        return _nan_estimate(n1 + n2, cl, method, "empty", "difference of proportions needs cases in both groups.")
    low, high = limits(x1, n1, x2, n2, cl)
    return Estimate(x1 / n1 - x2 / n2, Interval(max(-1.0, low), min(1.0, high), cl, method), n1 + n2,
                    None, None, method)


def paired_proportion_difference_from_counts(
    e: int, f: int, g: int, h: int, *, confidence_level: float = 0.95
) -> Estimate:
    """Difference of paired proportions ``p_A - p_B = (f - g)/n``, Newcombe (1998c) method 10.

    Parameters
    ----------
    e, f, g, h : int
        Cases where both A and B succeed (e), only A (f), only B (g), neither (h).

    Examples
    --------
    Newcombe (1998c): cells (36, 12, 2, 0) give 0.0569 to 0.3404.

    >>> est = paired_proportion_difference_from_counts(36, 12, 2, 0)
    >>> round(est.value, 4), round(est.interval.low, 4), round(est.interval.high, 4)
    (0.2, 0.0569, 0.3404)
    """
    cl = check_confidence_level(confidence_level)
    e, f, g, h = (as_count(v, name=k) for k, v in dict(e=e, f=f, g=g, h=h).items())
    n = e + f + g + h
    method = "newcombe_paired_score_cc_phi"
    if n == 0:
        return _nan_estimate(0, cl, method, "empty", "paired difference of proportions needs at least one pair.")
    p1, p2 = (e + f) / n, (e + g) / n
    a, b = wilson_interval(e + f, n, confidence_level=cl), wilson_interval(e + g, n, confidence_level=cl)
    margins = (e + f) * (g + h) * (e + g) * (f + h)
    phi = 0.0
    if margins > 0:
        diff = e * h - f * g
        c = diff - n / 2 if diff > n / 2 else (diff if diff < 0 else 0.0)
        phi = c / math.sqrt(margins)
    d = (f - g) / n
    dl1, du1, dl2, du2 = p1 - a.low, a.high - p1, p2 - b.low, b.high - p2
    low = d - math.sqrt(max(0.0, dl1**2 - 2 * phi * dl1 * du2 + du2**2))
    high = d + math.sqrt(max(0.0, dl2**2 - 2 * phi * dl2 * du1 + du1**2))
    return Estimate(d, Interval(max(-1.0, low), min(1.0, high), cl, method), n, None, None, method)


def _paired_cells(success_a: Any, success_b: Any) -> tuple[int, int, int, int]:
    a = as_labels(success_a, name="success_a").astype(bool)
    b = as_labels(success_b, name="success_b").astype(bool)
    check_same_length(success_a=a, success_b=b)
    e = int(np.count_nonzero(a & b))
    f = int(np.count_nonzero(a & ~b))
    g = int(np.count_nonzero(~a & b))
    return e, f, g, len(a) - e - f - g


def paired_proportion_difference(success_a: Any, success_b: Any, *, confidence_level: float = 0.95) -> Estimate:
    """``mean(success_a) - mean(success_b)`` on the same cases; see the ``_from_counts`` form.

    >>> a = [1] * 36 + [1] * 12 + [0] * 2
    >>> b = [1] * 36 + [0] * 12 + [1] * 2
    >>> round(paired_proportion_difference(a, b).interval.low, 4)
    0.0569
    """
    return paired_proportion_difference_from_counts(*_paired_cells(success_a, success_b),
                                                    confidence_level=confidence_level)


def mcnemar_from_counts(f: int, g: int, *, exact: bool = True, correction: bool = True) -> TestResult:
    """McNemar's test that the discordant counts f (A only) and g (B only) are equal.

    Exact: two-sided binomial test of f ~ Bin(f + g, 1/2), p = min(1, 2 P(X <= min(f, g))).
    Asymptotic: ``(|f - g| - 1)^2 / (f + g)`` (``correction=False`` drops the -1), 1 df.
    ``difference`` is ``(f - g)`` in counts; no interval (use the paired difference).

    >>> r = mcnemar_from_counts(12, 2)
    >>> round(r.p_value, 6)
    0.012939
    >>> r = mcnemar_from_counts(12, 2, exact=False)
    >>> round(r.statistic, 4), round(r.p_value, 4)
    (5.7857, 0.0162)
    """
    from scipy.stats import binom, chi2

    f, g = as_count(f, name="f"), as_count(g, name="g")
    m = f + g
    method = "mcnemar_exact" if exact else ("mcnemar_chi2_cc" if correction else "mcnemar_chi2")
    if m == 0:
        w = not_estimable("no_discordant_pairs", "McNemar's test is undefined with no discordant pairs.")
        return TestResult(math.nan, math.nan, 0.0, None, method, None if exact else 1.0, (w,))
    if exact:
        p = min(1.0, 2.0 * float(binom.cdf(min(f, g), m, 0.5)))
        return TestResult(float(min(f, g)), p, float(f - g), None, method)
    num = abs(f - g) - (1.0 if correction else 0.0)
    stat = max(num, 0.0) ** 2 / m
    return TestResult(stat, float(chi2.sf(stat, 1)), float(f - g), None, method, 1.0)


def mcnemar(success_a: Any, success_b: Any, *, exact: bool = True, correction: bool = True) -> TestResult:
    """McNemar's test from paired 0/1 outcomes of A and B on the same cases.

    >>> mcnemar([1, 1, 1, 0], [1, 0, 0, 0]).p_value
    0.5
    """
    _, f, g, _ = _paired_cells(success_a, success_b)
    return mcnemar_from_counts(f, g, exact=exact, correction=correction)


def tango_score_test(f: int, g: int, n: int, *, delta0: float) -> tuple[float, float]:
    """Tango's (1998) score statistic for ``p_A - p_B = delta0`` and its one-sided p-value for
    ``H1: p_A - p_B > delta0`` (non-inferiority of A when ``delta0 = -margin``).

    ``f`` = A succeeds and B fails, ``g`` = B succeeds and A fails, ``n`` pairs.

    >>> z, p = tango_score_test(12, 2, 50, delta0=0.0)
    >>> round(z, 4)
    2.6726
    """
    f, g, n = as_count(f, name="f"), as_count(g, name="g"), as_count(n, name="n")
    if n == 0:
        return math.nan, math.nan
    from scipy.stats import norm

    a_ = 2 * n
    b_ = -f - g + (2 * n - f + g) * delta0
    c_ = -g * delta0 * (1 - delta0)
    p_tilde = (math.sqrt(max(b_**2 - 4 * a_ * c_, 0.0)) - b_) / (2 * a_)
    var = n * (2 * p_tilde + delta0 * (1 - delta0))
    if var <= 0:
        return math.nan, math.nan
    z = (f - g - n * delta0) / math.sqrt(var)
    return z, float(norm.sf(z))


def tango_score_interval(f: int, g: int, n: int, *, confidence_level: float = 0.95) -> Estimate:
    """Tango's (1998) score interval for the paired difference ``p_A - p_B = (f - g)/n``.

    The limits are the two ``delta0`` at which :func:`tango_score_test` equals ``-/+ z``
    (test inversion, found by Brent's method); ``f`` = A succeeds and B fails, ``g`` = B
    succeeds and A fails. Its one-sided bound is the exact counterpart of Tango's
    non-inferiority test (the bound is above ``-margin`` iff the test rejects at that level).

    Examples
    --------
    Cavo et al. (2012) complete response, table [[59, 6], [16, 80]] (Fagerland, Lydersen & Laake
    2017, ch. 8): -0.0621 (95% CI -0.1240 to -0.0054).

    >>> est = tango_score_interval(6, 16, 161)
    >>> round(est.value, 4), round(est.interval.low, 4), round(est.interval.high, 4)
    (-0.0621, -0.124, -0.0054)
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    cl = check_confidence_level(confidence_level)
    f, g, n = as_count(f, name="f"), as_count(g, name="g"), as_count(n, name="n")
    method = "tango_score"
    if f + g > n:
        raise StatsInputError(f"discordant pairs f + g = {f + g} exceed n = {n}.")
    if n == 0:
        return _nan_estimate(0, cl, method, "empty", "Tango's interval needs at least one pair.")
    d = (f - g) / n
    z = float(norm.ppf(0.5 + cl / 2))
    eps = 1e-10

    def excess(delta0: float, target: float) -> float:
        t = tango_score_test(f, g, n, delta0=delta0)[0]
        return (0.0 if math.isnan(t) and delta0 == d else t) - target  # 0/0 at the estimate: the statistic is 0

    # the statistic decreases in delta0; at d it is 0, so each limit is bracketed on its side
    low = -1.0 if d <= -1 + eps or excess(-1 + eps, z) < 0 else brentq(excess, -1 + eps, d, args=(z,), xtol=1e-12)
    high = 1.0 if d >= 1 - eps or excess(1 - eps, -z) > 0 else brentq(excess, d, 1 - eps, args=(-z,), xtol=1e-12)
    return Estimate(d, Interval(float(low), float(high), cl, method), n, None, None, method)
