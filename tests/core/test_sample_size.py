"""results.json ``sample_size``: achieved precision, power and the size each primary goal needs (issue #15).

The expected numbers are recomputed here from the planning functions and from the ratio-estimator
design effect (Rao & Scott 1992), independently of valkit.analyses.sample_size's arithmetic.
"""
import math

import numpy as np
import pytest

from valkit import stats
from valkit.analyses.endpoints import judge_endpoints
from valkit.analyses.estimates import ProportionEstimator
from valkit.analyses.sample_size import POWER_TARGET, sample_size_block
from valkit.protocol import Endpoint


def _data(n_pos=120, n_neg=180, sens=0.85, spec=0.80, seed=3):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
    pred = np.r_[rng.random(n_pos) < sens, rng.random(n_neg) >= spec].astype(int)
    return y, pred


ENDPOINTS = [Endpoint(id="sens", metric="sensitivity", goal=0.70, planning_value=0.88),
             Endpoint(id="spec", metric="specificity", goal=0.70, ci="clopper_pearson"),
             Endpoint(id="ppv", metric="ppv", goal=0.5, primary=False)]


def _block(y, pred, patient, endpoints=ENDPOINTS):
    est = ProportionEstimator(y, pred, patient, seed=1, n_resamples=400)
    rows = judge_endpoints(endpoints, est, pred.astype(float), clustering_stated=True, n_resamples=400)
    return rows, sample_size_block(endpoints, rows, est)


def test_independent_images():
    y, pred = _data()
    rows, block = _block(y, pred, np.arange(len(y)))
    assert [r["id"] for r in block["rows"]] == ["sens", "spec"]  # primary endpoints with a goal only
    assert block["power_target"] == POWER_TARGET and block["clustered"] is False
    sens = block["rows"][0]
    tp, n_pos = int(pred[y == 1].sum()), int((y == 1).sum())
    iv = stats.wilson_interval(tp, n_pos)
    assert sens["n"] == sens["n_effective"] == n_pos and sens["design_effect"] == 1.0
    assert sens["half_width"] == pytest.approx((iv.high - iv.low) / 2)
    assert sens["power_method"] == "wilson"
    assert sens["power_at_estimate"] == pytest.approx(
        stats.interval_power(n_pos, expected=tp / n_pos, goal=0.70, ci="wilson"))
    assert sens["power_at_planning_value"] == pytest.approx(
        stats.interval_power(n_pos, expected=0.88, goal=0.70, ci="wilson"))
    plan = stats.exact_binomial_sample_size(tp / n_pos, goal=0.70, power=POWER_TARGET)
    assert sens["n_needed"] == plan.n_class_stable
    assert sens["n_needed_total"] == math.ceil(plan.n_class_stable / (n_pos / len(y)))
    assert block["rows"][1]["power_method"] == "clopper_pearson"  # the endpoint's own interval
    assert block["rows"][1]["power_at_planning_value"] is None


def test_patient_clustering_inflates_by_the_observed_design_effect():
    y, pred = _data()
    # every patient imaged twice with the same result: the design effect is about 2
    y2, pred2, patient = np.repeat(y, 2), np.repeat(pred, 2), np.repeat(np.arange(len(y)), 2)
    _, flat = _block(y, pred, np.arange(len(y)))
    _, block = _block(y2, pred2, patient)
    assert block["clustered"] is True
    sens, flat_sens = block["rows"][0], flat["rows"][0]
    deff, _ = stats.proportion_design_effect(pred2[y2 == 1], patient[y2 == 1])
    assert sens["design_effect"] == pytest.approx(deff) and 1.9 < deff < 2.1
    assert sens["n"] == 2 * flat_sens["n"] and sens["n_effective"] == math.floor(sens["n"] / deff)
    assert sens["power_method"] == "wilson"  # the bootstrap interval has no closed-form power
    assert sens["ci_method"] == "cluster_bootstrap_percentile"
    assert sens["n_needed"] == math.ceil(flat_sens["n_needed"] * deff)
    # about the same evidence as one image per patient, so about the same power
    assert sens["power_at_estimate"] == pytest.approx(flat_sens["power_at_estimate"], abs=0.03)


def test_an_estimate_below_its_goal_gets_no_sample_size():
    y, pred = _data(sens=0.6, seed=4)
    _, block = _block(y, pred, np.arange(len(y)), [Endpoint(id="sens", metric="sensitivity", goal=0.75)])
    row = block["rows"][0]
    assert row["n_needed"] is None and "does not exceed the goal" in row["note"]
    assert row["power_at_estimate"] < 0.05


def test_auc_endpoint_gets_precision_only():
    y, pred = _data()
    score = pred + np.random.default_rng(0).normal(0, 0.5, len(y))
    ep = [Endpoint(id="auc", metric="auc", goal=0.6)]
    est = ProportionEstimator(y, pred, np.arange(len(y)), seed=1, n_resamples=200)
    rows = judge_endpoints(ep, est, score, clustering_stated=True, n_resamples=200)
    row = sample_size_block(ep, rows, est)["rows"][0]
    assert row["half_width"] > 0 and row["power_at_estimate"] is None and "precision only" in row["note"]
