"""Calibration, thresholds, endpoints, planning, multiplicity, registry, CLI and import isolation."""
import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import valkit.stats as vs
from valkit.cli import main


# ------------------------------------------------------------------ calibration
def _cal_data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, n)
    y = (rng.random(n) < np.clip(1.3 * p - 0.1, 0, 1)).astype(int)
    return y, p


def test_calibration_intercept_and_slope_match_statsmodels_glm():
    import statsmodels.api as sm

    y, p = _cal_data()
    lp = np.log(p / (1 - p))
    citl = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit()
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit()
    a, b = vs.calibration_in_the_large(y, p), vs.calibration_slope(y, p)
    assert a.value == pytest.approx(citl.params[0], abs=1e-8)
    assert b.value == pytest.approx(slope.params[1], abs=1e-8)
    lo, hi = slope.conf_int()[1]
    assert (b.interval.low, b.interval.high) == pytest.approx((lo, hi), abs=1e-6)


def test_calibration_curve_matches_sklearn_and_ece_by_hand():
    from sklearn.calibration import calibration_curve as sk_curve

    y, p = _cal_data(1)
    c = vs.calibration_curve(y, p, n_bins=10)
    prob_true, prob_pred = sk_curve(y, p, n_bins=10)
    assert np.allclose(c.observed, prob_true) and np.allclose(c.mean_predicted, prob_pred)
    assert c.counts.sum() == len(y)
    assert np.all(c.observed_low <= c.observed) and np.all(c.observed <= c.observed_high)
    ece = vs.expected_calibration_error(y, p, n_bins=10).value
    assert ece == pytest.approx(np.sum(c.counts / len(y) * np.abs(c.observed - c.mean_predicted)), abs=1e-12)
    q = vs.calibration_curve(y, p, n_bins=5, strategy="quantile")
    assert len(q.counts) == 5 and abs(q.counts - len(y) / 5).max() <= 1
    json.dumps(c.to_dict())


def test_hosmer_lemeshow_by_hand():
    from scipy.stats import chi2

    y, p = _cal_data(2, n=200)
    r = vs.hosmer_lemeshow(y, p, n_groups=10)
    order = np.argsort(p)
    groups = np.array_split(order, 10)  # continuous p: quantile groups are equal-sized
    h = 0.0
    for g in groups:
        o1, e1, k = y[g].sum(), p[g].sum(), len(g)
        h += (o1 - e1) ** 2 / e1 + ((k - o1) - (k - e1)) ** 2 / (k - e1)
    assert r.statistic == pytest.approx(h, rel=1e-12)
    assert r.df == 8 and r.p_value == pytest.approx(chi2.sf(h, 8))


def test_well_calibrated_model_looks_calibrated():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 5000)
    y = (rng.random(5000) < p).astype(int)
    assert vs.calibration_slope(y, p).interval.contains(1.0)
    assert vs.calibration_in_the_large(y, p).interval.contains(0.0)
    assert vs.hosmer_lemeshow(y, p).p_value > 0.01
    assert vs.expected_calibration_error(y, p).value < 0.03


# ------------------------------------------------------------------ thresholds
def test_choose_threshold_rules_against_brute_force():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(size=300) + y, 2)
    cands = np.unique(s)
    sens = np.array([(s[y == 1] >= t).mean() for t in cands])
    spec = np.array([(s[y == 0] < t).mean() for t in cands])
    c = vs.choose_threshold(y, s)
    assert c.youden_j == pytest.approx((sens + spec - 1).max())
    assert c.sensitivity.value + c.specificity.value - 1 == pytest.approx(c.youden_j)
    c = vs.choose_threshold(y, s, rule="sensitivity", target=0.9)
    assert c.threshold == cands[sens >= 0.9].max() and c.sensitivity.value >= 0.9
    c = vs.choose_threshold(y, s, rule="specificity", target=0.8)
    assert c.threshold == cands[spec >= 0.8].min() and c.specificity.value >= 0.8
    json.dumps(c.to_dict())


