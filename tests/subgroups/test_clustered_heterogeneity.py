"""Heterogeneity and subgroup-difference tests with patients who contribute several images (issue #11).

The per-level logit variance must be cluster-robust (Rao & Scott 1992) when images are clustered
within patients; otherwise Cochran's Q rejects a true null far too often.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from valkit.stats.clustered_logit import clustered_logit_transform
from valkit.stats.heterogeneity import logit_transform, pooled_proportion, random_effects
from valkit.stats.validation import StatsInputError


def clustered_sample(rng: np.random.Generator, n_patients: int, *, a: float, b: float, k: int):
    """Patients with 1-5 images; each patient's own detection rate ~ Beta(a, b) (so images of one
    patient are correlated, intracluster correlation 1 / (a + b + 1)); level assigned per patient."""
    m = rng.integers(1, 6, n_patients)
    rate = rng.beta(a, b, n_patients)
    level = rng.integers(0, k, n_patients)
    pid = np.repeat(np.arange(n_patients), m)
    y = (rng.random(pid.size) < rate[pid]).astype(float)
    return y, level[pid], pid


# ----------------------------------------------------------------------------- the variance itself
def test_variance_is_the_gee_sandwich_times_rao_scott_small_sample_factor():
    # Oracle: statsmodels 0.15.0 GEE, intercept-only logistic model, independence working
    # correlation, robust covariance = sum_i (x_i - p n_i)^2 / (n p (1 - p))^2 (no small-sample
    # factor); Rao & Scott (1992, eq. 2.2) multiply the ratio-estimator variance by I / (I - 1).
    import statsmodels.api as sm

    y, level, pid = clustered_sample(np.random.default_rng(3), 60, a=2.0, b=1.0, k=2)
    d = clustered_logit_transform(y, level, pid)
    for j in range(2):
        m = level == j
        gee = sm.GEE(y[m], np.ones((m.sum(), 1)), groups=pid[m], family=sm.families.Binomial(),
                     cov_struct=sm.cov_struct.Independence()).fit()
        n_pat = len(np.unique(pid[m]))
        assert d.n_clusters[j] == n_pat
        assert d.effects[j] == pytest.approx(gee.params[0], rel=1e-10)
        assert d.design_effect[j] > 1  # clustered: the floor does not bind here
        assert d.variances[j] == pytest.approx(gee.cov_params()[0, 0] * n_pat / (n_pat - 1), rel=1e-8)


def test_one_image_per_patient_gives_the_binomial_variance_times_n_over_n_minus_1():
    rng = np.random.default_rng(0)
    y = (rng.random(90) < 0.7).astype(float)
    level = np.repeat([0, 1, 2], 30)
    d = clustered_logit_transform(y, level, np.arange(90))
    b = logit_transform(np.bincount(level, y), np.bincount(level))
    assert np.allclose(d.design_effect, 30 / 29) and np.allclose(d.variances, b.variances * 30 / 29)
    assert np.array_equal(d.effects, b.effects) and d.method == "cluster_robust_patient"


def test_boundary_levels_count_each_patient_once_with_the_continuity_correction():
    # level 0: 10 of 10 detected, from 4 patients -> d = n / I = 2.5, Var = 1/(4 + .5) + 1/.5
    # level 1: 0 of 6 from 6 patients -> d = 1, the corrected binomial 1/.5 + 1/6.5
    y = np.r_[np.ones(10), np.zeros(6)]
    pid = np.r_[[1, 1, 1, 2, 2, 2, 3, 3, 4, 4], np.arange(10, 16)]
    d = clustered_logit_transform(y, np.r_[np.zeros(10, int), np.ones(6, int)], pid)
    b = logit_transform([10, 0], [10, 6])
    assert np.array_equal(d.effects, b.effects) and d.corrected.tolist() == [True, True]
    assert d.variances[0] == pytest.approx(1 / 4.5 + 1 / 0.5)
    assert d.variances[1] == pytest.approx(b.variances[1])
    assert d.design_effect.tolist() == [2.5, 1.0]


def test_a_single_patient_level_is_one_observation():
    # 3 of 5 images from one patient: the sandwich is undefined (I - 1 = 0); d = n / I = 5
    d = clustered_logit_transform([1, 1, 1, 0, 0, 1, 0], [0] * 5 + [1] * 2, [7] * 5 + [8, 9])
    assert d.design_effect[0] == 5 and d.variances[0] == pytest.approx(5 * (1 / 3 + 1 / 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(1, 4)), min_size=2, max_size=40))
def test_never_narrower_than_the_corrected_binomial(patients):
    # patients: (level, events, images) with events <= images; keep levels 0 .. k-1 non-empty
    levels = sorted({p[0] for p in patients})
    code = {lv: i for i, lv in enumerate(levels)}
    y, lv, pid = [], [], []
    for i, (level, ev, m) in enumerate(patients):
        ev = min(ev, m)
        y += [1.0] * ev + [0.0] * (m - ev)
        lv += [code[level]] * m
        pid += [i] * m
    d = clustered_logit_transform(y, np.asarray(lv), pid)
    b = logit_transform(np.bincount(lv, weights=y), np.bincount(lv))
    assert (d.variances >= b.variances * (1 - 1e-12)).all() and (d.design_effect >= 1).all()
    assert np.isfinite(d.variances).all() and np.array_equal(d.effects, b.effects)


def test_bad_input_names_the_problem():
    with pytest.raises(StatsInputError, match="levels \\[1\\] have no images"):
        clustered_logit_transform([1, 0], [0, 2], [1, 2])
    with pytest.raises(StatsInputError, match="expected 0/1"):
        clustered_logit_transform([2, 0], [0, 0], [1, 2])
    with pytest.raises(StatsInputError, match="one level per image"):
        clustered_logit_transform([1, 0], [0], [1, 2])


def test_pooled_proportion_uses_the_given_variances_everywhere():
    y, level, pid = clustered_sample(np.random.default_rng(5), 200, a=0.8, b=0.2, k=4)
    d = clustered_logit_transform(y, level, pid)
    x, n = np.bincount(level, y), np.bincount(level)
    r = pooled_proportion(x, n, method="dl", variances=d.variances)
    ref = random_effects(d.effects, d.variances, method="dl")
    assert (r.meta.q, r.meta.tau2, r.meta.estimate) == pytest.approx((ref.q, ref.tau2, ref.estimate))
    assert r.leave_one_out_meta[0].q == pytest.approx(random_effects(d.effects[1:], d.variances[1:], method="dl").q)
    assert r.meta.q < pooled_proportion(x, n, method="dl").meta.q  # the binomial variances inflate Q
    with pytest.raises(StatsInputError, match="variances has 3 values"):
        pooled_proportion(x, n, variances=d.variances[:3])


# ----------------------------------------------------------------------------- null simulation
def _q_p_values(effects: np.ndarray, variances: np.ndarray) -> float:
    w = 1 / variances
    mu = (w * effects).sum() / w.sum()
    return float(chi2.sf((w * (effects - mu) ** 2).sum(), effects.size - 1))


def test_null_simulation_site_test_holds_its_size_only_with_clustered_variances():
    """No site effect (sites assigned at random to patients); patients have 1-5 correlated images.

    200 data sets (seed fixed), 4 sites, 400 patients each with Beta(0.8, 0.2) detection rate
    (mean 0.8, intracluster correlation 0.5). Monte Carlo error of a rejection rate near 5% over
    200 data sets: sqrt(.05 * .95 / 200) = 1.5 percentage points, so the band 1.5%-10% is the
    nominal 5% +- about 2.5 MC standard errors (plus a little liberality of the sandwich with ~100
    patients per site: 5.3% over 2000 data sets in development). The image-level (binomial) test
    rejected 32% over 2000 data sets; asserting > 20% here leaves it room for MC error too.
    """
    rng = np.random.default_rng(20240611)
    n_sims, k = 200, 4
    rejected_binomial = rejected_clustered = 0
    for _ in range(n_sims):
        y, level, pid = clustered_sample(rng, 400, a=0.8, b=0.2, k=k)
        b = logit_transform(np.bincount(level, y, minlength=k), np.bincount(level, minlength=k))
        c = clustered_logit_transform(y, level, pid, n_levels=k)
        rejected_binomial += _q_p_values(b.effects, b.variances) < 0.05
        rejected_clustered += _q_p_values(c.effects, c.variances) < 0.05
    print(f"rejection rates: binomial {rejected_binomial / n_sims:.3f}, clustered {rejected_clustered / n_sims:.3f}")
    assert rejected_binomial / n_sims > 0.20
    assert 0.015 <= rejected_clustered / n_sims <= 0.10
