"""Confidence intervals for a single binomial proportion.

Four methods, dispatched by name through :data:`PROPORTION_CI_METHODS`:

``wilson`` (default)
    Score interval (Wilson 1927); good coverage, never outside [0, 1].
``clopper_pearson``
    "Exact" interval from beta quantiles (Clopper & Pearson 1934); conservative.
``jeffreys``
    Equal-tailed Bayesian interval with a Beta(1/2, 1/2) prior, with the
    boundary modification of Brown, Cai & DasGupta (2001): lower = 0 when x = 0
    and upper = 1 when x = n.
``agresti_coull``
    Wald interval around the "add z^2/2 successes and failures" estimate
    (Agresti & Coull 1998), clipped to [0, 1].

The arithmetic is statsmodels' :func:`~statsmodels.stats.proportion.proportion_confint`
(imported lazily so that ``import valkit.stats`` stays light).
"""
from __future__ import annotations

import math

from valkit.stats.types import Interval
from valkit.stats.validation import (
    StatsInputError,
    as_count,
    check_confidence_level,
    look_up_option,
)

# valkit name -> statsmodels' proportion_confint method name
PROPORTION_CI_METHODS: dict[str, str] = {
    "wilson": "wilson",
    "clopper_pearson": "beta",
    "jeffreys": "jeffreys",
    "agresti_coull": "agresti_coull",
}


def proportion_interval(
    successes: int, n: int, *, ci: str = "wilson", confidence_level: float = 0.95
) -> Interval:
    """Two-sided confidence interval for a binomial proportion ``successes / n``.

    Parameters
    ----------
    successes, n : int
        Number of successes and of trials (0 <= successes <= n).
    ci : {"wilson", "clopper_pearson", "jeffreys", "agresti_coull"}
        Interval method (see the module docstring).
    confidence_level : float
        Two-sided coverage, e.g. 0.95.

    Returns
    -------
    Interval
        ``Interval(nan, nan, ...)`` when ``n == 0`` (the caller decides how to warn).

    References
    ----------
    Newcombe RG (1998a). Two-sided confidence intervals for the single proportion:
    comparison of seven methods. Stat Med 17:857-872 (Table I).

    Examples
    --------
    Newcombe (1998a), Table I, 81/263:

    >>> iv = proportion_interval(81, 263)
    >>> round(iv.low, 4), round(iv.high, 4)
    (0.2553, 0.3662)
    >>> iv = proportion_interval(81, 263, ci="clopper_pearson")
    >>> round(iv.low, 4), round(iv.high, 4)
    (0.2527, 0.3676)
    """
    sm_method = look_up_option(ci, PROPORTION_CI_METHODS, what="ci")
    cl = check_confidence_level(confidence_level)
    x = as_count(successes, name="successes")
    n = as_count(n, name="n")
    if x > n:
        raise StatsInputError(f"successes: {x} successes out of n = {n} trials; successes cannot exceed n.")
    if n == 0:
        return Interval(math.nan, math.nan, cl, ci)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(x, n, alpha=1.0 - cl, method=sm_method)
    low, high = float(low), float(high)
    if x == 0:
        low = 0.0  # all methods here (Jeffreys by the Brown-Cai-DasGupta rule) put 0 in the interval
    if x == n:
        high = 1.0
    return Interval(min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0), cl, ci)


def wilson_interval(successes: int, n: int, *, confidence_level: float = 0.95) -> Interval:
    """Wilson score interval; see :func:`proportion_interval`.

    >>> iv = wilson_interval(0, 20)
    >>> iv.low, round(iv.high, 4)
    (0.0, 0.1611)
    """
    return proportion_interval(successes, n, ci="wilson", confidence_level=confidence_level)


def clustered_boundary_interval(successes: int, n: int, n_clusters: int, *,
                                confidence_level: float = 0.95) -> Interval:
    """Interval for a proportion at 0 or 1 when the images are clustered within patients.

    When every one of ``n`` images has the same outcome (0 or ``n`` successes), a patient-
    clustered bootstrap has no spread and returns the point itself ([1, 1] for 9/9), an interval
    that claims certainty the data cannot give. Within-patient correlation cannot be estimated
    from such data either, so the conservative choice is used: one observation per patient,
    the Wilson score interval for 0 or ``n_clusters`` successes out of ``n_clusters``
    (design effect = mean images per patient, its largest possible value).

    >>> iv = clustered_boundary_interval(9, 9, 7)
    >>> round(iv.low, 4), iv.high, iv.method
    (0.6457, 1.0, 'wilson_patients')
    >>> clustered_boundary_interval(0, 12, 5).high == wilson_interval(0, 5).high
    True
    """
    if successes not in (0, n) or n == 0:
        raise ValueError(f"expected 0 or {n} successes out of {n}, found {successes}: use the bootstrap interval")
    if not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters: expected 1..{n}, found {n_clusters}")
    iv = wilson_interval(0 if successes == 0 else n_clusters, n_clusters, confidence_level=confidence_level)
    return Interval(iv.low, iv.high, iv.confidence_level, "wilson_patients")


def clopper_pearson_interval(successes: int, n: int, *, confidence_level: float = 0.95) -> Interval:
    """Clopper-Pearson exact interval; see :func:`proportion_interval`.

    >>> iv = clopper_pearson_interval(1, 29)
    >>> round(iv.low, 4), round(iv.high, 4)
    (0.0009, 0.1776)
    """
    return proportion_interval(successes, n, ci="clopper_pearson", confidence_level=confidence_level)
