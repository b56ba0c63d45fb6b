"""Random-effects pooling, Q, I², tau² against published values, metafor and statsmodels."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from valkit.stats.heterogeneity import (
    deleted_residuals,
    leave_one_out,
    logit_transform,
    pooled_proportion,
    random_effects,
)
from valkit.stats.types import NotEstimableWarning
from valkit.stats.validation import StatsInputError

# BCG vaccine trials (Colditz et al. 1994, JAMA 271:698-702), as distributed in metadat's
# data-raw/dat.colditz1994.txt (= metafor's dat.bcg): tpos, tneg (vaccinated), cpos, cneg (control).
BCG = np.array([
    [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
    [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619], [505, 87886, 499, 87892],
    [29, 7470, 45, 7232], [17, 1699, 65, 1600], [186, 50448, 141, 27197], [5, 2493, 3, 2338],
    [27, 16886, 29, 17825],
])


def bcg_log_rr() -> tuple[np.ndarray, np.ndarray]:
    """metafor escalc(measure="RR"): yi = log((a/n1)/(c/n2)), vi = 1/a - 1/n1 + 1/c - 1/n2."""
    a, b, c, d = BCG.T.astype(float)
    return np.log((a / (a + b)) / (c / (c + d))), 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)


# CLASP trials, DerSimonian R, Kacker R (2007) Contemp Clin Trials 28:105-114, Table 1
# (events ai of n1i treated, ci of n2i control); log odds ratios.
CLASP_N1 = np.array([156, 303, 565, 1570, 103, 4659])
CLASP_N2 = np.array([74, 303, 477, 1565, 105, 4650])
CLASP_A = np.array([5, 5, 12, 69, 9, 313])
CLASP_C = np.array([8, 17, 9, 94, 11, 352])


def clasp_log_or() -> tuple[np.ndarray, np.ndarray]:
    a, n1, c, n2 = CLASP_A, CLASP_N1, CLASP_C, CLASP_N2
    return (np.log(a * (n2 - c) / ((n1 - a) * c)),
            1 / a + 1 / (n1 - a) + 1 / c + 1 / (n2 - c))


def test_bcg_dersimonian_laird_matches_stata_metan():
    # Stata `metan tpos tneg cpos cneg, randomi nograph rr log`, as recorded in metafor's
    # tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r (4 decimals); the fixed-effect Q
    # from the same file (`fixedi`): 152.2330.
    y, v = bcg_log_rr()
    m = random_effects(y, v, method="dl")
    assert m.estimate == pytest.approx(-0.7141, abs=1e-4)
    assert m.interval.low == pytest.approx(-1.0644, abs=1e-4)
    assert m.interval.high == pytest.approx(-0.3638, abs=1e-4)
    assert m.estimate / m.se == pytest.approx(-3.9952, abs=1e-4)
    assert m.tau2 == pytest.approx(0.3088, abs=1e-4)
    assert 100 * m.i2 == pytest.approx(92.1173, abs=1e-4)
    assert m.q == pytest.approx(152.2330, abs=1e-4)
    assert m.df == 12
    # RR scale: 0.4896 (0.3449, 0.6950)
    assert math.exp(m.estimate) == pytest.approx(0.4896, abs=1e-4)
    assert math.exp(m.interval.low) == pytest.approx(0.3449, abs=1e-4)
    assert math.exp(m.interval.high) == pytest.approx(0.6950, abs=1e-4)


def test_bcg_dersimonian_laird_by_hand():
    # DerSimonian & Laird (1986): w = 1/v, Q = sum w (y - ybar_w)^2,
    # tau2 = max(0, (Q - (k-1)) / (sum w - sum w^2 / sum w)), then weights 1/(v + tau2).
    y, v = bcg_log_rr()
    w = 1 / v
    ybar = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - ybar) ** 2)
    tau2 = max(0.0, (q - (len(y) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    wr = 1 / (v + tau2)
    mu, se = np.sum(wr * y) / wr.sum(), math.sqrt(1 / wr.sum())
    m = random_effects(y, v, method="dl")
    assert (m.q, m.tau2, m.estimate, m.se) == pytest.approx((q, tau2, mu, se), rel=1e-12)
    assert m.i2 == pytest.approx((q - 12) / q, rel=1e-12)
    assert m.fixed_estimate == pytest.approx(ybar, rel=1e-12)


def test_bcg_reml_matches_metafor():
    # metafor rma(yi, vi, data=dat) (REML is the default), tests/testthat/test_misc_influence.r:
    # tau2 = 0.313243325980895, QE = 152.233008082373; leave1out(res)[1] (trial 1 left out):
    # estimate -0.707083788031436, se 0.189961024702717, ci -1.07940055491509 .. -0.334767021147788,
    # Q 151.582572747109, tau2 0.336156745300306, I2 93.2259349111223 (metafor's I2 = tau2/(tau2+s2));
    # influence(res)$inf$rstudent[1] = -0.218142474344442.
    # metafor stops its Fisher scoring at a change < 1e-5 in tau2, hence the tolerances.
    y, v = bcg_log_rr()
    m = random_effects(y, v, method="reml")
    assert m.tau2 == pytest.approx(0.313243325980895, abs=1e-6)
    assert m.q == pytest.approx(152.233008082373, abs=1e-9)
    assert 100 * m.i2_model == pytest.approx(92.22, abs=5e-3)  # printed by metafor's summary
    loo = leave_one_out(y, v, method="reml")[0]
    assert loo.estimate == pytest.approx(-0.707083788031436, abs=1e-6)
    assert loo.se == pytest.approx(0.189961024702717, abs=1e-6)
    assert loo.interval.low == pytest.approx(-1.07940055491509, abs=1e-6)
    assert loo.interval.high == pytest.approx(-0.334767021147788, abs=1e-6)
    assert loo.q == pytest.approx(151.582572747109, abs=1e-8)
    assert loo.tau2 == pytest.approx(0.336156745300306, abs=1e-6)
    assert 100 * loo.i2_model == pytest.approx(93.2259349111223, abs=1e-4)
    assert deleted_residuals(y, v, method="reml")[0].z == pytest.approx(-0.218142474344442, abs=1e-6)


@pytest.mark.parametrize("method, tau, mu, se", [
    # DerSimonian & Kacker (2007), Tables 3 and 4 (as checked in metafor's
    # tests/testthat/test_analysis_example_dersimonian2007.r): tau, mu, se of the CLASP log ORs.
    ("pm", 0.3681, -0.3811, 0.2060),
    ("dl", 0.2323, -0.3240, 0.1540),
    ("reml", 0.1843, -0.2980, 0.1343),
])
def test_clasp_dersimonian_kacker_2007(method, tau, mu, se):
    y, v = clasp_log_or()
    m = random_effects(y, v, method=method)
    assert (round(m.tau, 4), round(m.estimate, 4), round(m.se, 4)) == (tau, mu, se)


@pytest.mark.parametrize("seed", range(6))
def test_dl_and_pm_equal_statsmodels_called_directly(seed):
    from statsmodels.stats.meta_analysis import combine_effects

    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 15))
    v = rng.uniform(0.01, 0.2, k)
    y = rng.normal(0.5, 0.4, k) + rng.normal(0, np.sqrt(v))
    for method in ("dl", "pm"):
        ref = combine_effects(y, v, method_re=method, **({"atol": 1e-10, "maxiter": 1000} if method == "pm" else {}))
        m = random_effects(y, v, method=method)
        assert m.q == pytest.approx(ref.q, rel=1e-12)
        assert m.fixed_estimate == pytest.approx(ref.mean_effect_fe, rel=1e-12)
        # statsmodels' PM Newton iteration returns 0 when a step overshoots; compare where it converged
        converged = method == "dl" or ref.tau2 == 0 and ref.q <= k - 1 or ref.tau2 > 0
        if ref.tau2 >= 0 and converged:
            assert m.tau2 == pytest.approx(ref.tau2, rel=1e-9, abs=1e-12)
            assert m.estimate == pytest.approx(ref.mean_effect_re, rel=1e-9)
            assert m.se == pytest.approx(ref.sd_eff_w_re, rel=1e-9)
            low, high = ref.conf_int(alpha=0.05, use_t=False)[1]
            assert (m.interval.low, m.interval.high) == pytest.approx((low, high), rel=1e-9)
        if ref.q > k - 1:
            assert m.i2 == pytest.approx(ref.i2, rel=1e-12)
        assert m.p_value == pytest.approx(ref.test_homogeneity().pvalue, rel=1e-12)


def test_homogeneous_sites_truncate_tau2_and_i2_at_zero_without_warnings():
    y = np.array([0.50, 0.51, 0.49, 0.50])
    v = np.array([0.05, 0.04, 0.06, 0.05])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # statsmodels' untruncated DL must not leak a RuntimeWarning
        for method in ("dl", "pm", "reml"):
            m = random_effects(y, v, method=method)
            assert m.tau2 == 0.0 and m.i2 == 0.0
            assert m.estimate == pytest.approx(m.fixed_estimate)


def test_single_site_is_flagged_not_crashing():
    with pytest.warns(NotEstimableWarning, match="single_site"):
        m = random_effects([0.3], [0.01])
    assert m.k == 1 and m.df == 0 and math.isnan(m.p_value) and m.estimate == 0.3
    assert m.warnings[0].startswith("single_site")


def test_bad_input_names_the_problem():
    with pytest.raises(StatsInputError, match="variances"):
        random_effects([0.1, 0.2], [0.01, 0.0])
    with pytest.raises(StatsInputError, match="unknown method 'reml2'. Did you mean 'reml'"):
        random_effects([0.1, 0.2], [0.01, 0.01], method="reml2")
    with pytest.raises(StatsInputError, match="totals > 0"):
        logit_transform([0, 1], [0, 3])


def test_continuity_correction_for_perfect_sites():
    d = logit_transform([10, 0, 7], [10, 5, 10])
    assert d.corrected.tolist() == [True, True, False]
    assert d.effects[0] == pytest.approx(math.log(10.5 / 0.5))
    assert d.variances[1] == pytest.approx(1 / 0.5 + 1 / 5.5)
    r = pooled_proportion([20, 19, 20], [20, 20, 20])
    assert 0 < r.estimate.value < 1 and r.corrected == (True, False, True)


def test_pooled_proportion_back_transforms_and_leaves_one_out():
    x, n = np.array([45, 40, 30, 44]), np.array([50, 50, 50, 50])
    r = pooled_proportion(x, n, method="reml")
    assert r.estimate.value == pytest.approx(1 / (1 + math.exp(-r.meta.estimate)))
    assert r.estimate.interval.low < r.estimate.value < r.estimate.interval.high
    assert r.estimate.numerator == x.sum() and r.estimate.denominator == n.sum()
    assert len(r.leave_one_out) == 4 and len(r.residuals) == 4
    # leaving out the low site (30/50) raises the pooled estimate the most
    assert int(np.argmax([e.value for e in r.leave_one_out])) == 2
    assert int(np.argmin([res.z for res in r.residuals])) == 2
    assert r.to_dict()["meta"]["tau2_method"] == "reml"


def test_pm_solves_the_generalised_q_equation_where_statsmodels_overshoots():
    # statsmodels' PM iteration overshoots here and returns tau2 = 0 although Q(0) > k - 1
    y, v = np.array([0.0, 0.0, 1.3984375]), np.array([1.75, 1.8125, 0.03125])
    m = random_effects(y, v, method="pm")
    w = 1 / (v + m.tau2)
    mu = np.sum(w * y) / w.sum()
    assert m.tau2 > 0 and np.sum(w * (y - mu) ** 2) == pytest.approx(2, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.001, 2)), min_size=2, max_size=12),
       st.sampled_from(["dl", "pm", "reml"]))
# found by hypothesis in CI: (nearly) identical effects made statsmodels' own I^2 overflow
@example(sites=[(0.0, 1.0), (5.9946489317089515e-161, 1.0)], method="dl")
def test_properties(sites, method):
    y = np.array([s[0] for s in sites])
    v = np.array([s[1] for s in sites])
    m = random_effects(y, v, method=method)
    assert m.tau2 >= 0 and 0 <= m.i2 < 1 and 0 <= m.i2_model < 1
    assert y.min() - 1e-9 <= m.estimate <= y.max() + 1e-9
    assert m.interval.low <= m.estimate <= m.interval.high
    assert sum(m.weights) == pytest.approx(1)
    perm = np.random.default_rng(0).permutation(len(y))
    m2 = random_effects(y[perm], v[perm], method=method)
    assert (m2.estimate, m2.tau2, m2.q) == pytest.approx((m.estimate, m.tau2, m.q), rel=1e-7, abs=1e-10)


def test_a_heterogeneous_column_without_a_significant_level_singles_out_no_level():
    # issue #11 item 6: "Lakeshore named as the most different site while the sites at 41% and 53%
    # specificity go unnamed" - the largest residual is not what a reader sees as most extreme
    from valkit.analyses.sites import _verdict

    test = {"pooled": {}, "p_adjusted": 1e-6, "i2": 0.9, "k": 4, "q": 40.0, "df": 3, "tau2": 1.0, "metric": "specificity",
            "range": {"lowest": {"levels": ["B"], "value": 0.41}, "highest": {"levels": ["A"], "value": 0.98}},
            "residuals": [{"level": "A", "z": 1.4, "p_adjusted": 0.62, "direction": "higher", "departs": False},
                          {"level": "B", "z": -0.3, "p_adjusted": 1.0, "direction": "lower", "departs": False}]}
    _verdict(test, 0.05)
    assert test["verdict"] == "heterogeneous" and test["flagged_levels"] == [] and test["flagged_summary"] == ""
    assert "no single level departs significantly" in test["text"] and "most different" not in test["text"]
    assert "range from 41% (B) to 98% (A)" in test["text"]