# ------------------------------------------------------------------ endpoints
def test_exact_binomial_test_matches_scipy():
    from scipy.stats import binomtest

    r = vs.exact_binomial_test(172, 200, goal=0.8)
    assert r.p_value == pytest.approx(binomtest(172, 200, 0.8, alternative="greater").pvalue, rel=1e-12)
    r = vs.exact_binomial_test(3, 200, goal=0.05, alternative="less")
    assert r.p_value == pytest.approx(binomtest(3, 200, 0.05, alternative="less").pvalue, rel=1e-12)


def test_endpoint_verdict_directions():
    est = vs.sensitivity_from_counts(172, 28)  # 0.86, Wilson lower ~0.806
    assert vs.endpoint_verdict(est, goal=0.80).decision == "PASS"
    assert vs.endpoint_verdict(est, goal=0.81).decision == "FAIL"
    fpr = vs.proportion(3, 200)
    v = vs.endpoint_verdict(fpr, goal=0.05, direction="less")
    assert v.decision == "PASS" and v.bound == fpr.interval.high
    assert v.to_dict()["passed"] is True
    with pytest.raises(ValueError, match="Did you mean 'greater'"):
        vs.endpoint_verdict(est, goal=0.8, direction="greaterr")


def test_non_inferiority_auc_uses_paired_delong(asah):
    r = vs.non_inferiority(asah["y"], asah["s100b"], asah["wfns"], metric="auc", margin=0.05)
    t = vs.delong_test(asah["y"], asah["wfns"], asah["s100b"])
    assert r.test.difference == pytest.approx(t.difference)
    assert (r.test.interval.low, r.test.interval.high) == pytest.approx((t.interval.low, t.interval.high))
    assert r.verdict.decision == "PASS"  # lower bound 0.0104 > -0.05 (pROC roc.test(r.wfns, r.s100b))
    se = t.difference / t.statistic
    assert r.test.statistic == pytest.approx((t.difference + 0.05) / se)
    r2 = vs.non_inferiority(asah["y"], asah["wfns"], asah["s100b"], metric="auc", margin=0.05)
    assert r2.verdict.decision == "FAIL"
    json.dumps(r.to_dict())


def test_non_inferiority_specificity_counts():
    y = np.r_[np.ones(20, int), np.zeros(100, int)]
    a = np.r_[np.ones(20, int), np.zeros(90, int), np.ones(10, int)]   # spec 0.90
    b = np.r_[np.ones(20, int), np.zeros(85, int), np.ones(15, int)]   # spec 0.85
    r = vs.non_inferiority(y, a, b, metric="specificity", margin=0.10)
    assert r.test.difference == pytest.approx(-0.05)
    cells = vs.paired_proportion_difference_from_counts(85, 0, 5, 10)
    assert r.test.interval == cells.interval
    z, p = vs.tango_score_test(0, 5, 100, delta0=-0.10)
    assert (r.test.statistic, r.test.p_value) == (z, p)


# ------------------------------------------------------------------ planning
def test_exact_planning_is_smallest_n_by_brute_force():
    from scipy.stats import beta, binom

    plan = vs.exact_binomial_sample_size(0.92, goal=0.85, power=0.8, prevalence=0.2)

    def power(n):
        xs = np.arange(1, n + 1)
        ok = beta.ppf(0.025, xs, n - xs + 1) >= 0.85
        return binom.sf(xs[np.argmax(ok)] - 1, n, 0.92) if ok.any() else 0.0

    assert power(plan.n_class) >= 0.8
    assert all(power(n) < 0.8 for n in range(10, plan.n_class))
    assert plan.n_total == math.ceil(plan.n_class / 0.2)
    assert all(power(n) >= 0.8 for n in range(plan.n_class_stable, plan.n_class_stable + 30))


def test_buderer_specificity_uses_negatives():
    plan = vs.buderer_sample_size(0.90, half_width=0.05, prevalence=0.10, metric="specificity")
    assert plan.n_total == math.ceil(1.959963984540054**2 * 0.09 / 0.0025 / 0.9)


