"""Reproduce published results (see tests/data/stats/PROVENANCE.md and
/work/shared/reference/stats/PUBLISHED.md). Each number carries its source."""

import numpy as np
import pytest

import valkit.stats as vs

TOL_AUC = 1e-12  # AUC / Z / p: closed forms (PUBLISHED.md tolerance)
TOL_VAR = 1e-15  # variances


# ---------------------------------------------------------------- pROC 1.18 on aSAH (Robin et al. 2011)
def test_proc_auc(asah):
    # pROC 1.18 tests/testthat/test-auc.R: auc(r.s100b), auc(r.wfns), auc(r.ndka)
    assert vs.roc_auc(asah["y"], asah["s100b"], ci=None).value == pytest.approx(0.731368563685637, abs=TOL_AUC)
    assert vs.roc_auc(asah["y"], asah["wfns"], ci=None).value == pytest.approx(0.823678861788618, abs=TOL_AUC)
    assert vs.roc_auc(asah["y"], asah["ndka"], ci=None).value == pytest.approx(0.611957994579946, abs=TOL_AUC)


def test_proc_delong_variance_and_covariance(asah):
    aucs, cov = vs.delong_covariance(asah["y"], asah["s100b"], asah["wfns"], asah["ndka"])
    # pROC 1.18 test-var.R: var(r.s100b), var(r.wfns), var(r.ndka)
    assert cov[0, 0] == pytest.approx(0.00266868245717244, abs=TOL_VAR)
    assert cov[1, 1] == pytest.approx(0.00146991470882363, abs=TOL_VAR)
    assert cov[2, 2] == pytest.approx(0.0031908105493913, abs=TOL_VAR)
    # pROC 1.18 test-cov.R: cov(r.s100b, r.wfns), cov(r.wfns, r.ndka)
    assert cov[0, 1] == pytest.approx(0.00119615567376754, abs=TOL_VAR)
    assert cov[1, 2] == pytest.approx(-0.000532967856762438, abs=TOL_VAR)
    assert np.allclose(cov, cov.T)


def test_proc_delong_ci(asah):
    # pROC 1.18 print(ci.auc(r.s100b)): 95% CI 0.6301-0.8326 (DeLong)
    est = vs.roc_auc(asah["y"], asah["s100b"])
    assert est.method == "delong"
    assert round(est.interval.low, 4) == 0.6301
    assert round(est.interval.high, 4) == 0.8326
    # pROC 1.18 test-ci.R: ci.auc(r.ndka) = 0.501244999271703, 0.722670989888189
    est = vs.roc_auc(asah["y"], asah["ndka"])
    assert est.interval.low == pytest.approx(0.501244999271703, abs=TOL_AUC)
    assert est.interval.high == pytest.approx(0.722670989888189, abs=TOL_AUC)


@pytest.mark.parametrize(
    "a, b, z, p",
    [
        # pROC 1.18 test-roc.test.R: roc.test(r.wfns, r.s100b), (r.wfns, r.ndka), (r.ndka, r.s100b)
        ("wfns", "s100b", 2.20898359144091, 0.0271757822291882),
        ("wfns", "ndka", 2.79777591868904, 0.00514557970691098),
        ("ndka", "s100b", -1.39077002573558, 0.164295175223054),
    ],
)
def test_proc_paired_delong(asah, a, b, z, p):
    r = vs.delong_test(asah["y"], asah[a], asah[b])
    assert r.statistic == pytest.approx(z, abs=TOL_AUC)
    assert r.p_value == pytest.approx(p, abs=TOL_AUC)
    assert r.difference == pytest.approx(
        vs.roc_auc(asah["y"], asah[a], ci=None).value - vs.roc_auc(asah["y"], asah[b], ci=None).value, abs=1e-15
    )


def test_proc_paired_delong_ci_of_difference(asah):
    # pROC 1.18 test-roc.test.R: roc.test(r.wfns, r.s100b)$conf.int = 0.0104061769564846, 0.174214419249478
    r = vs.delong_test(asah["y"], asah["wfns"], asah["s100b"])
    assert r.interval.low == pytest.approx(0.0104061769564846, abs=TOL_AUC)
    assert r.interval.high == pytest.approx(0.174214419249478, abs=TOL_AUC)


def test_proc_unpaired_delong(asah):
    # pROC 1.18 test-roc.test.R: roc.test(r.wfns, r.s100b, paired=FALSE): D 1.43490640926908,
    # p 0.152825378808796 (t distribution, Welch-Satterthwaite df)
    r = vs.delong_test(asah["y"], asah["wfns"], asah["s100b"], paired=False)
    assert r.statistic == pytest.approx(1.43490640926908, abs=TOL_AUC)
    assert r.p_value == pytest.approx(0.152825378808796, abs=TOL_AUC)
    assert r.df is not None and r.df > 100


