"""Property-based tests (hypothesis) of the ROC and proportion machinery."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import valkit.stats as vs
from stats_oracles import delong_naive

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def labelled_scores(draw, min_size=4, max_size=40, levels=None):
    n = draw(st.integers(min_size, max_size))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    assume(0 < sum(y) < n)
    if levels is None:
        levels = draw(st.integers(2, 30))
    s = draw(st.lists(st.integers(0, levels), min_size=n, max_size=n))
    return np.array(y), np.array(s, dtype=float)


@SETTINGS
@given(labelled_scores())
def test_auc_invariant_to_strictly_increasing_transform(data):
    y, s = data
    a = vs.roc_auc(y, s, ci=None).value
    for f in (lambda v: 3 * v + 7, lambda v: np.exp(v / 7.0), lambda v: v**3):
        assert vs.roc_auc(y, f(s), ci=None).value == pytest.approx(a, abs=1e-12)


@SETTINGS
@given(labelled_scores())
def test_flipping_labels_gives_one_minus_auc(data):
    y, s = data
    assert vs.roc_auc(1 - y, s, ci=None).value == pytest.approx(1 - vs.roc_auc(y, s, ci=None).value, abs=1e-12)


@SETTINGS
@given(labelled_scores())
def test_auc_matches_sklearn(data):
    from sklearn.metrics import roc_auc_score

    y, s = data
    assert vs.roc_auc(y, s, ci=None).value == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@SETTINGS
@given(labelled_scores(min_size=6), labelled_scores(min_size=6))
def test_fast_delong_equals_naive(d1, d2):
    y, s = d1
    # a second score for the same cases, derived from the other draw (resized)
    s2 = np.resize(d2[1], len(y)) + 0.5 * y
    assume(min(y.sum(), len(y) - y.sum()) >= 2)
    aucs, cov = vs.delong_covariance(y, s, s2)
    aucs_n, cov_n = delong_naive(y, s, s2)
    assert np.allclose(aucs, aucs_n, atol=1e-12)
    assert np.allclose(cov, cov_n, atol=1e-14)


@SETTINGS
@given(labelled_scores(min_size=6))
def test_delong_interval_contains_estimate_and_stays_in_unit_interval(data):
    y, s = data
    assume(min(y.sum(), len(y) - y.sum()) >= 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vs.NotEstimableWarning)  # zero-variance cases allowed here
        est = vs.roc_auc(y, s)
    if not math.isnan(est.interval.low):
        assert 0.0 <= est.interval.low <= est.value <= est.interval.high <= 1.0
    else:
        assert est.warnings


@SETTINGS
@given(st.integers(0, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from(sorted(vs.PROPORTION_CI_METHODS)),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_proportion_intervals_contain_estimate_within_unit_interval(xn, ci, cl):
    x, n = xn
    assume(n > 0)
    est = vs.proportion(x, n, ci=ci, confidence_level=cl)
    assert 0.0 <= est.interval.low <= est.value <= est.interval.high <= 1.0


@SETTINGS
@given(st.integers(1, 60), st.integers(1, 60), st.data())
def test_newcombe_differences_contain_estimate(n1, n2, data):
    x1, x2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    est = vs.proportion_difference(x1, n1, x2, n2)
    assert -1 <= est.interval.low <= est.value <= est.interval.high <= 1
    e, f, g, h = (data.draw(st.integers(0, 20)) for _ in range(4))
    assume(e + f + g + h > 0)
    est = vs.paired_proportion_difference_from_counts(e, f, g, h)
    assert -1 <= est.interval.low <= est.value + 1e-12 and est.value <= est.interval.high + 1e-12 <= 1 + 1e-12


@SETTINGS
@given(labelled_scores(min_size=8, max_size=30), st.integers(0, 2**31 - 1))
def test_bootstrap_with_seed_is_reproducible(data, seed):
    y, s = data
    cluster = np.arange(len(y)) // 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vs.NotEstimableWarning)
        a = vs.bootstrap_ci("auc", y, s, cluster=cluster, strata=y, n_resamples=50, seed=seed)
        b = vs.bootstrap_ci("auc", y, s, cluster=cluster, strata=y, n_resamples=50, seed=seed)
    assert a == b


@SETTINGS
@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.5, 0.7, 0.8, 0.9]))
def test_exact_test_agrees_with_clopper_pearson_bound(xn, goal):
    # the CP lower bound clears the goal exactly when the one-sided exact test rejects at 2.5%
    x, n = xn
    r = vs.exact_binomial_test(x, n, goal=goal)
    assert (r.interval.low >= goal) == (r.p_value <= 0.025)


@SETTINGS
@given(n=st.integers(1, 400), data=st.data(), all_successes=st.booleans())
def test_clustered_boundary_interval_contains_the_point_and_is_no_narrower_than_wilson(n, data, all_successes):
    k = data.draw(st.integers(1, n))  # patients behind the n images
    x = n if all_successes else 0
    iv = vs.clustered_boundary_interval(x, n, k)
    on_images = vs.wilson_interval(x, n)
    assert 0.0 <= iv.low <= x / n <= iv.high <= 1.0
    assert iv.low <= on_images.low + 1e-15 and iv.high >= on_images.high - 1e-15  # fewer patients: wider
    if k == n:  # one image per patient: exactly Wilson
        assert (iv.low, iv.high) == (on_images.low, on_images.high)
