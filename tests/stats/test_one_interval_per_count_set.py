"""Issue #11 items 2 and 4: one set of counts gets one interval, and the evidence rule counts patients.

The defects: Cobalt specificity 17/109 printed with four different intervals in one report
(the per-manufacturer table, the subgroup family, the site x manufacturer cell and the model
family each drew their own bootstrap); "F x 0-17 sensitivity 3/7" (7 positive images of one
patient) passed the evidence rule and printed "42.9–42.9%".
"""
from __future__ import annotations

import numpy as np
import pytest

from valkit.analyses.estimates import ProportionEstimator, case_set_digest
from valkit.stats import wilson_interval, wilson_patients_interval


def _study(seed: int = 3, n_patients: int = 120):
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 4, n_patients)                       # 1-3 images per patient
    patient = np.repeat(np.arange(n_patients), k)
    y = rng.integers(0, 2, n_patients)[patient]
    pred = np.where(rng.random(len(patient)) < 0.8, y, 1 - y)
    return y, pred, patient


def test_the_same_cases_get_the_same_interval_whichever_section_asks():
    y, pred, patient = _study()
    est = ProportionEstimator(y, pred, patient, seed=11, n_resamples=400)
    cases = np.flatnonzero(patient % 3 == 0)
    a = est.estimate(cases)                                   # e.g. asked by the scanner table
    b = est.estimate(cases[::-1].copy())                      # the same cases in another order (another family)
    c = est.estimate(np.isin(np.arange(len(y)), cases))       # as a mask
    assert a is b is c                                        # computed once, shared
    # a second estimator (another run of the analysis) reproduces it from the seed and the case set
    d = ProportionEstimator(y, pred, patient, seed=11, n_resamples=400).estimate(cases)
    assert d.estimates["specificity"].interval == a.estimates["specificity"].interval
    assert a.estimates["specificity"].method == "cluster_bootstrap_percentile"


def test_different_case_sets_with_equal_counts_are_different_sets():
    # the digest is of the cases, not of the counts: different cases are different estimates
    assert case_set_digest(np.array([1, 2, 3])) == case_set_digest(np.array([3, 2, 1, 1]))
    assert case_set_digest(np.array([1, 2, 3])) != case_set_digest(np.array([1, 2, 4]))


def test_the_evidence_rule_counts_patients_under_clustering():
    # 7 positive images from ONE patient (3 detected) and 7 negatives from 7 patients
    y = np.array([1] * 7 + [0] * 7)
    pred = np.array([1, 1, 1, 0, 0, 0, 0] + [0] * 7)
    patient = np.array([0] * 7 + list(range(1, 8)))
    cs = ProportionEstimator(y, pred, patient, seed=1, n_resamples=300).estimate()
    assert (cs.n_positive, cs.n_positive_patients) == (7, 1)
    assert cs.clustered
    assert not cs.evidence(min_positives=5, min_negatives=5)   # 7 images but 1 patient: insufficient
    # with one image per patient the rule is the image rule, as before
    flat = ProportionEstimator(y, pred, np.arange(14), seed=1, n_resamples=300).estimate()
    assert not flat.clustered and flat.evidence(min_positives=5, min_negatives=5)


def test_a_clustered_interval_is_never_printed_with_zero_width():
    # reference: Wilson score interval with the patients as the sample size (design effect = images
    # per patient, its largest value); for p = 3/7 on 1 patient computed by hand from Wilson (1927):
    # centre (p + z²/2)/(1 + z²), half-width z/(1+z²)·sqrt(p(1-p) + z²/4), z = 1.959964
    y = np.array([1] * 7 + [0] * 7)
    pred = np.array([1, 1, 1, 0, 0, 0, 0] + [0] * 7)
    patient = np.array([0] * 7 + list(range(1, 8)))
    sens = ProportionEstimator(y, pred, patient, seed=1, n_resamples=300).estimate().estimates["sensitivity"]
    assert sens.value == pytest.approx(3 / 7)
    assert sens.interval.high - sens.interval.low > 0.5
    z, p = 1.959963984540054, 3 / 7
    centre, half = (p + z * z / 2) / (1 + z * z), z / (1 + z * z) * np.sqrt(p * (1 - p) + z * z / 4)
    assert sens.interval.low == pytest.approx(centre - half) and sens.interval.high == pytest.approx(centre + half)
    assert sens.method == "wilson_patients" and any(w.startswith("degenerate") for w in sens.warnings)


def test_two_patients_with_the_same_proportion_fall_back_too():
    y = np.array([1, 1, 1, 1] + [0] * 6)
    pred = np.array([1, 0, 1, 0] + [0] * 6)
    patient = np.array([0, 0, 1, 1] + list(range(2, 8)))
    sens = ProportionEstimator(y, pred, patient, seed=1, n_resamples=300).estimate().estimates["sensitivity"]
    ref = wilson_patients_interval(2, 4, 2)
    assert (sens.interval.low, sens.interval.high) == (ref.low, ref.high)


def test_clustering_rules():
    y, pred, patient = _study()
    none = ProportionEstimator(y, pred, patient, clustering="none", seed=1, n_resamples=200).estimate()
    ref = wilson_interval(none.confusion["tp"], none.n_positive)
    assert none.estimates["sensitivity"].interval == ref and not none.clustered
    assert none.evidence(min_positives=none.n_positive, min_negatives=1)    # counts images
    flat = np.arange(len(y))
    auto = ProportionEstimator(y, pred, flat, clustering="auto", seed=1, n_resamples=200).estimate()
    forced = ProportionEstimator(y, pred, flat, clustering="patient", seed=1, n_resamples=200).estimate()
    assert auto.estimates["sensitivity"].method == "wilson"
    assert forced.estimates["sensitivity"].method == "cluster_bootstrap_percentile"
    with pytest.raises(ValueError, match="clustering: unknown rule"):
        ProportionEstimator(y, pred, patient, clustering="cluster")