# ---------------------------------------------------------------- epiR 2.0.57 epi.tests, Example 1 (Scott et al.)
def test_epir_sensitivity_specificity_clopper_pearson():
    se = vs.sensitivity_from_counts(670, 74, ci="clopper_pearson")
    sp = vs.specificity_from_counts(640, 202, ci="clopper_pearson")
    # epiR epi.tests Example 1: Se 0.90 (0.88 - 0.92); Sp 0.76 (0.73 - 0.79), printed to 2 dp
    assert (round(se.value, 2), round(se.interval.low, 2), round(se.interval.high, 2)) == (0.90, 0.88, 0.92)
    assert (round(sp.value, 2), round(sp.interval.low, 2), round(sp.interval.high, 2)) == (0.76, 0.73, 0.79)


def test_epir_likelihood_ratios_simel():
    lr_pos, lr_neg = vs.likelihood_ratios_from_counts(670, 202, 74, 640)
    # epiR epi.tests Example 1: LR+ 3.75 (3.32068843550748 - 4.24323464880513), Simel 1991 log method
    assert round(lr_pos.value, 2) == 3.75
    assert lr_pos.interval.low == pytest.approx(3.32068843550748, abs=1e-10)
    assert lr_pos.interval.high == pytest.approx(4.24323464880513, abs=1e-10)
    # LR- CI 0.105064323511923 - 0.162977080911631
    assert lr_neg.interval.low == pytest.approx(0.105064323511923, abs=1e-10)
    assert lr_neg.interval.high == pytest.approx(0.162977080911631, abs=1e-10)


# ---------------------------------------------------------------- Newcombe 1998a, Table I
@pytest.mark.parametrize(
    "x, n, wilson, exact",
    [
        (81, 263, (0.2553, 0.3662), (0.2527, 0.3676)),
        (15, 148, (0.0624, 0.1605), (0.0578, 0.1617)),
        (0, 20, (0.0, 0.1611), (0.0, 0.1684)),
        (1, 29, (0.0061, 0.1718), (0.0009, 0.1776)),
    ],
)
def test_newcombe_1998a_single_proportion(x, n, wilson, exact):
    w = vs.proportion_interval(x, n, ci="wilson")
    e = vs.proportion_interval(x, n, ci="clopper_pearson")
    assert (round(w.low, 4), round(w.high, 4)) == wilson
    assert (round(e.low, 4), round(e.high, 4)) == exact


# ---------------------------------------------------------------- Newcombe 1998b, Table II
@pytest.mark.parametrize(
    "counts, expected",
    [((56, 70, 48, 80), (0.0524, 0.3339)), ((9, 10, 3, 10), (0.1705, 0.8090))],
)
def test_newcombe_1998b_independent_difference(counts, expected):
    iv = vs.proportion_difference(*counts).interval
    assert (round(iv.low, 4), round(iv.high, 4)) == expected


def test_newcombe_1998b_wald_comparison():
    # Newcombe (1998b), Table II, 56/70 - 48/80, simple asymptotic (Wald) method: 0.0575 - 0.3425
    iv = vs.proportion_difference(56, 70, 48, 80, ci="wald").interval
    assert (round(iv.low, 4), round(iv.high, 4)) == (0.0575, 0.3425)


# ---------------------------------------------------------------- Newcombe 1998c (paired, method 10)
@pytest.mark.parametrize(
    "cells, low, high",
    [((36, 12, 2, 0), 0.0569, 0.3404), ((18, 12, 2, 18), 0.0562, 0.3290), ((53, 0, 0, 1), -0.0729, None)],
)
def test_newcombe_1998c_paired_difference(cells, low, high):
    iv = vs.paired_proportion_difference_from_counts(*cells).interval
    assert round(iv.low, 4) == low
    if high is not None:
        assert round(iv.high, 4) == high


# ---------------------------------------------------------------- Hanley & McNeil 1982
def _hanley_mcneil_ratings():
    # Hanley & McNeil (1982) Radiology 143:29-36, Table 1: 58 normal, 51 abnormal CT images,
    # ratings 1 (definitely normal) .. 5 (definitely abnormal).
    normal = [33, 6, 6, 11, 2]
    abnormal = [3, 2, 2, 11, 33]
    scores = np.r_[np.repeat(np.arange(1, 6), normal), np.repeat(np.arange(1, 6), abnormal)]
    y = np.r_[np.zeros(sum(normal), int), np.ones(sum(abnormal), int)]
    return y, scores


def test_hanley_mcneil_1982_rating_example():
    y, s = _hanley_mcneil_ratings()
    auc = vs.roc_auc(y, s, ci=None).value
    # Hanley & McNeil 1982: trapezoidal area 0.893, SE 0.032 (their eq. 1 with Q1 = A/(2-A), Q2 = 2A^2/(1+A))
    assert round(auc, 3) == 0.893
    se = vs.hanley_mcneil_se(auc, n_positive=51, n_negative=58)
    assert round(se, 3) == 0.032


# ---------------------------------------------------------------- Buderer 1996
def test_buderer_1996():
    # Buderer NM (1996) Acad Emerg Med 3:895-900: Se 0.90, half-width 0.05, prevalence 0.10 -> N = 1383
    plan = vs.buderer_sample_size(0.90, half_width=0.05, prevalence=0.10, metric="sensitivity")
    assert plan.n_total == 1383
