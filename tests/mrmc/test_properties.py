"""Invariances the analysis must have, on random studies (hypothesis) and on VanDyke."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valkit.reader_study import analyze_reader_study
from valkit.stats.mrmc import NegativeVarianceWarning, mrmc_analysis

GLOBAL_KEYS = [
    "or.{c}.RRRC.F", "or.{c}.RRRC.ddf", "or.{c}.RRRC.p", "or.{c}.RRRC.diff.se",
    "or.{c}.FRRC.X2", "or.{c}.FRRC.p", "or.{c}.RRFC.F", "or.{c}.RRFC.p",
    "or.{c}.var_R", "or.{c}.var_TR", "or.{c}.cov1", "or.{c}.cov2", "or.{c}.cov3", "or.{c}.var_error",
]
COV_LABEL = {"jackknife": "jackknife", "delong": "DeLong", "unbiased": "unbiased"}


@st.composite
def studies(draw):
    n_rdr = draw(st.integers(2, 4))
    n1 = draw(st.integers(2, 8))
    n0 = draw(st.integers(2, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    truth = np.array([1] * n1 + [0] * n0, dtype=bool)
    levels = draw(st.sampled_from([5, 100]))
    ratings = rng.integers(1, levels + 1, size=(2, n_rdr, n1 + n0)).astype(float)
    ratings += truth * rng.integers(0, 3, size=(2, n_rdr, 1))
    return ratings, truth, draw(st.sampled_from(["jackknife", "delong", "unbiased"]))


def _analyze(df, cov):
    with warnings.catch_warnings():
        # the unbiased estimator may give a negative variance on tiny random studies
        warnings.simplefilter("ignore", NegativeVarianceWarning)
        return analyze_reader_study(df, covariance=cov).to_flat_dict()


def _same(a, b, tol=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies(), st.randoms(use_true_random=False))
def test_relabelling_readers_and_cases_changes_nothing(make_tidy, study, rnd):
    ratings, truth, cov = study
    n_mod, n_rdr, n_cases = ratings.shape
    base = _analyze(make_tidy(ratings, truth), cov)
    readers = [f"r{i}" for i in range(n_rdr)]
    new_readers = readers[:]
    rnd.shuffle(new_readers)
    new_cases = [f"x{v}" for v in rnd.sample(range(10_000), n_cases)]
    df = make_tidy(ratings, truth, readers=new_readers, cases=new_cases)
    df = df.sample(frac=1.0, random_state=rnd.randrange(1000)).reset_index(drop=True)  # row order too
    other = _analyze(df, cov)
    for key in GLOBAL_KEYS:
        k = key.format(c=COV_LABEL[cov])
        assert _same(base[k], other[k]), k
    # per-reader AUCs are the same numbers under the new numbering
    order = sorted(range(n_rdr), key=lambda i: new_readers[i])  # new reader number -> old index
    for new_no, old in enumerate(order):
        for t in (1, 2):
            assert _same(other[f"auc.reader{new_no + 1}.mod{t}"], base[f"auc.reader{old + 1}.mod{t}"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies())
def test_swapping_modalities_negates_difference_keeps_f_and_p(make_tidy, study):
    ratings, truth, cov = study
    c = COV_LABEL[cov]
    a = _analyze(make_tidy(ratings, truth, modalities=["A", "B"]), cov)
    b = _analyze(make_tidy(ratings, truth, modalities=["B", "A"]), cov)
    assert _same(a["auc.diff.1-2"], -b["auc.diff.1-2"])
    assert _same(a[f"or.{c}.RRRC.diff"], -b[f"or.{c}.RRRC.diff"])
    assert _same(a[f"or.{c}.RRRC.diff.ci_lower"], _neg(b[f"or.{c}.RRRC.diff.ci_upper"]))
    for key in ("RRRC.F", "RRRC.ddf", "RRRC.p", "FRRC.X2", "FRRC.p", "RRFC.F", "RRFC.p", "RRRC.diff.se"):
        assert _same(a[f"or.{c}.{key}"], b[f"or.{c}.{key}"]), key


def _neg(v):
    return None if v is None else -v


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies())
def test_identical_modalities_give_zero_difference(study):
    ratings, truth, cov = study
    same = np.repeat(ratings[:1], 2, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeVarianceWarning)
        res = mrmc_analysis(same, truth, covariance=cov)
    flat = res.to_flat_dict()
    c = COV_LABEL[cov]
    assert flat["auc.diff.1-2"] == 0.0
    assert flat[f"or.{c}.RRRC.diff"] == 0.0
    assert flat[f"or.{c}.RRFC.diff.ci_lower"] == flat[f"or.{c}.RRFC.diff.ci_upper"] == 0.0
    for r in range(ratings.shape[1]):
        assert flat[f"or.{c}.FRRC.reader{r + 1}.diff"] == 0.0


@pytest.mark.parametrize("cov", ["jackknife", "delong", "unbiased"])
def test_vandyke_swapped_modalities(vandyke, cov):
    c = COV_LABEL[cov]
    a = analyze_reader_study(vandyke, covariance=cov).to_flat_dict()
    swapped = vandyke.assign(modality=3 - vandyke.modality)
    b = analyze_reader_study(swapped, covariance=cov).to_flat_dict()
    assert b["auc.diff.1-2"] == pytest.approx(0.04380032, abs=5e-9)  # Iowa: 1 - 2 = -0.04380032
    assert b[f"or.{c}.RRRC.F"] == pytest.approx(a[f"or.{c}.RRRC.F"], rel=1e-12)
    assert b[f"or.{c}.RRRC.p"] == pytest.approx(a[f"or.{c}.RRRC.p"], rel=1e-12)
    assert b[f"or.{c}.RRRC.diff.ci_lower"] == pytest.approx(-a[f"or.{c}.RRRC.diff.ci_upper"], rel=1e-12)


def test_ci_contains_estimate_and_p_matches_ci(vandyke):
    flat = analyze_reader_study(vandyke).to_flat_dict()
    for a in ("RRRC", "FRRC", "RRFC"):
        lo, hi = flat[f"or.jackknife.{a}.diff.ci_lower"], flat[f"or.jackknife.{a}.diff.ci_upper"]
        assert lo <= flat[f"or.jackknife.{a}.diff"] <= hi
        # the 95% CI excludes 0 exactly when p < 0.05
        assert (lo > 0 or hi < 0) == (flat[f"or.jackknife.{a}.diff.p"] < 0.05)
