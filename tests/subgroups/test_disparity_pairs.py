"""Pairwise fairness gaps (valkit.stats.disparity): signed intervals, labels, multiplicity."""
from __future__ import annotations

import math

import numpy as np
import pytest

from valkit.stats.disparity import disparity
from valkit.stats.fairness import bootstrap_cell_counts, percentile_interval, rates


def test_one_pairwise_difference_and_its_interval_by_hand():
    # Two groups; TPR = TP / (TP + FN): group 0 = 3/4 = 0.75, group 1 = 1/4 = 0.25, so the observed
    # order is higher = 0, lower = 1 and the difference 0.75 - 0.25 = 0.5.
    counts = np.array([[3, 1, 1, 3], [1, 1, 3, 3]])
    # five hand-made resamples (TP, FP, FN, TN): TPRs (g0, g1) = (.25, .5), (.5, .5), (.5, .25), (.75, .25), (1, .25)
    reps = np.array([
        [[1, 1, 3, 3], [2, 1, 2, 3]],
        [[2, 1, 2, 3], [2, 1, 2, 3]],
        [[2, 1, 2, 3], [1, 1, 3, 3]],
        [[3, 1, 1, 3], [1, 1, 3, 3]],
        [[4, 1, 0, 3], [1, 1, 3, 3]],
    ])
    # signed replicates rate[0] - rate[1], the order fixed by the data: -0.25, 0, 0.25, 0.5, 0.75.
    # A 50% percentile interval takes the 25th and 75th percentiles; with numpy's default (linear,
    # Hyndman & Fan type 7) they sit at positions 0.25 * 4 = 1 and 0.75 * 4 = 3 of the sorted list:
    # 0 and 0.5. The interval contains 0; the old max - min replicates (0.25, 0, 0.25, 0.5, 0.75)
    # gave [0.25, 0.5], which cannot.
    d = disparity(counts, reps, "tpr_difference", confidence_level=0.5)
    [p] = d.pairs
    assert (p.rate, p.higher, p.lower, p.value) == ("tpr", 0, 1, 0.5)
    assert (p.interval.low, p.interval.high) == (0.0, 0.5)
    assert (d.value, d.interval.low, d.interval.high, d.highest, d.lowest) == (0.5, 0.0, 0.5, 0, 1)
    # one pair, one comparison: the Bonferroni interval is the unadjusted one
    assert d.n_comparisons == 1 and (p.adjusted_interval.low, p.adjusted_interval.high) == (0.0, 0.5)
    # the ratio keeps the same orientation: rate[1] / rate[0] = 1/3 observed; replicates 2, 1, .5, 1/3, .25
    r = disparity(counts, reps, "tpr_ratio", confidence_level=0.5).pairs[0]
    assert r.value == pytest.approx(1 / 3) and (r.interval.low, r.interval.high) == (pytest.approx(1 / 3), 1.0)


def test_the_headline_gap_is_labelled_with_the_pair_and_rate_that_give_it():
    """Issue #11 item 5 (the Table 28 label): equalized odds took its value from the FPR gap but its
    'between' groups from the TPR ordering, so a 40% FPR gap between groups 2 and 0 was labelled
    '0 vs 1' (the TPR extremes)."""
    # TPR: 0.90, 0.60, 0.85 (gap 0.30 between 0 and 1); FPR: 0.10, 0.10, 0.50 (gap 0.40 between 2 and 0)
    counts = np.array([[90, 10, 10, 90], [60, 10, 40, 90], [85, 50, 15, 50]])
    eo = disparity(counts, None, "equalized_odds_difference")
    assert eo.value == pytest.approx(0.4) and (eo.rate, eo.highest, eo.lowest) == ("fpr", 2, 0)
    tpr = disparity(counts, None, "tpr_difference")
    assert tpr.value == pytest.approx(0.3) and (tpr.highest, tpr.lowest) == (0, 1)
    # ratios: the smallest pair ratio, FPR 0.1 / 0.5 between groups 0 (or 1) and 2
    eor = disparity(counts, None, "equalized_odds_ratio")
    assert eor.value == pytest.approx(0.2) and (eor.rate, eor.highest, eor.lowest) == ("fpr", 2, 0)
    assert len(eo.pairs) == 6 and eo.n_comparisons == 6  # 3 pairs x 2 rates


def test_bonferroni_interval_is_wider_and_at_one_minus_alpha_over_m():
    rng = np.random.default_rng(0)
    n = 1200
    cell = rng.integers(0, 4, n)
    y = rng.integers(0, 2, n)
    pred = (rng.random(n) < np.where(y == 1, 0.8, 0.2)).astype(int)
    boot = bootstrap_cell_counts(y, pred, cell, n_resamples=2000, seed=1)
    d = disparity(boot.counts, boot.replicates, "fpr_difference")
    assert d.n_comparisons == 6 and d.adjusted_confidence_level == pytest.approx(1 - 0.05 / 6)
    for p in d.pairs:
        assert p.adjusted_interval.low <= p.interval.low < p.interval.high <= p.adjusted_interval.high
        diff = rates(boot.replicates)["fpr"][:, p.higher] - rates(boot.replicates)["fpr"][:, p.lower]
        lo, hi, _ = percentile_interval(diff[:, None], confidence_level=1 - 0.05 / 6)
        assert (p.adjusted_interval.low, p.adjusted_interval.high) == (lo[0], hi[0])


def test_equal_true_rates_signed_interval_covers_zero_and_max_minus_min_never_does():
    """Simulation, fixed seed: two groups with the same true TPR (0.8) and FPR (0.2), 150 and 230
    positives (unequal sizes, so resampled rates are almost never exactly equal). The signed pair
    interval should contain 0 in about 95% of 400 simulated studies (binomial SE 1.1%: band
    0.91-0.99); the old percentile interval of max - min is > 0 in every one of them."""
    rng = np.random.default_rng(20240611)
    n_sim, covered, old_covered = 400, 0, 0
    for s in range(n_sim):
        y = np.r_[np.ones(150), np.zeros(150), np.ones(230), np.zeros(230)].astype(int)
        cell = np.r_[np.zeros(300), np.ones(460)].astype(int)
        pred = (rng.random(len(y)) < np.where(y == 1, 0.8, 0.2)).astype(int)
        boot = bootstrap_cell_counts(y, pred, cell, n_resamples=500, seed=s)
        d = disparity(boot.counts, boot.replicates, "tpr_difference")
        covered += d.interval.low <= 0 <= d.interval.high
        tpr = rates(boot.replicates)["tpr"]
        old_lo, old_hi, _ = percentile_interval((tpr.max(axis=1) - tpr.min(axis=1))[:, None])
        old_covered += old_lo[0] <= 0 <= old_hi[0]
    assert 0.91 <= covered / n_sim <= 0.99
    assert old_covered == 0


def test_a_pair_with_an_undefined_rate_is_not_estimable_and_so_is_the_headline():
    counts = np.array([[10, 2, 5, 20], [0, 3, 0, 9], [8, 3, 2, 30]])  # group 1: no positives
    d = disparity(counts, None, "tpr_difference")
    assert math.isnan(d.value) and d.highest is None and d.warnings[0].startswith("not_estimable")
    assert [math.isfinite(p.value) for p in d.pairs] == [False, True, False]
