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


def wilson_patients_interval(successes: int, n: int, n_clusters: int, *,
                             confidence_level: float = 0.95) -> Interval:
    """Wilson interval with the patients as the sample size, for a clustered proportion whose
    patient-clustered bootstrap has no spread.

    The bootstrap percentile interval collapses to a point when every resample gives the same
    proportion: 0 or ``n`` of ``n`` (every image has the same outcome), or every patient in the
    denominator has the same within-patient proportion (one patient with 3 of 7 images positive).
    The within-patient correlation cannot be estimated from such data, so the conservative
    choice is used: the design effect is taken at its largest possible value, the mean number
    of images per patient, which makes the effective sample size the number of patients
    (Kish 1965, Survey Sampling, sec. 8.2; Donner A, Klar N (2000) Design and Analysis of
    Cluster Randomization Trials, ch. 5). The interval is Wilson's score interval for the
    observed proportion ``successes / n`` with ``n_clusters`` observations, written out with a
    fractional success count (the score interval is defined for any p̂ in [0, 1]).

    Examples
    --------
    9 of 9 images from 7 patients: Wilson for 7 of 7.

    >>> iv = wilson_patients_interval(9, 9, 7)
    >>> round(iv.low, 4), iv.high, iv.method
    (0.6457, 1.0, 'wilson_patients')

    3 of 7 images, all of one patient: the interval is wide, never a point.

    >>> iv = wilson_patients_interval(3, 7, 1)
    >>> round(iv.low, 3), round(iv.high, 3)
    (0.041, 0.93)

    With one image per patient it is the ordinary Wilson interval (statsmodels, 3 of 7):

    >>> a, b = wilson_patients_interval(3, 7, 7), wilson_interval(3, 7)
    >>> abs(a.low - b.low) < 1e-12 and abs(a.high - b.high) < 1e-12
    True
    """
    from scipy.stats import norm

    cl = check_confidence_level(confidence_level)
    x = as_count(successes, name="successes")
    n = as_count(n, name="n")
    if n == 0 or x > n:
        raise StatsInputError(f"successes: expected 0..n with n >= 1, found {x} of {n}.")
    if not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters: expected 1..{n}, found {n_clusters}")
    if x in (0, n):  # the same numbers statsmodels gives for integer counts
        iv = wilson_interval(0 if x == 0 else n_clusters, n_clusters, confidence_level=cl)
        return Interval(iv.low, iv.high, iv.confidence_level, "wilson_patients")
    p, m = x / n, float(n_clusters)
    z = float(norm.ppf(1 - (1 - cl) / 2))
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z / (1 + z * z / m) * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    return Interval(max(0.0, centre - half), min(1.0, centre + half), cl, "wilson_patients")


def clustered_boundary_interval(successes: int, n: int, n_clusters: int, *,
                                confidence_level: float = 0.95) -> Interval:
    """Interval for a proportion at 0 or 1 when the images are clustered within patients.

    When every one of ``n`` images has the same outcome (0 or ``n`` successes), a patient-
    clustered bootstrap has no spread and returns the point itself ([1, 1] for 9/9), an interval
    that claims certainty the data cannot give; :func:`wilson_patients_interval` is used instead.

    >>> iv = clustered_boundary_interval(9, 9, 7)
    >>> round(iv.low, 4), iv.high, iv.method
    (0.6457, 1.0, 'wilson_patients')
    >>> clustered_boundary_interval(0, 12, 5).high == wilson_interval(0, 5).high
    True
    """
    if successes not in (0, n) or n == 0:
        raise ValueError(f"expected 0 or {n} successes out of {n}, found {successes}: use the bootstrap interval")
    return wilson_patients_interval(successes, n, n_clusters, confidence_level=confidence_level)


def clopper_pearson_interval(successes: int, n: int, *, confidence_level: float = 0.95) -> Interval:
    """Clopper-Pearson exact interval; see :func:`proportion_interval`.

    >>> iv = clopper_pearson_interval(1, 29)
    >>> round(iv.low, 4), round(iv.high, 4)
    (0.0009, 0.1776)
    """
    return proportion_interval(successes, n, ci="clopper_pearson", confidence_level=confidence_level)
