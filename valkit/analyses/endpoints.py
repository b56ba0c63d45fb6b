"""Endpoints: the protocol's pre-set goals judged on the confidence bound."""
from __future__ import annotations

import numpy as np

from valkit import stats
from valkit.analyses.accuracy import auc_estimate, clustered_proportion_estimates

# results.json / report spelling of the engine's decisions
DECISION_LABEL = {"PASS": "PASS", "FAIL": "FAIL", "NOT_ESTIMABLE": "NOT ESTIMABLE"}


def judge_endpoints(endpoints, y: np.ndarray, s: np.ndarray, threshold: float, cluster: np.ndarray, *,
                    seed: int, n_resamples: int) -> list[dict]:
    """Each endpoint's estimate, CI and verdict (PASS when the lower bound >= goal)."""
    out = []
    pred = (s >= threshold).astype(int)
    clustered = stats.has_clusters(cluster)
    for e in endpoints:
        if e.metric == "auc":
            est = auc_estimate(y, s, cluster, ci=e.ci_method, confidence_level=e.confidence_level, seed=seed,
                               n_resamples=n_resamples)
        else:
            est = clustered_proportion_estimates(y, pred, cluster, ci=e.ci_method, seed=seed, n_resamples=n_resamples,
                                                 confidence_level=e.confidence_level)[e.metric]
        row = {
            "id": e.id,
            "metric": e.metric,
            "primary": e.primary,
            "goal": e.goal,
            "confidence_level": e.confidence_level,
            "ci_method": est.interval.method if est.interval is not None else e.ci_method,
            "estimate": est.to_dict(),
            "ci_method_requested": e.ci_method,
            "ci_note": (f"{e.ci_method} requested; patients have several images, so the patient-clustered "
                        f"method ({est.interval.method}) is used") if clustered and est.interval is not None
                       and est.interval.method != e.ci_method else None,
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
