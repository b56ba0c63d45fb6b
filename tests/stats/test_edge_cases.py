"""Edge cases: undefined quantities are nan with a named warning; bad arguments raise ValueError."""
import math

import numpy as np
import pytest

import valkit.stats as vs
from valkit.errors import InputError


def _codes(est):
    return [w.split(":")[0] for w in est.warnings]


# ------------------------------------------------------------------ zero positives / negatives / n = 0
def test_zero_positives():
    y, pred, s = [0, 0, 0], [0, 1, 0], [0.1, 0.5, 0.3]
    with pytest.warns(vs.NotEstimableWarning, match="no_positives"):
        se = vs.sensitivity(y, pred)
    assert math.isnan(se.value) and _codes(se) == ["no_positives"] and se.denominator == 0
    assert vs.specificity(y, pred).value == pytest.approx(2 / 3)
    with pytest.warns(vs.NotEstimableWarning, match="no_positives"):
        auc = vs.roc_auc(y, s)
    assert math.isnan(auc.value) and _codes(auc) == ["no_positives"]
    with pytest.warns(vs.NotEstimableWarning, match="no_positives"):
        curve = vs.roc_curve(y, s)
    assert np.isnan(curve.tpr).all() and curve.fpr[-1] == 1.0
    with pytest.warns(vs.NotEstimableWarning):
        r = vs.delong_test(y, s, s[::-1])
    assert math.isnan(r.statistic) and math.isnan(r.p_value)
    with pytest.warns(vs.NotEstimableWarning):
        c = vs.choose_threshold(y, s)
    assert math.isnan(c.threshold)
    with pytest.warns(vs.NotEstimableWarning):
        ap = vs.average_precision(y, s, seed=1)
    assert math.isnan(ap.value)


def test_zero_negatives():
    y, pred, s = [1, 1], [1, 0], [0.9, 0.2]
    with pytest.warns(vs.NotEstimableWarning, match="no_negatives"):
        sp = vs.specificity(y, pred)
    assert math.isnan(sp.value)
    with pytest.warns(vs.NotEstimableWarning, match="no_negatives"):
        assert math.isnan(vs.roc_auc(y, s, ci="bootstrap", seed=0).value)
    with pytest.warns(vs.NotEstimableWarning, match="no_negatives"):
        lr_pos, lr_neg = vs.likelihood_ratios(y, pred)
    assert math.isnan(lr_pos.value) and math.isnan(lr_neg.value)


def test_empty_input():
    with pytest.warns(vs.NotEstimableWarning, match="empty"):
        acc = vs.accuracy([], [])
    assert math.isnan(acc.value) and acc.n == 0
    with pytest.warns(vs.NotEstimableWarning, match="empty"):
        assert math.isnan(vs.roc_auc([], []).value)
    with pytest.warns(vs.NotEstimableWarning):
        assert math.isnan(vs.exact_binomial_test(0, 0, goal=0.8).p_value)
    assert vs.endpoint_verdict(vs.Interval(math.nan, math.nan, 0.95, "wilson"), goal=0.8).decision == "NOT_ESTIMABLE"


def test_one_case():
    with pytest.warns(vs.NotEstimableWarning):
        assert math.isnan(vs.roc_auc([1], [0.3]).value)
    se = vs.sensitivity([1], [1])
    assert se.value == 1.0 and se.interval.high == 1.0 and se.interval.low > 0


def test_one_of_each_class_has_auc_but_no_delong_variance():
    with pytest.warns(vs.NotEstimableWarning, match="too_few_cases"):
        est = vs.roc_auc([0, 1], [0.2, 0.8])
    assert est.value == 1.0 and math.isnan(est.interval.low)


# ------------------------------------------------------------------ ties and separation
def test_all_scores_tied():
    y, s = [0, 1, 0, 1, 1], [0.5] * 5
    with pytest.warns(vs.NotEstimableWarning, match="all_scores_tied"):
        est = vs.roc_auc(y, s)
    assert est.value == 0.5 and math.isnan(est.interval.low) and _codes(est) == ["all_scores_tied"]
    r = vs.delong_test(y, s, s)
    assert (r.statistic, r.p_value) == (0.0, 1.0)  # identical curves: no evidence of a difference


def test_perfect_separation():
    y, s = [0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]
    with pytest.warns(vs.NotEstimableWarning, match="zero_variance"):
        est = vs.roc_auc(y, s)
    assert est.value == 1.0 and math.isnan(est.interval.low)
    boot = vs.roc_auc(y, s, ci="bootstrap", seed=3, n_resamples=200)
    assert boot.value == 1.0 and boot.interval.low == boot.interval.high == 1.0
    c = vs.choose_threshold(y, s)
    assert c.threshold == 0.7 and c.youden_j == 1.0
    with pytest.warns(vs.NotEstimableWarning, match="separation"):
        assert math.isnan(vs.calibration_slope(y, [0.01, 0.02, 0.03, 0.97, 0.98, 0.99]).value)


