"""Sample size and achieved power of each primary endpoint (results.json ``sample_size``).

For every primary endpoint with a goal, three answers, all from :mod:`valkit.stats.planning`:

* **achieved precision**: the half-width and width of the endpoint's printed interval;
* **achieved power**: the probability that the endpoint's rule (PASS when the lower bound of
  the interval >= goal) passes if the true value were the observed estimate, and, when the
  protocol states one, the planning value (``endpoints[].planning_value``). It is the CI
  method's own operating characteristic, summed over the binomial distribution
  (:func:`valkit.stats.interval_power`), at the effective number of cases;
* **sample size the goal needs**: exact binomial planning (Flahault et al. 2005,
  :func:`valkit.stats.exact_binomial_sample_size`, the function behind ``valkit plan``) at the
  observed estimate and the power target, scaled to all cases by the observed fraction of the
  endpoint's denominator. Exact power is saw-toothed in n, so the number given is the smallest
  from which every larger number reaches the target (``n_class_stable``).

Under patient clustering the Rao–Scott design effect of the endpoint's cases
(:func:`valkit.stats.proportion_design_effect`) divides the count into the effective sample
size for the power, and multiplies the planned size; a patient-clustered bootstrap interval
has no closed-form power, so the power uses the Wilson interval at the effective size.
An AUC endpoint gets its precision only.
"""
from __future__ import annotations

import math

import numpy as np

from valkit import stats
from valkit.analyses.estimates import DENOMINATOR_CASES, ProportionEstimator
from valkit.stats.intervals import PROPORTION_CI_METHODS

#: the power that the planned sample size must reach (the usual 80%; Flahault et al. 2005)
POWER_TARGET = 0.80


def _power(n_eff: int, value: float | None, goal: float, method: str, cl: float) -> float | None:
    if value is None or not 0 < value < 1 or n_eff < 1:
        return None
    return stats.interval_power(n_eff, expected=value, goal=goal, ci=method, confidence_level=cl)


def _row(endpoint, row: dict, estimator: ProportionEstimator) -> dict:
    est = row["estimate"]
    iv = est.get("interval") or {}
    lo, hi = iv.get("low"), iv.get("high")
    width = None if lo is None or hi is None else hi - lo
    out = {
        "id": row["id"], "metric": row["metric"], "goal": endpoint.goal, "estimate": est.get("value"),
        "confidence_level": endpoint.confidence_level, "ci_method": row["ci_method"],
        "half_width": None if width is None else width / 2, "width": width,
        "n": int(est.get("denominator") or est.get("n") or 0), "design_effect": 1.0, "n_effective": None,
        "power_method": None, "power_at_estimate": None, "planning_value": endpoint.planning_value,
        "power_at_planning_value": None, "power_target": POWER_TARGET,
        "n_needed": None, "n_needed_total": None, "note": None,
    }
    if row["metric"] == "auc":
        out["note"] = "precision only: the power for an AUC goal needs a variance model (not computed)"
        return out
    y, pred = estimator.y, estimator.pred
    in_den = DENOMINATOR_CASES[row["metric"]](y, pred)
    n = int(in_den.sum())
    clustered = estimator.uses_clusters(np.arange(len(y)))
    deff = 1.0
    if clustered and n:
        deff, _ = stats.proportion_design_effect((y == pred)[in_den].astype(int), estimator.patient[in_den])
    n_eff = int(math.floor(n / deff + 1e-9))
    method = row["ci_method"] if row["ci_method"] in PROPORTION_CI_METHODS else "wilson"
    value, goal, cl = est.get("value"), endpoint.goal, endpoint.confidence_level
    out.update(n=n, design_effect=deff, n_effective=n_eff, power_method=method,
               power_at_estimate=_power(n_eff, value, goal, method, cl),
               power_at_planning_value=(None if endpoint.planning_value is None
                                        else _power(n_eff, endpoint.planning_value, goal, method, cl)))
    if value is None or not goal < value < 1:
        out["note"] = ("the estimate does not exceed the goal: no sample size gives the goal 80% power at the "
                       "observed value")
        return out
    plan = stats.exact_binomial_sample_size(value, goal=goal, power=POWER_TARGET, confidence_level=cl)
    needed = int(math.ceil(plan.n_class_stable * deff - 1e-9))
    fraction = n / len(y) if len(y) else math.nan
    out.update(n_needed=needed, n_needed_total=int(math.ceil(needed / fraction - 1e-9)) if fraction > 0 else None)
    return out


def sample_size_block(protocol_endpoints, endpoint_rows: list[dict], estimator: ProportionEstimator) -> dict:
    """results.json ``sample_size``: one row per primary endpoint with a goal (see the module docstring)."""
    by_id = {e.id: e for e in protocol_endpoints}
    rows = [_row(by_id[r["id"]], r, estimator) for r in endpoint_rows
            if r["primary"] and r["goal"] is not None]
    clustered = estimator.uses_clusters(np.arange(len(estimator.y)))
    return {"power_target": POWER_TARGET, "clustered": clustered, "rows": rows}


__all__ = ["POWER_TARGET", "sample_size_block"]
