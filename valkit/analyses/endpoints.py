"""Endpoints: the protocol's pre-set goals judged on the confidence bound."""
from __future__ import annotations

import numpy as np

from valkit import stats
from valkit.analyses.accuracy import auc_estimate
from valkit.analyses.estimates import ProportionEstimator

# results.json / report spelling of the engine's decisions
DECISION_LABEL = {"PASS": "PASS", "FAIL": "FAIL", "NOT_ESTIMABLE": "NOT ESTIMABLE"}


def _method_name(method: str) -> str:
    """A method's name as a sentence reads it, from the one registry of methods (valkit.stats.registry)."""
    info = stats.METHODS.get(method)
    if info is None:
        return method.replace("_", " ")
    title = info.title
    return title[0].lower() + title[1:] if title.split()[0] in {"Patient-clustered", "Bootstrap"} else title


def method_note(requested: str, used: str | None, clustering: str, clustering_stated: bool) -> str | None:
    """Why the interval's method differs from the one the protocol asked for (None when it does not),
    in words: method names from :data:`valkit.stats.METHODS`, never their keys.

    >>> method_note("wilson", "cluster_bootstrap_percentile", "auto", True)
    'the protocol named the Wilson score interval; patients have several images and the protocol says clustering: auto, so the patient-clustered method (patient-clustered bootstrap, percentile) is used'
    >>> method_note("wilson", "wilson", "auto", True) is None
    True
    """
    if used is None or used == requested:
        return None
    asked = f"the protocol named the {_method_name(requested)}"
    if used == "wilson_patients":
        return (f"{asked}; every patient-clustered resample gave the same proportion, so the Wilson "
                "score interval with the patients as the sample size (conservative) is used")
    if used == "delong" and requested == "clustered":
        return None
    why = (f"the protocol says clustering: {clustering}" if clustering_stated else
           "the protocol does not say how to handle several images per patient (its setting analysis.clustering), so "
           "valkit's default rule (auto) applies")
    return f"{asked}; patients have several images and {why}, so the patient-clustered method ({_method_name(used)}) is used"


def judge_endpoints(endpoints, estimator: ProportionEstimator, s: np.ndarray, *, clustering_stated: bool,
                    n_resamples: int) -> list[dict]:
    """Each endpoint's estimate, CI and verdict (PASS when the lower bound >= goal)."""
    out = []
    y = estimator.y
    for e in endpoints:
        if e.metric == "auc":
            cluster = estimator.patient if estimator.uses_clusters(np.arange(len(y))) else None
            est = auc_estimate(y, s, cluster, ci=e.ci_method, confidence_level=e.confidence_level,
                               seed=estimator.seed, n_resamples=n_resamples)
        else:
            est = estimator.estimate(ci=e.ci_method, confidence_level=e.confidence_level).estimates[e.metric]
        used = est.interval.method if est.interval is not None else None
        row = {
            "id": e.id,
            "metric": e.metric,
            "primary": e.primary,
            "goal": e.goal,
            "confidence_level": e.confidence_level,
            "ci_method": used or e.ci_method,
            "estimate": est.to_dict(),
            "ci_method_requested": e.ci_method,
            "ci_note": method_note(e.ci_method, used, estimator.clustering, clustering_stated),
            "verdict": "NO GOAL",
            "judged_on": None,
        }
        if e.goal is not None:
            v = stats.endpoint_verdict(est, goal=e.goal)
            row["verdict"], row["judged_on"] = DECISION_LABEL[v.decision], v.rule
            if e.metric != "auc" and est.denominator and not estimator.uses_clusters(np.arange(len(y))):
                # supporting evidence next to the CI verdict: one-sided exact test of H0: p <= goal
                # (only for independent images: on clustered images its p-value would be too small)
                test = stats.exact_binomial_test(int(est.numerator), int(est.denominator), goal=e.goal)
                row["exact_binomial_p"] = test.p_value
        out.append(row)
    return out