def test_heavy_ties_match_sklearn_and_naive():
    from sklearn.metrics import roc_auc_score

    from stats_oracles import delong_naive

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    s = rng.integers(0, 3, 300) + y  # 4 distinct values
    est = vs.roc_auc(y, s)
    assert est.value == pytest.approx(roc_auc_score(y, s), abs=1e-13)
    _, cov = delong_naive(y, s)
    aucs, cov_fast = vs.delong_covariance(y, s)
    assert cov_fast[0, 0] == pytest.approx(cov[0, 0], abs=1e-15)
    fpr, tpr, thr = vs.roc_curve(y, s)
    assert len(thr) == len(np.unique(s)) + 1 and thr[0] == np.inf


def test_roc_curve_matches_sklearn():
    from sklearn.metrics import roc_curve as sk_roc

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)
    fpr, tpr, thr = vs.roc_curve(y, s)
    f2, t2, th2 = sk_roc(y, s, drop_intermediate=False)
    assert np.allclose(fpr, f2) and np.allclose(tpr, t2) and np.allclose(thr[1:], th2[1:])


def test_auc_direction_is_never_flipped():
    est = vs.roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], ci=None)
    assert est.value == 0.0


def test_zero_cell_likelihood_ratio_and_dor():
    with pytest.warns(vs.NotEstimableWarning, match="zero_cell"):
        lr_pos, lr_neg = vs.likelihood_ratios_from_counts(10, 0, 2, 30)
    assert math.isnan(lr_pos.value) and lr_neg.value == pytest.approx((2 / 12) / 1.0)
    with pytest.warns(vs.NotEstimableWarning, match="zero_cell"):
        assert math.isnan(vs.diagnostic_odds_ratio_from_counts(10, 0, 2, 30).value)


def test_unstratified_bootstrap_reports_undefined_resamples():
    y = [0, 0, 0, 0, 0, 1]
    s = [0.1, 0.2, 0.3, 0.4, 0.5, 0.9]
    with pytest.warns(vs.NotEstimableWarning, match="undefined_resamples"):
        est = vs.bootstrap_ci("auc", y, s, n_resamples=300, seed=0)
    assert "undefined_resamples" in _codes(est)


def test_mcnemar_without_discordant_pairs():
    with pytest.warns(vs.NotEstimableWarning, match="no_discordant_pairs"):
        assert math.isnan(vs.mcnemar([1, 0], [1, 0]).p_value)


# ------------------------------------------------------------------ invalid arguments
def test_unknown_method_suggests_the_right_name():
    with pytest.raises(ValueError, match="Did you mean 'clopper_pearson'"):
        vs.sensitivity([1, 0], [1, 0], ci="clopper-pearson")
    with pytest.raises(ValueError, match="Did you mean 'delong'"):
        vs.roc_auc([1, 0], [1, 0], ci="delong2")
    with pytest.raises(ValueError, match="Did you mean 'bca'"):
        vs.bootstrap_ci("auc", [1, 0], [1, 0], method="bcа")  # Cyrillic a
    with pytest.raises(ValueError, match="Did you mean 'auc'"):
        vs.bootstrap_ci("acu", [1, 0], [1, 0])


def test_errors_are_valueerror_and_inputerror():
    with pytest.raises(InputError):
        vs.roc_auc([1, 0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="mismatched lengths: y_true has 3, y_score has 2"):
        vs.roc_auc([1, 0, 1], [0.1, 0.2])


@pytest.mark.parametrize("labels", [[0, 2, 1], [-1, 1, 0], ["a", "b", "a"], [0.5, 1, 0]])
def test_labels_must_be_binary(labels):
    with pytest.raises(ValueError, match="y_true"):
        vs.roc_auc(labels, [0.1, 0.2, 0.3])


def test_nan_scores_raise():
    with pytest.raises(ValueError, match="NaN or infinite"):
        vs.roc_auc([0, 1, 1], [0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match="NaN or infinite"):
        vs.delong_test([0, 1, 1], [0.1, 0.2, 0.3], [0.1, np.inf, 0.3])


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1])
def test_confidence_level_validated(bad):
    with pytest.raises(ValueError, match="confidence_level"):
        vs.proportion_interval(3, 10, confidence_level=bad)


