"""Percentiles and their confidence intervals: reference values, an independent implementation, properties."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valkit.latency.percentiles import (
    histogram,
    min_samples_for_upper_bound,
    nearest_rank,
    order_statistic_ranks,
    percentile_estimate,
    summarize,
    throughput_knee,
)


def test_nearest_rank_matches_textbook_example():
    # Wikipedia "Percentile", nearest-rank method worked example: {15, 20, 35, 40, 50}
    x = [15, 20, 35, 40, 50]
    assert [nearest_rank(x, p) for p in (5, 30, 40, 50, 100)] == [15, 20, 20, 35, 50]


def test_nearest_rank_equals_numpy_inverted_cdf():
    # Hyndman & Fan definition 1 is numpy's method="inverted_cdf"
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 100, 1001):
        x = rng.exponential(size=n)
        for p in (1, 50, 90, 95, 99, 100):
            assert nearest_rank(x, p) == np.percentile(x, p, method="inverted_cdf")


def test_order_statistic_ranks_published_values():
    # Conover (1999), Practical Nonparametric Statistics, Table A3: median, n = 10 -> (X_(2), X_(9))
    assert order_statistic_ranks(10, 50) == (2, 9)
    # the often-quoted n = 100 median interval (X_(40), X_(61))
    assert order_statistic_ranks(100, 50) == (40, 61)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20, 37, 71, 72, 100, 250, 367, 368, 500, 1000])
@pytest.mark.parametrize("p", [50, 90, 95, 99])
def test_order_statistic_interval_equals_scipy_quantile_test(n, p):
    # independent implementation: scipy.stats.quantile_test(...).confidence_interval() (SciPy 1.17.1),
    # the exact binomial interval; on the data 1..n the interval values are the ranks
    from scipy.stats import quantile_test

    x = np.arange(1, n + 1, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when a bound is not available
        ci = quantile_test(x, q=float(np.median(x)), p=p / 100).confidence_interval(0.95)
    ref = tuple(float(v) if np.isfinite(v) else None for v in (ci.low, ci.high))
    r, s = order_statistic_ranks(n, p)
    assert (float(r) if r else None, float(s) if s else None) == ref


def test_upper_bound_appears_exactly_at_min_samples():
    for p in (90, 95, 99):
        n = min_samples_for_upper_bound(p)
        assert order_statistic_ranks(n, p)[1] is not None
        assert order_statistic_ranks(n - 1, p)[1] is None


def test_missing_bound_is_nan_with_a_reason():
    est = percentile_estimate(np.arange(100.0), 99)
    assert math.isnan(est.interval.high) and not math.isnan(est.interval.low)
    assert any("needs at least 368" in w for w in est.warnings)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.001, 1e4, allow_nan=False), min_size=1, max_size=300),
       st.sampled_from([50, 90, 95, 99]))
def test_interval_contains_estimate(xs, p):
    est = percentile_estimate(xs, p)
    lo, hi = est.interval.low, est.interval.high
    assert math.isnan(lo) or lo <= est.value
    assert math.isnan(hi) or est.value <= hi


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.001, 1e4, allow_nan=False), min_size=2, max_size=200),
       st.floats(0.5, 1000), st.floats(0, 100))
def test_percentiles_are_equivariant_under_positive_affine_maps(xs, a, b):
    # a clock in other units or with an offset must give the same ranks
    x = np.asarray(xs)
    for p in (50, 95):
        e1, e2 = percentile_estimate(x, p), percentile_estimate(a * x + b, p)
        assert e2.value == pytest.approx(a * e1.value + b)


def test_order_statistic_coverage_by_simulation():
    # nominal 95 %: the distribution-free interval must cover the true p95 at least ~95 % of the time
    rng = np.random.default_rng(1)
    true_p95 = -math.log(0.05)  # exponential(1)
    hits = sum(
        percentile_estimate(rng.exponential(size=200), 95).interval.contains(true_p95) for _ in range(400)
    )
    assert hits / 400 >= 0.93  # MC standard error ~0.011 at 0.95


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    x = np.random.default_rng(2).lognormal(size=500)
    a = percentile_estimate(x, 95, ci="bootstrap", seed=11, resamples=500)
    b = percentile_estimate(x, 95, ci="bootstrap", seed=11, resamples=500)
    assert a.interval == b.interval and a.interval.method == "bootstrap"
    assert a.interval.low <= a.value <= a.interval.high


def test_unknown_ci_method_suggests_the_right_one():
    with pytest.raises(ValueError, match="Did you mean 'bootstrap'"):
        percentile_estimate([1.0, 2.0], 50, ci="bootstrp")


def test_summary_of_known_samples():
    s = summarize(np.arange(1.0, 401.0)).to_dict()
    assert (s["p50"]["value"], s["p90"]["value"], s["p95"]["value"], s["p99"]["value"]) == (200, 360, 380, 396)
    assert s["max"] == 400 and s["min"] == 1 and s["mean"]["value"] == pytest.approx(200.5)
    assert s["n"] == 400 and s["p99"]["ci_high"] is not None


def test_histogram_counts_every_sample():
    x = np.random.default_rng(0).normal(size=1000)
    h = histogram(x, bins=17)
    assert sum(h["counts"]) == 1000 and len(h["edges"]) == 18


def test_knee_is_first_batch_within_fraction_of_peak():
    k = throughput_knee([1, 8, 32, 64, 128], [10, 70, 91, 100, 99], fraction=0.9)
    assert (k.batch_size, k.peak_batch_size, k.peak_throughput) == (32, 64, 100)
    k = throughput_knee([1, 8, 32], [10, float("nan"), 12], fraction=0.9)
    assert k.batch_size == 32  # an unmeasured size is ignored
    assert throughput_knee([], [], fraction=0.9).batch_size is None
