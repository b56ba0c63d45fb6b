"""Paired statistics of a model version against its predecessor, against published references:
paired DeLong (pROC), clustered paired AUC (reduces to DeLong), Tango and Newcombe paired intervals
(contingencytables), and the drift statistics (PSI by hand, KS against scipy)."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import valkit.stats as vs

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_clustered_paired_auc_test_reproduces_proc_on_asah(asah):
    # pROC 1.18 tests/testthat/test-roc.test.R: roc.test(r.wfns, r.s100b) (DeLong, paired):
    # Z = 2.20898359144091, p = 0.0271757822291882, conf.int 0.0104061769564846 to 0.174214419249478.
    # aSAH has one row per patient, so the clustered test must give DeLong's numbers.
    assert len(np.unique(asah["patient_id"])) == len(asah["y"])
    r = vs.clustered_delong_test(asah["y"], asah["wfns"], asah["s100b"], cluster=asah["patient_id"])
    assert r.statistic == pytest.approx(2.20898359144091, abs=1e-9)
    assert r.p_value == pytest.approx(0.0271757822291882, abs=1e-10)
    assert (r.interval.low, r.interval.high) == pytest.approx((0.0104061769564846, 0.174214419249478), abs=1e-9)
    assert r.method == "clustered_paired"


def test_clustered_paired_auc_test_widens_when_images_share_a_patient(asah):
    # duplicating every patient's row (two identical images per patient) leaves the AUCs unchanged;
    # DeLong treats 226 images as independent and halves the variance, the clustered test does not
    y = np.r_[asah["y"], asah["y"]]
    a, b = np.r_[asah["wfns"], asah["wfns"]], np.r_[asah["s100b"], asah["s100b"]]
    cluster = np.r_[asah["patient_id"], asah["patient_id"]]
    naive = vs.delong_test(y, a, b)
    clustered = vs.clustered_delong_test(y, a, b, cluster=cluster)
    single = vs.clustered_delong_test(asah["y"], asah["wfns"], asah["s100b"], cluster=asah["patient_id"])
    assert clustered.difference == pytest.approx(single.difference)
    assert abs(clustered.statistic) < abs(naive.statistic)
    assert clustered.statistic == pytest.approx(single.statistic, rel=0.02)


@st.composite
def two_scores(draw):
    n = draw(st.integers(6, 40))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    assume(2 <= y.sum() <= n - 2)
    a = np.array(draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)), dtype=float)
    b = np.array(draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)), dtype=float)
    return y, a, b


@SETTINGS
@given(two_scores())
def test_clustered_paired_auc_reduces_to_delong_with_one_image_per_patient(data):
    y, a, b = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vs.NotEstimableWarning)
        d = vs.delong_test(y, a, b)
        c = vs.clustered_delong_test(y, a, b, cluster=np.arange(len(y)))
    assert c.difference == pytest.approx(d.difference, abs=1e-12)
    if math.isnan(d.statistic):
        assert math.isnan(c.statistic)
    else:
        assert c.statistic == pytest.approx(d.statistic, rel=1e-9, abs=1e-9)
        assert c.p_value == pytest.approx(d.p_value, rel=1e-9, abs=1e-12)


def test_tango_interval_cavo_2012():
    # Fagerland MW, Lydersen S, Laake P (2017). Statistical Analysis of Contingency Tables, ch. 8;
    # R contingencytables tests/testthat/test-ch8.R: Tango_asymptotic_score_CI_paired_2x2(cavo_2012)
    # with cavo_2012 = [[59, 6], [16, 80]]: estimate = -0.0621 (95% CI -0.1240 to -0.0054)
    est = vs.tango_score_interval(6, 16, 161)
    assert round(est.value, 4) == -0.0621
    assert (round(est.interval.low, 4), round(est.interval.high, 4)) == (-0.1240, -0.0054)
    # the limits are where Tango's statistic crosses -/+ z (test inversion)
    assert vs.tango_score_test(6, 16, 161, delta0=est.interval.low)[0] == pytest.approx(1.959963984540054, abs=1e-6)


def test_newcombe_paired_interval_cavo_2012():
    # same source: Newcombe_square_and_add_CI_paired_2x2(cavo_2012): -0.0621 (95% CI -0.1186 to -0.0046)
    est = vs.paired_proportion_difference_from_counts(59, 6, 16, 80)
    assert (round(est.interval.low, 4), round(est.interval.high, 4)) == (-0.1186, -0.0046)


@pytest.mark.parametrize("f,g,n", [(0, 0, 30), (12, 2, 50), (0, 5, 100), (30, 0, 30), (3, 9, 40)])
def test_tango_interval_bound_agrees_with_tango_test(f, g, n):
    # the lower bound is above -margin exactly when Tango's one-sided test rejects at 2.5%
    est = vs.tango_score_interval(f, g, n)
    assert est.interval.low <= est.value <= est.interval.high
    for margin in (0.02, 0.05, 0.1, 0.2):
        _, p = vs.tango_score_test(f, g, n, delta0=-margin)
        if abs(est.interval.low + margin) > 1e-6:
            assert (est.interval.low > -margin) == (p < 0.025)


def test_psi_by_hand():
    ref = np.arange(10) / 10.0          # deciles: one score per bin
    cur = np.r_[np.zeros(5), np.ones(5)]  # half in the lowest bin, half in the highest
    r = vs.population_stability_index(ref, cur)
    expected = 2 * (0.5 - 0.1) * math.log(0.5 / 0.1) + 8 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert r.value == pytest.approx(expected)
    assert r.reference == pytest.approx((0.1,) * 10) and r.current[0] == 0.5 and r.current[-1] == 0.5
    assert vs.population_stability_index(ref, ref).value == 0.0


def test_psi_merges_tied_edges():
    r = vs.population_stability_index(np.r_[np.zeros(80), np.linspace(0.5, 1, 20)], np.zeros(10))
    assert len(r.edges) < 9 and len(r.reference) == len(r.edges) + 1
    assert sum(r.reference) == pytest.approx(1.0)


def test_ks_matches_scipy():
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=80), rng.normal(0.5, size=60)
    t = vs.ks_two_sample(a, b)
    ref = ks_2samp(a, b)
    assert (t.statistic, t.p_value) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    assert t.difference < 0  # the current scores lie higher