# ------------------------------------------------------------------ multiplicity
def test_holm_and_bh_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    holm = vs.adjust_p_values(p, method="holm")
    # Holm: sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 with running max
    assert holm.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    bh = vs.adjust_p_values(p, method="bh")
    # BH: sorted p*m/rank = 0.02, 0.02, 0.04, 0.04 with running min from the top
    assert bh.adjusted == pytest.approx((0.02, 0.04, 0.04, 0.02))
    assert bh.reject == (True, True, True, True) and holm.reject == (True, False, False, True)
    assert vs.adjust_p_values([]).adjusted == ()


# ------------------------------------------------------------------ registry, JSON
def test_every_reported_method_is_registered(asah):
    y, s, w = asah["y"], asah["s100b"], asah["wfns"]
    pred = (s >= 0.2).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vs.NotEstimableWarning)
        results = [
            *(vs.sensitivity(y, pred, ci=ci) for ci in vs.PROPORTION_CI_METHODS),
            *vs.likelihood_ratios(y, pred), vs.diagnostic_odds_ratio(y, pred),
            vs.proportion_difference(3, 10, 5, 10), vs.paired_proportion_difference(pred, 1 - pred),
            vs.mcnemar(pred, y), vs.mcnemar(pred, y, exact=False), vs.mcnemar(pred, y, exact=False, correction=False),
            vs.roc_auc(y, s), vs.roc_auc(y, s, ci="clustered", cluster=asah["patient_id"]),
            vs.roc_auc(y, s, ci="bootstrap", seed=1, n_resamples=50),
            vs.roc_auc(y, s, ci="bootstrap", seed=1, n_resamples=50, bootstrap_method="bca"),
            vs.bootstrap_ci("auc", y, s, cluster=asah["patient_id"], n_resamples=50, seed=1),
            vs.delong_test(y, s, w), vs.delong_test(y, s, w, paired=False),
            vs.exact_binomial_test(10, 12, goal=0.5), vs.calibration_slope(y, np.clip(s, 0, 1)),
            vs.calibration_in_the_large(y, np.clip(s, 0, 1)), vs.hosmer_lemeshow(y, np.clip(s, 0, 1)),
            vs.expected_calibration_error(y, np.clip(s, 0, 1)),
            vs.non_inferiority(y, s, w, metric="auc", margin=0.1).test,
            vs.non_inferiority(y, pred, pred, metric="sensitivity", margin=0.1).test,
        ]
    for r in results:
        assert vs.method_info(r.method)
        if getattr(r, "interval", None) is not None:
            assert vs.method_info(r.interval.method)
        json.dumps(r.to_dict(), allow_nan=False)
    for name in ("youden", "buderer", "exact_binomial", "holm", "bh", "hanley_mcneil", "average_precision"):
        assert vs.METHODS[name].reference


# ------------------------------------------------------------------ CLI
def test_plan_cli_text_and_json(capsys):
    assert main(["plan", "--expected", "0.90", "--goal", "0.80", "--prevalence", "0.10"]) == 0
    out = capsys.readouterr().out
    assert "1383 cases" in out and "Buderer" in out and "Exact binomial" in out
    assert main(["plan", "--expected", "0.90", "--goal", "0.80", "--prevalence", "0.10", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["buderer"]["n_total"] == 1383 and data["exact_binomial"]["n_class"] == 107


def test_plan_cli_bad_input_exits_2(capsys):
    assert main(["plan", "--expected", "0.70", "--goal", "0.80", "--prevalence", "0.10"]) == 2
    assert "must exceed goal" in capsys.readouterr().err
    assert main(["plan", "--expected", "1.5", "--goal", "0.80", "--prevalence", "0.10"]) == 2


# ------------------------------------------------------------------ seam: pure statistics
def test_import_pulls_in_no_heavy_packages():
    code = (
        "import sys, valkit.stats, valkit.stats.bootstrap, valkit.stats.calibration, valkit.stats.registry, valkit.stats.mrmc;"
        "print(','.join(m for m in ('torch', 'pydicom', 'jinja2', 'weasyprint', 'pandas', 'sklearn', 'statsmodels')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