def test_counts_validated():
    with pytest.raises(ValueError, match="tp"):
        vs.sensitivity_from_counts(-1, 3)
    with pytest.raises(ValueError, match="successes"):
        vs.proportion_interval(11, 10)
    with pytest.raises(ValueError, match="whole number"):
        vs.sensitivity_from_counts(2.5, 3)


def test_delong_with_real_clusters_is_refused():
    with pytest.raises(ValueError, match="ci='clustered'"):
        vs.roc_auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.7], cluster=["a", "a", "b", "b"])
    est = vs.roc_auc([0, 1, 0, 1, 0, 1], [0.1, 0.9, 0.2, 0.7, 0.4, 0.3], cluster=[1, 1, 2, 2, 3, 3], ci="auto")
    assert est.method == "clustered"


def test_other_argument_checks():
    with pytest.raises(ValueError, match="cluster"):
        vs.bootstrap_ci("auc", [0, 1], [0.1, 0.2], cluster=[1, 2, 3])
    with pytest.raises(ValueError, match="n_resamples"):
        vs.bootstrap_ci("auc", [0, 1], [0.1, 0.2], n_resamples=0)
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        vs.calibration_curve([0, 1], [0.2, 1.7])
    with pytest.raises(ValueError, match="target"):
        vs.choose_threshold([0, 1], [0.1, 0.2], rule="sensitivity")
    with pytest.raises(ValueError, match="Did you mean 'youden'"):
        vs.choose_threshold([0, 1], [0.1, 0.2], rule="youdan")
    with pytest.raises(ValueError, match="margin"):
        vs.non_inferiority([0, 1], [0, 1], [0, 1], metric="sensitivity", margin=-0.1)
    with pytest.raises(ValueError, match="p_values"):
        vs.adjust_p_values([0.1, float("nan")])


# ----------------------------------------------------------------------------- boundary proportions, clustered
def test_clustered_boundary_interval_is_wilson_on_patients():
    from valkit.stats import clustered_boundary_interval, wilson_interval

    iv = clustered_boundary_interval(9, 9, 7)
    ref = wilson_interval(7, 7)
    assert (iv.low, iv.high, iv.method) == (ref.low, ref.high, "wilson_patients")
    assert iv.low < wilson_interval(9, 9).low  # wider than Wilson on images: conservative
    assert clustered_boundary_interval(0, 12, 5).high == wilson_interval(0, 5).high
    with pytest.raises(ValueError):
        clustered_boundary_interval(4, 9, 7)  # not a boundary proportion
    with pytest.raises(ValueError):
        clustered_boundary_interval(9, 9, 10)  # more patients than images


def test_a_perfect_clustered_sensitivity_gets_an_interval_with_spread():
    """9 of 9 positive images (from 6 patients) detected: the clustered bootstrap alone would say [1, 1]."""
    import numpy as np

    from valkit.analyses.estimates import ProportionEstimator

    y = np.array([1] * 9 + [0] * 12)
    pred = np.array([1] * 9 + [0] * 10 + [1] * 2)
    cluster = np.array([0, 0, 1, 1, 2, 2, 3, 4, 5] + list(range(6, 18)))
    est = ProportionEstimator(y, pred, cluster, seed=1, n_resamples=200).estimate().estimates
    sens = est["sensitivity"]
    assert sens.value == 1.0 and sens.method == "wilson_patients"
    assert sens.interval.high == 1.0 and 0.5 < sens.interval.low < 0.7  # Wilson for 6/6: 0.6097
    assert any("boundary" in w for w in sens.warnings)
    assert est["specificity"].method == "cluster_bootstrap_percentile"  # 10/12: the bootstrap has spread


def test_calibration_fit_near_separation_says_not_estimable_without_overflow():
    """Twelve phantom images scored by a random-weight ResNet-18 (docs/model-cards.md torchvision example):
    scores 0.557-0.601 and the one positive holds the lowest score, so the recalibration slope runs off
    to minus infinity. The Newton fit used to overflow in exp() (a RuntimeWarning, an internal error under
    warnings-as-errors); it must say "not estimable: separation" instead."""
    import warnings

    from valkit import stats
    from valkit.stats.types import NotEstimableWarning

    p = np.array([0.580047607421875, 0.581676185131073, 0.5983588695526123, 0.577301025390625,
                  0.5578442215919495, 0.6010164022445679, 0.5912786722183228, 0.5765194296836853,
                  0.5873432755470276, 0.573387622833252, 0.588616669178009, 0.556858241558075])
    y = np.array([0] * 11 + [1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", NotEstimableWarning)
        est = stats.calibration_slope(y, p)
    assert math.isnan(est.value) and est.warnings[0].startswith("separation")
