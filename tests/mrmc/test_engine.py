"""Unit tests of the pure engine against brute-force definitions and internal identities."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from valkit.reader_study import analyze_reader_study
from valkit.stats.mrmc import NegativeVarianceWarning, mrmc_analysis
from valkit.stats.mrmc.binormal import binormal_jackknife, collapse_counts, fit_binormal_counts
from valkit.stats.mrmc.covariance import delong_covariance, unbiased_covariance
from valkit.stats.mrmc.design import detect_design
from valkit.stats.mrmc.fom import auc_jackknife, binary_jackknife, placement_values


def brute_auc(x, t):
    p, n = x[t][:, None], x[~t][None, :]
    return float(((p > n) + 0.5 * (p == n)).mean())


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 12), st.integers(2, 12), st.sampled_from(["int", "float", "coarse"]), st.integers(0, 10**6))
def test_closed_form_jackknife_equals_leave_one_out(n1, n0, kind, seed):
    rng = np.random.default_rng(seed)
    t = rng.permutation(np.array([True] * n1 + [False] * n0))
    if kind == "int":
        x = rng.integers(1, 6, size=(1, 2, n1 + n0)).astype(float)
    elif kind == "float":
        x = rng.normal(size=(1, 2, n1 + n0))
    else:
        x = np.round(rng.normal(size=(1, 2, n1 + n0)), 1)
    jk = auc_jackknife(x, t)
    for g in range(2):
        assert jk.values[0, g] == pytest.approx(brute_auc(x[0, g], t), abs=1e-12)
        for k in range(n1 + n0):
            keep = np.arange(n1 + n0) != k
            loo = brute_auc(x[0, g, keep], t[keep])
            assert jk.deviations[k, g] == pytest.approx(loo - jk.values[0, g], abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (3, 10), elements=st.sampled_from([1.0, 2.0, 2.5, 3.0, 7.0])),
       st.lists(st.booleans(), min_size=10, max_size=10).filter(lambda v: 1 <= sum(v) <= 9))
def test_placement_values_match_definition(x, truth):
    t = np.array(truth)
    auc, v10, v01 = placement_values(x, t)
    for g in range(3):
        p, n = x[g, t][:, None], x[g, ~t][None, :]
        psi = (p > n) + 0.5 * (p == n)
        np.testing.assert_allclose(v10[g], psi.mean(axis=1))
        np.testing.assert_allclose(v01[g], psi.mean(axis=0))
        assert auc[g] == pytest.approx(psi.mean())


def test_auc_is_invariant_to_monotone_transforms():
    rng = np.random.default_rng(4)
    t = rng.random(60) < 0.4
    x = rng.normal(size=(2, 3, 60)) + t
    a = mrmc_analysis(x, t).to_flat_dict()
    b = mrmc_analysis(np.exp(3 * x) + 7, t).to_flat_dict()
    for k in ("or.jackknife.RRRC.F", "or.jackknife.RRRC.p", "auc.reader2.mod1"):
        assert a[k] == pytest.approx(b[k], rel=1e-12)


def test_delong_covariance_matches_textbook_formula():
    rng = np.random.default_rng(5)
    t = np.array([True] * 7 + [False] * 9)
    x = rng.integers(1, 6, size=(2, 2, 16)).astype(float)
    cov = delong_covariance(x, t)
    flat = x.reshape(4, 16)
    v10 = np.array([[brute_auc(np.r_[flat[g, t][i:i + 1], flat[g, ~t]], np.r_[True, [False] * 9])
                     for i in range(7)] for g in range(4)])
    auc = v10.mean(axis=1)
    s10 = np.cov(v10)
    v01 = np.array([[1 - brute_auc(np.r_[flat[g, ~t][j:j + 1], flat[g, t]], np.r_[True, [False] * 7])
                     for j in range(9)] for g in range(4)])
    s01 = np.cov(v01)
    np.testing.assert_allclose(cov, s10 / 7 + s01 / 9, atol=1e-14)
    np.testing.assert_allclose(auc, [brute_auc(flat[g], t) for g in range(4)])


def test_unbiased_covariance_of_nested_design_is_block_of_crossed():
    rng = np.random.default_rng(6)
    t = np.array([True] * 6 + [False] * 8)
    x = rng.integers(1, 6, size=(2, 3, 14)).astype(float)
    crossed = unbiased_covariance(x, t)
    nested = np.full((2, 3, 28), np.nan)
    nested[0, :, :14] = x[0]
    nested[1, :, 14:] = x[1]
    cov = unbiased_covariance(nested, np.r_[t, t])
    np.testing.assert_allclose(cov[:3, :3], crossed[:3, :3], atol=1e-14)
    np.testing.assert_allclose(cov[3:, 3:], crossed[3:, 3:], atol=1e-14)
    np.testing.assert_allclose(cov[:3, 3:], 0.0, atol=1e-15)


def test_dbm_with_jackknife_equals_or_rrrc(vandyke):
    flat = analyze_reader_study(vandyke).to_flat_dict()
    for k in ("F", "ddf", "p"):
        assert flat[f"dbm.RRRC.{k}"] == pytest.approx(flat[f"or.jackknife.RRRC.{k}"], rel=1e-10)
    # DBM variance components are the OR ones times the number of cases (Hillis et al. 2005)
    assert flat["dbm.var_TC"] == pytest.approx(114 * (flat["or.jackknife.cov2"] - flat["or.jackknife.cov3"]))
    assert flat["dbm.var_R"] == pytest.approx(flat["or.jackknife.var_R"], rel=1e-10)


def test_design_detection():
    full = np.ones((2, 3, 6), bool)
    assert detect_design(full) == "factorial"
    m = np.zeros((2, 3, 6), bool)
    m[0, :, :3] = True
    m[1, :, 3:] = True
    assert detect_design(m) == "cases_nested_in_modality"
    m = np.zeros((2, 3, 6), bool)
    for r in range(3):
        m[:, r, 2 * r:2 * r + 2] = True
    assert detect_design(m) == "cases_nested_in_reader"
    m[0, 0, 0] = False  # a nested-in-reader case not read under one modality
    assert detect_design(m) is None


def test_three_modalities_pairwise_keys():
    rng = np.random.default_rng(8)
    t = rng.random(50) < 0.5
    x = t * rng.uniform(0.5, 2, size=(3, 4, 1)) + rng.normal(size=(3, 4, 50))
    flat = mrmc_analysis(x, t).to_flat_dict()
    assert flat["or.jackknife.RRRC.df1"] == 2
    for pair in ("1-2", "1-3", "2-3"):
        assert f"or.jackknife.RRRC.diff.{pair}.ci_lower" in flat
        assert f"auc.diff.{pair}" in flat
    assert flat["auc.diff.1-3"] == pytest.approx(flat["auc.diff.1-2"] + flat["auc.diff.2-3"])


def test_sensitivity_jackknife_is_binomial_variance():
    t = np.array([True] * 10 + [False] * 5)
    x = np.array([[[5, 4, 3, 2, 5, 4, 1, 3, 5, 2, 1, 2, 3, 1, 1]] * 2], float).reshape(1, 2, 15)
    jk = binary_jackknife(x, t, threshold=3, which="sensitivity")
    p = 7 / 10
    assert jk.values[0, 0] == pytest.approx(p)
    assert jk.covariance()[0, 0] == pytest.approx(p * (1 - p) / 9)  # s^2 / n with s^2 the unbiased variance
    spec = binary_jackknife(x, t, threshold=3, which="specificity")
    assert spec.values[0, 0] == pytest.approx(4 / 5) and spec.name == "spec.ge3"


def test_negative_unbiased_variance_is_reported_with_a_warning():
    # 2 readers x 4 cases: the U-statistic variance of reader 2's modality difference is -0.0625
    t = np.array([1, 1, 0, 0], bool)
    x = np.array([[[5, 5, 4, 3], [2, 5, 2, 5]], [[4, 5, 5, 2], [1, 5, 2, 6]]], float)
    with pytest.warns(NegativeVarianceWarning, match="FRRC reader 2 difference: the variance estimate is negative"):
        res = mrmc_analysis(x, t, covariance="unbiased")
    flat = res.to_flat_dict()
    assert flat["or.unbiased.FRRC.reader2.var_diff"] == pytest.approx(-0.0625)
    assert np.isnan(flat["or.unbiased.FRRC.reader2.se"])
    assert np.isfinite(flat["or.unbiased.FRRC.reader1.se"])
    assert any("negative" in w for w in res.warnings)


def test_negative_variance_component_is_reported_not_raised():
    rng = np.random.default_rng(0)
    t = np.repeat([0, 1], 20).astype(bool)
    x = t + rng.normal(size=(2, 3, 40))  # no reader effect: Var(R) estimate below 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = mrmc_analysis(x, t)
    assert res.obuchowski_rockette.components.var_R < 0
    assert any(w.startswith("var_R: the OR variance component estimate is negative") for w in res.warnings)


def test_binormal_fit_recovers_parameters_and_degenerate_cases():
    from scipy.special import ndtr
    cuts = np.array([-np.inf, -1.0, 0.0, 0.7, 1.5, np.inf])
    neg = 5e4 * np.diff(ndtr(cuts))
    pos = 5e4 * np.diff(ndtr(0.6 * cuts - 1.3))
    fit = fit_binormal_counts(neg, pos)
    assert fit.a == pytest.approx(1.3, abs=1e-7) and fit.b == pytest.approx(0.6, abs=1e-7)
    assert fit.auc == pytest.approx(float(ndtr(1.3 / np.sqrt(1.36))), abs=1e-9)
    assert fit_binormal_counts(np.array([5.0, 0.0]), np.array([0.0, 5.0])).auc == 1.0  # perfect separation
    assert fit_binormal_counts(np.array([5.0]), np.array([5.0])).auc == 0.5  # one category
    assert fit_binormal_counts(np.array([0.0, 5.0]), np.array([5.0, 0.0])).auc == 0.0


def test_collapse_merges_runs_of_one_class():
    n, p = collapse_counts(np.array([4, 3, 0, 2, 0, 0]), np.array([0, 0, 1, 2, 3, 1]))
    assert n.tolist() == [7, 0, 2, 0] and p.tolist() == [0, 1, 2, 4]


def test_binormal_jackknife_uses_cached_refits():
    rng = np.random.default_rng(2)
    t = np.repeat([False, True], 25)
    x = np.clip(np.round(2.5 + 1.2 * t + rng.normal(size=(1, 2, 50))), 1, 5)
    jk = binormal_jackknife(x, t)
    # cases with the same rating and truth get the same leave-one-out value
    k1, k2 = [k for k in range(50) if x[0, 0, k] == 3 and t[k]][:2]
    assert jk.deviations[k1, 0] == jk.deviations[k2, 0]


def test_pure_engine_imports_no_heavy_packages():
    import subprocess
    import sys

    code = ("import sys, valkit.stats.mrmc, valkit.stats.mrmc.sample_size, valkit.stats.mrmc.standalone, "
            "valkit.stats.mrmc.roc; "
            "print([m for m in ('pandas', 'torch', 'pydicom', 'jinja2', 'weasyprint') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("nested", [False, True])
def test_unbiased_ordinal_shortcut_equals_pairwise_sum(nested):
    rng = np.random.default_rng(12)
    t = np.array([True] * 9 + [False] * 13)
    x = rng.integers(1, 6, size=(2, 3, 22)).astype(float)
    if nested:
        xx = np.full((2, 3, 44), np.nan)
        xx[0, :, :22], xx[1, :, 22:] = x[0], x[1]
        x, t = xx, np.r_[t, t]
    ordinal = unbiased_covariance(x, t)  # integer ratings: histogram path
    generic = unbiased_covariance(1.5 * x + 0.25, t)  # same order, not integers: pairwise path
    np.testing.assert_allclose(ordinal, generic, atol=1e-15)
