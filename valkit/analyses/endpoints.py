"""Endpoints: the protocol's pre-set goals judged on the confidence bound."""
from __future__ import annotations

import numpy as np

from valkit import stats
from valkit.analyses.accuracy import auc_estimate, proportion_estimates

# results.json / report spelling of the engine's decisions
DECISION_LABEL = {"PASS": "PASS", "FAIL": "FAIL", "NOT_ESTIMABLE": "NOT ESTIMABLE"}


def judge_endpoints(endpoints, y: np.ndarray, s: np.ndarray, threshold: float, cluster: np.ndarray, *,
                    seed: int, n_resamples: int) -> list[dict]:
    """Each endpoint's estimate, CI and verdict (PASS when the lower bound >= goal)."""
    out = []
    counts = stats.confusion_counts(y, (s >= threshold).astype(int))
    for e in endpoints:
        if e.metric == "auc":
            est = auc_estimate(y, s, cluster, ci=e.ci_method, confidence_level=e.confidence_level, seed=seed,
                               n_resamples=n_resamples)
        else:
            est = proportion_estimates(counts, ci=e.ci_method, confidence_level=e.confidence_level)[e.metric]
        row = {
            "id": e.id,
            "metric": e.metric,
            "primary": e.primary,
            "goal": e.goal,
            "confidence_level": e.confidence_level,
            "ci_method": est.interval.method if est.interval is not None else e.ci_method,
            "estimate": est.to_dict(),
            "verdict": "NO GOAL",
            "judged_on": None,
        }
        if e.goal is not None:
            v = stats.endpoint_verdict(est, goal=e.goal)
            row["verdict"], row["judged_on"] = DECISION_LABEL[v.decision], v.rule
            if e.metric != "auc" and est.denominator:
                # supporting evidence next to the CI verdict: one-sided exact test of H0: p <= goal
                test = stats.exact_binomial_test(int(est.numerator), int(est.denominator), goal=e.goal)
                row["exact_binomial_p"] = test.p_value
        out.append(row)
    return out
