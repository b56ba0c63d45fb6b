"""Endpoints: the protocol's pre-set goals judged on the confidence bound."""
from __future__ import annotations

import math

import numpy as np

from valkit import stats
from valkit.analyses.accuracy import auc_estimate, proportion_estimates


def verdict_on_lower_bound(value: float, low: float | None, goal: float | None) -> str:
    """PASS when the lower confidence bound reaches the goal; FAIL otherwise.

    An estimate that is not defined (no positives, say) can neither pass nor fail.
    """
    if goal is None:
        return "NO GOAL"
    if value is None or (isinstance(value, float) and math.isnan(value)) or low is None or math.isnan(low):
        return "NOT ESTIMABLE"
    return "PASS" if low >= goal else "FAIL"


def judge_endpoints(endpoints, y: np.ndarray, s: np.ndarray, threshold: float, cluster: np.ndarray, *,
                    seed: int, n_resamples: int) -> list[dict]:
    out = []
    counts = stats.confusion_counts(y, (s >= threshold).astype(int))
    for e in endpoints:
        if e.metric == "auc":
            est = auc_estimate(y, s, cluster, ci=e.ci_method, confidence_level=e.confidence_level, seed=seed,
                               n_resamples=n_resamples)
        else:
            est = proportion_estimates(counts, ci=e.ci_method, confidence_level=e.confidence_level)[e.metric]
        low = est.interval.low if est.interval is not None else None
        row = {
            "id": e.id,
            "metric": e.metric,
            "primary": e.primary,
            "goal": e.goal,
            "confidence_level": e.confidence_level,
            "ci_method": est.interval.method if est.interval is not None else e.ci_method,
            "estimate": est.to_dict(),
            "verdict": verdict_on_lower_bound(est.value, low, e.goal),
            "judged_on": f"lower bound of the two-sided {e.confidence_level:.0%} CI >= goal",
        }
        if e.goal is not None and e.metric != "auc" and est.denominator:
            # one-sided exact binomial test of H0: p <= goal (supporting evidence next to the CI verdict)
            from scipy.stats import binomtest

            row["exact_binomial_p"] = float(
                binomtest(int(est.numerator), int(est.denominator), e.goal, alternative="greater").pvalue)
        out.append(row)
    return out
