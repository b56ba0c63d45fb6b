"""The paired difference of proportions between two model versions under patient clustering (issue #13).

Without clustering the Newcombe / Tango paired intervals treat every image as an independent pair;
with several images per patient they are too narrow (the rule of issue #11: every interval and test
is patient-clustered when patients have several images).
"""
from __future__ import annotations

import numpy as np
import pytest

from valkit import stats
from valkit.stats.clustered_paired import clustered_paired_difference, paired_design_effect


def _pairs(rng: np.random.Generator, n_patients: int, images: int):
    # patient-level truth of "version A right" and "version B right", copied to every image of the patient
    a = rng.random(n_patients) < 0.85
    b = rng.random(n_patients) < 0.80
    cluster = np.repeat(np.arange(n_patients), images)
    return np.repeat(a, images).astype(int), np.repeat(b, images).astype(int), cluster


@pytest.mark.parametrize("interval", ["newcombe", "tango"])
def test_one_pair_per_patient_gives_the_published_methods(interval):
    # Newcombe (1998c) cells (36, 12, 2, 0): 0.0569 to 0.3404; Tango: the unclustered function itself
    a = [1] * 36 + [1] * 12 + [0] * 2
    b = [1] * 36 + [0] * 12 + [1] * 2
    got = clustered_paired_difference(a, b, range(50), interval=interval).estimate.interval
    ref = (stats.paired_proportion_difference(a, b) if interval == "newcombe"
           else stats.tango_score_interval(12, 2, 50)).interval
    assert (got.low, got.high) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_duplicated_images_do_not_narrow_the_interval_but_the_unclustered_one_does():
    a, b, cluster = _pairs(np.random.default_rng(3), 120, 1)
    once = clustered_paired_difference(a, b, cluster).estimate.interval
    a3, b3, c3 = np.repeat(a, 3), np.repeat(b, 3), np.repeat(cluster, 3)
    thrice = clustered_paired_difference(a3, b3, c3)
    assert thrice.design_effect == pytest.approx(3.0, rel=0.02)
    assert thrice.estimate.interval.high - thrice.estimate.interval.low == pytest.approx(once.high - once.low, rel=0.05)
    naive = stats.paired_proportion_difference(a3, b3).interval
    assert naive.high - naive.low < 0.7 * (once.high - once.low)  # the defect: images counted as patients


def test_no_discordant_pair_takes_the_largest_design_effect():
    a = [1, 1, 1, 1, 0, 0]
    assert paired_design_effect(a, a, [0, 0, 1, 1, 2, 2]) == (2.0, 3)


def test_coverage_under_clustering():
    """200 simulated comparisons of two versions with equal accuracy, 1-4 images per patient whose
    calls are shared within the patient: the 95% interval covers 0 in at least 90% (Monte Carlo
    standard error 1.5 points); the unclustered interval falls well short."""
    rng = np.random.default_rng(20261203)
    cover = naive = 0
    sims = 200
    for _ in range(sims):
        n_pat = 150
        k = rng.integers(1, 5, n_pat)
        pa, pb = rng.random(n_pat) < 0.8, rng.random(n_pat) < 0.8
        cl = np.repeat(np.arange(n_pat), k)
        a, b = np.repeat(pa, k).astype(int), np.repeat(pb, k).astype(int)
        iv = clustered_paired_difference(a, b, cl).estimate.interval
        cover += iv.low <= 0 <= iv.high
        nv = stats.paired_proportion_difference(a, b).interval
        naive += nv.low <= 0 <= nv.high
    assert cover / sims >= 0.90
    assert naive / sims < cover / sims - 0.05
