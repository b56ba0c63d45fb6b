"""Endpoint tests and verdicts: performance goals and non-inferiority.

* :func:`exact_binomial_test` - one-sided exact binomial test of a proportion against a
  performance goal (H0: p <= goal vs H1: p > goal for ``alternative="greater"``).
* :func:`endpoint_verdict` - PASS when the confidence bound clears the goal: the lower bound
  of the two-sided interval is >= goal (``direction="greater"``, e.g. sensitivity) or the
  upper bound is <= goal (``direction="less"``, e.g. a false-positive rate). An interval
  that is ``nan`` gives ``NOT_ESTIMABLE``, never PASS.
* :func:`non_inferiority` - model B vs model A on the same cases for sensitivity,
  specificity (Newcombe paired interval, Tango score p-value) or AUC (DeLong / Obuchowski):
  B is non-inferior when the lower bound of the two-sided interval of ``B - A`` is
  above ``-margin``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from valkit.stats.intervals import clopper_pearson_interval
from valkit.stats.types import Estimate, Interval, TestResult, _clean
from valkit.stats.validation import (
    StatsInputError,
    as_count,
    as_labels,
    check_confidence_level,
    check_same_length,
    look_up_option,
)

_DIRECTIONS = {"greater": "greater", "less": "less"}


def exact_binomial_test(
    successes: int, n: int, *, goal: float, alternative: str = "greater", confidence_level: float = 0.95
) -> TestResult:
    """One-sided exact binomial test of ``successes / n`` against the performance goal ``goal``.

    ``alternative="greater"``: p = P(X >= successes | p = goal). ``"less"``: P(X <= successes).
    ``difference`` is the observed proportion minus the goal and ``interval`` the two-sided
    Clopper-Pearson interval at ``confidence_level`` (whose bound is consistent with the
    one-sided test at level (1 - confidence_level)/2).

    Examples
    --------
    >>> r = exact_binomial_test(90, 100, goal=0.8)
    >>> round(r.p_value, 4), r.statistic
    (0.0057, 90.0)
    """
    look_up_option(alternative, _DIRECTIONS, what="alternative")
    cl = check_confidence_level(confidence_level)
    x, n = as_count(successes, name="successes"), as_count(n, name="n")
    if x > n:
        raise StatsInputError(f"successes: {x} exceeds n = {n}.")
    if not 0.0 < float(goal) < 1.0:
        raise StatsInputError(f"goal: expected a proportion strictly between 0 and 1, got {goal!r}.")
    method = f"exact_binomial_{alternative}"
    iv = clopper_pearson_interval(x, n, confidence_level=cl)
    if n == 0:
        from valkit.stats.validation import not_estimable

        w = not_estimable("empty", "exact binomial test is undefined with n = 0.")
        return TestResult(math.nan, math.nan, math.nan, iv, method, None, (w,))
    from scipy.stats import binom

    p = float(binom.sf(x - 1, n, goal)) if alternative == "greater" else float(binom.cdf(x, n, goal))
    return TestResult(float(x), p, x / n - float(goal), Interval(iv.low, iv.high, cl, "clopper_pearson"), method)


@dataclass(frozen=True)
class Verdict:
    """Outcome of an endpoint: ``decision`` is "PASS", "FAIL" or "NOT_ESTIMABLE"."""

    decision: str
    passed: bool | None
    bound: float
    goal: float
    direction: str
    rule: str
    confidence_level: float | None = None
    method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


def endpoint_verdict(
    result: Estimate | Interval | TestResult, *, goal: float, direction: str = "greater", strict: bool = False
) -> Verdict:
    """PASS/FAIL of an endpoint from the confidence bound of ``result``.

    Parameters
    ----------
    result : Estimate, TestResult or Interval
        Its (two-sided) interval is used.
    goal : float
        Performance goal (or ``-margin`` for non-inferiority).
    direction : {"greater", "less"}
        "greater": PASS iff lower bound >= goal; "less": PASS iff upper bound <= goal.
    strict : bool
        Use > / < instead of >= / <= (non-inferiority convention).

    Examples
    --------
    >>> from valkit.stats.proportions import sensitivity_from_counts
    >>> v = endpoint_verdict(sensitivity_from_counts(180, 20), goal=0.80)
    >>> v.decision, round(v.bound, 4)
    ('PASS', 0.8506)
    """
    look_up_option(direction, _DIRECTIONS, what="direction")
    iv = result if isinstance(result, Interval) else result.interval
    if iv is None:
        raise StatsInputError("endpoint_verdict: the result has no confidence interval; compute one first.")
    bound = iv.low if direction == "greater" else iv.high
    op = (">" if strict else ">=") if direction == "greater" else ("<" if strict else "<=")
    pct = f"{iv.confidence_level:.0%}"
    # the method by its name in the one registry of methods, never its key (the rule is printed in the report)
    from valkit.stats.registry import METHODS

    name = METHODS[iv.method].title if iv.method in METHODS else iv.method
    rule = (f"{'lower' if direction == 'greater' else 'upper'} bound of the two-sided {pct} confidence interval "
            f"({name}) {op} {goal}")
    if bound is None or math.isnan(bound):
        return Verdict("NOT_ESTIMABLE", None, math.nan, float(goal), direction, rule, iv.confidence_level, iv.method)
    if direction == "greater":
        ok = bound > goal if strict else bound >= goal
    else:
        ok = bound < goal if strict else bound <= goal
    return Verdict("PASS" if ok else "FAIL", bool(ok), float(bound), float(goal), direction, rule,
                   iv.confidence_level, iv.method)


@dataclass(frozen=True)
class NonInferiorityResult:
    """Difference B - A with its interval and p-value for H0: B - A <= -margin, and the verdict."""

    metric: str
    margin: float
    estimate_a: Estimate
    estimate_b: Estimate
    test: TestResult
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "margin": self.margin,
            "estimate_a": self.estimate_a.to_dict(),
            "estimate_b": self.estimate_b.to_dict(),
            "test": self.test.to_dict(),
            "verdict": self.verdict.to_dict(),
        }


_NI_METRICS = ("sensitivity", "specificity", "auc")


def non_inferiority(
    y_true: Any,
    output_a: Any,
    output_b: Any,
    *,
    metric: str,
    margin: float,
    confidence_level: float = 0.95,
    cluster: Any = None,
) -> NonInferiorityResult:
    """Is model B non-inferior to model A on the same cases, within ``margin``?

    Parameters
    ----------
    y_true : array of {0, 1}
    output_a, output_b : arrays
        0/1 decisions for ``metric`` "sensitivity"/"specificity"; scores for "auc".
    metric : {"sensitivity", "specificity", "auc"}
    margin : float
        Non-inferiority margin (> 0), on the metric's scale.
    cluster : array, optional
        Patient ids; for "auc" with several images per patient the Obuchowski covariance is used.

    Notes
    -----
    Sensitivity/specificity: the difference B - A among positives/negatives with the
    Newcombe (1998c) paired interval; p-value from Tango's (1998) score test of
    H0: B - A = -margin. AUC: DeLong (or Obuchowski) covariance, Wald interval,
    ``Z = (d + margin)/SE``. Verdict: PASS iff the lower bound > -margin (equivalent to a
    one-sided test at level (1 - confidence_level)/2).

    Examples
    --------
    >>> y = [1] * 200 + [0] * 50
    >>> a = [1] * 180 + [0] * 20 + [0] * 50
    >>> b = [1] * 178 + [0] * 22 + [0] * 50
    >>> r = non_inferiority(y, a, b, metric="sensitivity", margin=0.05)
    >>> round(r.test.difference, 2), round(r.test.interval.low, 4), r.verdict.decision
    (-0.01, -0.0334, 'PASS')
    """
    look_up_option(metric, dict.fromkeys(_NI_METRICS), what="metric")
    cl = check_confidence_level(confidence_level)
    if not (isinstance(margin, (int, float)) and 0 < margin < 1):
        raise StatsInputError(f"margin: expected a positive number below 1 (e.g. 0.05), got {margin!r}.")
    y = as_labels(y_true)
    if metric == "auc":
        from scipy.stats import norm

        from valkit.stats.clustered import clustered_auc_covariance, has_clusters
        from valkit.stats.delong import delong_covariance
        from valkit.stats.roc import roc_auc

        check_same_length(y_true=y, output_a=np.asarray(output_a), output_b=np.asarray(output_b))
        clustered = has_clusters(cluster)
        ci = "clustered" if clustered else "delong"
        if clustered:
            aucs, cov = clustered_auc_covariance(y, output_b, output_a, cluster=cluster)
        else:
            aucs, cov = delong_covariance(y, output_b, output_a)
        est_a = roc_auc(y, output_a, ci=ci, cluster=cluster if clustered else None, confidence_level=cl)
        est_b = roc_auc(y, output_b, ci=ci, cluster=cluster if clustered else None, confidence_level=cl)
        d = float(aucs[0] - aucs[1])
        var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
        method = f"{ci}_noninferiority"
        if not math.isfinite(var) or var <= 0:
            test = TestResult(math.nan, math.nan, d, Interval(math.nan, math.nan, cl, method), method)
        else:
            se = math.sqrt(var)
            q = float(norm.ppf(0.5 + cl / 2))
            z = (d + margin) / se
            test = TestResult(z, float(norm.sf(z)), d, Interval(d - q * se, d + q * se, cl, method), method)
    else:
        from valkit.stats.differences import paired_proportion_difference_from_counts, tango_score_test
        from valkit.stats.proportions import sensitivity, specificity

        pa = as_labels(output_a, name="output_a")
        pb = as_labels(output_b, name="output_b")
        check_same_length(y_true=y, output_a=pa, output_b=pb)
        fn = sensitivity if metric == "sensitivity" else specificity
        est_a, est_b = fn(y, pa, confidence_level=cl), fn(y, pb, confidence_level=cl)
        keep = y == (1 if metric == "sensitivity" else 0)
        ca, cb = (pa[keep] == y[keep]), (pb[keep] == y[keep])
        e = int(np.count_nonzero(ca & cb))
        f = int(np.count_nonzero(cb & ~ca))  # B right, A wrong
        g = int(np.count_nonzero(ca & ~cb))
        h = int(keep.sum()) - e - f - g
        diff = paired_proportion_difference_from_counts(e, f, g, h, confidence_level=cl)
        z, p = tango_score_test(f, g, e + f + g + h, delta0=-float(margin))
        test = TestResult(z, p, diff.value, diff.interval, "newcombe_paired_tango_noninferiority",
                          None, diff.warnings)
    verdict = endpoint_verdict(test, goal=-float(margin), direction="greater", strict=True)
    return NonInferiorityResult(metric, float(margin), est_a, est_b, test, verdict)
