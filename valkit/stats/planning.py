"""Sample-size planning for a sensitivity or specificity endpoint.

Two answers to two different questions; valkit prints both.

* **Buderer (1996)** - precision: how many cases so that the 95% Wald interval of the
  expected sensitivity has half-width ``W``: ``n_pos = z^2 Se(1-Se)/W^2`` and
  ``N = n_pos / prevalence`` (specificity: ``n_neg / (1 - prevalence)``).
* **Exact binomial planning** - power: the smallest number of positives ``n`` such that,
  if the true sensitivity is ``expected``, the lower bound of the two-sided exact
  (Clopper-Pearson) interval exceeds the performance goal with probability >= ``power``.
  For each n the critical count is the smallest x with ``P(X >= x | goal) <= alpha/2``;
  the power is ``P(X >= x | expected)``. Power is saw-toothed in n, so the result also
  reports the smallest n from which every larger n (up to the search limit) has enough power.
  The normal-approximation answer ``((z_{1-a/2} sqrt(g(1-g)) + z_power sqrt(p(1-p)))/(p-g))^2``
  is shown for comparison.

References: Buderer NM (1996) Acad Emerg Med 3:895-900; Flahault A, Cadilhac M, Thomas G
(2005) J Clin Epidemiol 58:859-862 (exact planning for sensitivity/specificity).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from valkit.stats.types import _clean
from valkit.stats.validation import StatsInputError, check_confidence_level, look_up_option

_METRICS = {"sensitivity": "positive", "specificity": "negative"}


def _check_prop(value: float, name: str) -> float:
    v = float(value)
    if not 0.0 < v < 1.0:
        raise StatsInputError(f"{name}: expected a proportion strictly between 0 and 1, got {value!r}.")
    return v


def _z(cl: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + cl / 2))


@dataclass(frozen=True)
class SampleSizePlan:
    """A sample-size answer: cases of the relevant class and the total at the given prevalence."""

    method: str
    metric: str
    n_class: int          # positives (sensitivity) or negatives (specificity)
    n_total: int          # n_class / prevalence (or / (1 - prevalence)), rounded up
    expected: float
    prevalence: float
    confidence_level: float
    half_width: float | None = None
    goal: float | None = None
    power: float | None = None
    achieved_power: float | None = None
    n_class_stable: int | None = None      # exact: smallest n with power >= target for all n' >= n
    n_class_normal: int | None = None      # exact: normal-approximation answer, for comparison
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


def _total(n_class: int, prevalence: float, metric: str) -> int:
    frac = prevalence if metric == "sensitivity" else 1 - prevalence
    return int(math.ceil(n_class / frac - 1e-9))


def buderer_sample_size(
    expected: float,
    *,
    half_width: float,
    prevalence: float,
    metric: str = "sensitivity",
    confidence_level: float = 0.95,
) -> SampleSizePlan:
    """Buderer's (1996) sample size for a precision (half-width) target.

    Examples
    --------
    Buderer (1996): sensitivity 0.90, half-width 0.05, prevalence 0.10 -> N = 1383.

    >>> plan = buderer_sample_size(0.90, half_width=0.05, prevalence=0.10)
    >>> plan.n_class, plan.n_total
    (139, 1383)
    """
    look_up_option(metric, _METRICS, what="metric")
    cl = check_confidence_level(confidence_level)
    p = _check_prop(expected, "expected")
    w = _check_prop(half_width, "half_width")
    prev = _check_prop(prevalence, "prevalence")
    n_exact = _z(cl) ** 2 * p * (1 - p) / w**2
    frac = prev if metric == "sensitivity" else 1 - prev
    # Buderer rounds the total up from the unrounded class size (N = n / prevalence)
    return SampleSizePlan("buderer", metric, int(math.ceil(n_exact - 1e-9)), int(math.ceil(n_exact / frac - 1e-9)),
                          p, prev, cl, half_width=w)


def exact_binomial_power(n: np.ndarray | int, *, expected: float, goal: float,
                         confidence_level: float = 0.95) -> np.ndarray:
    """Probability that the exact lower confidence bound exceeds ``goal`` with n cases.

    >>> float(exact_binomial_power(100, expected=0.9, goal=0.8).round(4))
    0.703
    """
    from scipy.stats import binom

    cl = check_confidence_level(confidence_level)
    n_arr = np.atleast_1d(np.asarray(n, dtype=np.int64))
    alpha_half = (1 - cl) / 2
    # smallest x with P(X >= x | goal) <= alpha/2, i.e. the CP lower bound >= goal
    x = binom.ppf(1 - alpha_half, n_arr, goal).astype(np.int64) + 1
    # guard against floating error at the boundary of ppf
    too_low = binom.sf(x - 1, n_arr, goal) > alpha_half
    x = np.where(too_low, x + 1, x)
    ok_prev = binom.sf(x - 2, n_arr, goal) <= alpha_half
    x = np.where(ok_prev & (x > 1), x - 1, x)
    power = np.where(x <= n_arr, binom.sf(x - 1, n_arr, expected), 0.0)
    return power if np.ndim(n) else power.reshape(())


def exact_binomial_sample_size(
    expected: float,
    *,
    goal: float,
    power: float = 0.8,
    prevalence: float = 1.0 - 1e-12,
    metric: str = "sensitivity",
    confidence_level: float = 0.95,
    max_n: int = 100_000,
) -> SampleSizePlan:
    """Smallest n whose exact lower confidence bound exceeds ``goal`` with the required power.

    Examples
    --------
    >>> plan = exact_binomial_sample_size(0.90, goal=0.80, power=0.8, prevalence=0.10)
    >>> plan.n_class, plan.n_class_normal, plan.n_total
    (107, 108, 1070)
    """
    look_up_option(metric, _METRICS, what="metric")
    cl = check_confidence_level(confidence_level)
    p = _check_prop(expected, "expected")
    g = _check_prop(goal, "goal")
    pw = _check_prop(power, "power")
    prev = _check_prop(prevalence, "prevalence")
    if p <= g:
        raise StatsInputError(f"expected ({p}) must exceed goal ({g}): otherwise no sample size gives power.")
    from scipy.stats import norm

    n_normal = int(math.ceil(((_z(cl) * math.sqrt(g * (1 - g)) + float(norm.ppf(pw)) * math.sqrt(p * (1 - p)))
                              / (p - g)) ** 2))
    limit = min(max_n, max(1000, 20 * n_normal))
    ns = np.arange(1, limit + 1)
    pows = exact_binomial_power(ns, expected=p, goal=g, confidence_level=cl)
    ok = pows >= pw
    notes: list[str] = []
    if not ok.any():
        raise StatsInputError(f"no n <= {limit} reaches power {pw}; raise max_n or revisit expected/goal.")
    n_first = int(ns[np.argmax(ok)])
    bad_after = np.flatnonzero(~ok)
    n_stable = int(ns[bad_after[-1] + 1]) if len(bad_after) and bad_after[-1] + 1 < len(ns) else n_first
    if n_stable != n_first:
        notes.append(f"power is saw-toothed in n: n = {n_first} reaches {pw:.0%} but some larger n up to "
                     f"{n_stable - 1} do not; n >= {n_stable} always does.")
    return SampleSizePlan("exact_binomial", metric, n_first, _total(n_first, prev, metric), p, prev, cl,
                          goal=g, power=pw, achieved_power=float(pows[n_first - 1]), n_class_stable=n_stable,
                          n_class_normal=n_normal, notes=tuple(notes))


def interval_power(n: int, *, expected: float, goal: float, ci: str = "wilson",
                   confidence_level: float = 0.95) -> float:
    """Probability that the lower bound of the ``ci`` interval of x/n is at least ``goal``.

    The CI method's own operating characteristic, by direct summation over the binomial
    distribution: ``sum_x P(X = x | n, expected) * [low(x, n) >= goal]``, where ``low`` is the
    lower bound of :func:`valkit.stats.proportion_interval` with method ``ci``. This is the
    probability that an endpoint judged by valkit's rule (PASS when the lower bound >= goal)
    passes when the true proportion is ``expected``. With ``ci="clopper_pearson"`` it equals
    :func:`exact_binomial_power`.

    Examples
    --------
    >>> round(interval_power(100, expected=0.9, goal=0.8, ci="clopper_pearson"), 4)
    0.703
    >>> interval_power(0, expected=0.9, goal=0.8)
    0.0
    """
    from scipy.stats import binom
    from statsmodels.stats.proportion import proportion_confint

    from valkit.stats.intervals import PROPORTION_CI_METHODS

    sm_method = look_up_option(ci, PROPORTION_CI_METHODS, what="ci")
    cl = check_confidence_level(confidence_level)
    p = _check_prop(expected, "expected")
    g = _check_prop(goal, "goal")
    n = int(n)
    if n < 0:
        raise StatsInputError(f"n: expected a count >= 0, got {n}.")
    if n == 0:
        return 0.0
    x = np.arange(n + 1)
    low, _ = proportion_confint(x, n, alpha=1.0 - cl, method=sm_method)
    low = np.where(x == 0, 0.0, np.clip(np.asarray(low, dtype=float), 0.0, 1.0))
    return float(binom.pmf(x, n, p)[low >= g].sum())


def proportion_design_effect(success: Any, cluster: Any) -> tuple[float, int]:
    """Rao–Scott design effect of a proportion whose cases are clustered in patients.

    The ratio-estimator variance with patients as the unit over the binomial variance with
    every case its own unit, floored at 1 (a negative intra-patient correlation is not
    credited). It is :func:`valkit.stats.clustered_paired.paired_design_effect` with the
    second member of each pair 0 (the same Rao & Scott 1992 sandwich). Dividing a count by it
    gives the effective sample size (Kish 1965); multiplying a planned size by it gives the
    size that clustered data need. Returns ``(design effect, number of patients)``.

    References: Rao JNK, Scott AJ (1992) Biometrics 48:577–585; Kish L (1965) Survey Sampling, §8.2.

    Examples
    --------
    >>> proportion_design_effect([1, 0, 1, 0], [0, 1, 2, 3])
    (1.0, 4)
    >>> deff, k = proportion_design_effect([1, 1, 0, 0], [0, 0, 1, 1])  # patients all-or-nothing; by hand:
    >>> # x = (2, 0), p = 1/2, V_cluster = 2/1 · (1 + 1)/16 = 1/4, V_indep = 4/3 · 4 · 1/4 / 16 = 1/12, deff = 3
    >>> round(deff, 3), k
    (3.0, 2)
    """
    from valkit.stats.clustered_paired import paired_design_effect

    s = np.asarray(success)
    return paired_design_effect(s, np.zeros(len(s), dtype=int), cluster)
