"""``binormal_fit="mrmcaov"``: the emulation of MRMCaov's binormal fitting procedure.

The published MRMCaov numbers it reproduces are checked in test_reference_vandyke.py; here:
its pieces (R's optimize / uniroot, trust, the count collapsing), agreement with valkit's
maximum-likelihood fit where a finite MLE exists, the one Van Dyke boundary refit under both
conventions, and the option's plumbing (API, CLI, misspelling).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, special

from valkit.cli import main
from valkit.reader_study import analyze_reader_study
from valkit.stats.mrmc import MRMCInputError, mrmc_analysis
from valkit.stats.mrmc.binormal import binormal_jackknife, fit_binormal_counts
from valkit.stats.mrmc.binormal_mrmcaov import fit_binormal_mrmcaov, is_approx, roc_counts_collapsed
from valkit.stats.mrmc.trust_region import brent_fmin, trust_region, zeroin

DATA = Path(__file__).resolve().parents[1] / "data" / "mrmc"


def _counts(vandyke, modality: int, reader: int) -> tuple[np.ndarray, np.ndarray]:
    g = vandyke[(vandyke.modality == modality) & (vandyke.reader == reader)]
    neg = np.bincount(g.rating[g.truth == 0], minlength=6)[1:].astype(float)
    pos = np.bincount(g.rating[g.truth == 1], minlength=6)[1:].astype(float)
    return neg, pos


@pytest.mark.parametrize("f, lo, hi", [
    (lambda x: (x - 0.3) ** 2, 0.0, 1.0),
    (lambda x: math.cos(x), 2.0, 5.0),
    (lambda x: -math.log(special.ndtr(x)) - 3 * math.log(special.ndtr(-x)), -5.0, 5.0),
])
def test_brent_fmin_finds_the_minimum_to_rs_tolerance(f, lo, hi):
    # R's optimize() promises |x - x*| < 3 sqrt(eps) |x*| + tol with tol = eps^0.25 ~ 1.2e-4
    ours = brent_fmin(f, lo, hi)
    ref = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).x
    assert abs(ours - ref) < 1.3e-4
    assert lo < ours < hi


def test_zeroin_finds_roots_to_rs_tolerance():
    for f, lo, hi in ((lambda x: x ** 3 - 2 * x - 5, 2.0, 3.0), (lambda x: math.tanh(x - 0.7), -3.0, 4.0)):
        ours = zeroin(f, lo, hi, f(lo), f(hi))
        assert abs(ours - optimize.brentq(f, lo, hi, xtol=1e-14)) < 1.3e-4
    assert zeroin(lambda x: x, 0.0, 1.0, 0.0, 1.0) == 0.0  # root at an end point


def test_is_approx_is_all_equal():
    assert is_approx(-40.0, -40.0 * (1 + 1.4e-8)) and not is_approx(-40.0, -40.0 * (1 + 1.6e-8))
    assert is_approx(1e-10, 2e-10)  # |target| <= tolerance: absolute difference
    assert not is_approx(-1e100, 0.0)


def test_trust_region_minimises_rosenbrock():
    # the example of the R package trust (?trust): indefinite Hessians on the way exercise
    # the trust-region (non-Newton) steps
    def objfun(x):
        a, b = x
        value = 100 * (b - a * a) ** 2 + (1 - a) ** 2
        grad = np.array([-400 * a * (b - a * a) - 2 * (1 - a), 200 * (b - a * a)])
        hess = np.array([[1200 * a * a - 400 * b + 2, -400 * a], [-400 * a, 200.0]])
        return value, grad, hess

    res = trust_region(objfun, np.array([-1.2, 1.0]), 1.0, 5.0)
    assert res.converged and res.iterations < 100
    np.testing.assert_allclose(res.argument, [1.0, 1.0], atol=1e-4)


def test_roc_counts_collapse_like_mrmcaov():
    # inner members of a run of unchanged cumulative counts are dropped: a leading run of
    # pure-negative categories keeps its first member separate (valkit's own collapse merges all)
    n, p = roc_counts_collapsed(np.array([4, 3, 2, 1, 0]), np.array([0, 0, 0, 2, 3]))
    assert n.tolist() == [4, 5, 1, 0] and p.tolist() == [0, 0, 2, 3]
    n, p = roc_counts_collapsed(np.array([5, 2, 1, 0, 0, 0]), np.array([1, 1, 2, 1, 1, 4]))
    assert n.tolist() == [5, 2, 1, 0] and p.tolist() == [1, 1, 2, 6]


def test_emulation_equals_the_mle_where_one_exists(vandyke):
    # all ten Van Dyke reader x modality fits have a finite MLE: MRMCaov's procedure stops
    # within its tolerance (|change in loglik| < 1.5e-8) of valkit's maximum-likelihood fit
    for m in (1, 2):
        for r in range(1, 6):
            neg, pos = _counts(vandyke, m, r)
            ours, mle = fit_binormal_mrmcaov(neg, pos), fit_binormal_counts(neg, pos)
            assert ours.converged
            assert ours.auc == pytest.approx(mle.auc, abs=1e-6)
            if not mle.degenerate:
                assert (ours.a, ours.b) == pytest.approx((mle.a, mle.b), abs=1e-3)


def test_emulation_on_simulated_counts():
    rng = np.random.default_rng(7)
    for _ in range(5):
        a, b = rng.uniform(0.5, 2.0), rng.uniform(0.5, 1.5)
        cuts = np.concatenate(([-np.inf], np.sort(rng.uniform(-1, 2, 4)), [np.inf]))
        neg = rng.multinomial(60, np.diff(special.ndtr(cuts))).astype(float)
        pos = rng.multinomial(40, np.diff(special.ndtr(b * cuts - a))).astype(float)
        mle = fit_binormal_counts(neg, pos)
        if mle.boundary or mle.degenerate:
            continue
        assert fit_binormal_mrmcaov(neg, pos).auc == pytest.approx(mle.auc, abs=1e-6)


def test_the_van_dyke_boundary_refit_under_both_conventions(vandyke):
    # reader 4, modality 1, leaving out its only positive case rated 2: the likelihood rises
    # all the way to b -> 0. "limit" gives the limit AUC; MRMCaov's trust stops at its
    # iteration limit (100) with b ~ 2.6e-4, AUC 0.9545787 (the value behind its published F).
    neg, pos = _counts(vandyke, 1, 4)
    assert pos[1] == 1
    pos[1] -= 1
    limit = fit_binormal_counts(neg, pos)
    emulated = fit_binormal_mrmcaov(neg, pos)
    assert limit.boundary and limit.auc == pytest.approx(0.9545455, abs=1e-7)
    assert not emulated.converged and emulated.iterations == 100
    assert emulated.b == pytest.approx(2.634e-4, rel=1e-3)
    assert emulated.auc == pytest.approx(0.9545787, abs=1e-7)


def test_published_binormal_test_to_every_printed_digit():
    # MRMCaov 0.3.0 User Guide p.7 (tests/data/mrmc/published_vandyke.csv): the emulation
    # gives each printed number when rounded to the digits printed, a stricter check than the
    # CSV tolerances (which one more or one fewer trust iteration would still meet for some rows)
    out = analyze_reader_study(DATA / "vandyke.csv", fom="binormal", binormal_fit="mrmcaov").to_flat_dict()
    printed = {"F": "2.676697", "ddf": "10.51753", "p": "0.1313668", "diff": "-0.04056692",
               "diff.ci_lower": "-0.0954484", "diff.ci_upper": "0.01431455"}
    for key, text in printed.items():
        decimals = len(text.split(".")[1])
        assert f"{out['binormal.jackknife.RRRC.' + key]:.{decimals}f}" == text, key


def test_binormal_jackknife_notes_name_the_convention(vandyke):
    for fit, phrase in (("limit", "the AUC used is the limit"), ("mrmcaov", "where MRMCaov's optimiser stops")):
        res = analyze_reader_study(DATA / "vandyke.csv", fom="binormal", binormal_fit=fit)
        notes = [w for w in res.warnings if "no finite maximum-likelihood" in w]
        assert len(notes) == 1 and "modality 1, reader 4" in notes[0] and phrase in notes[0]
        assert res.settings["binormal_fit"] == fit


def test_binormal_jackknife_mrmcaov_caches_refits():
    rng = np.random.default_rng(2)
    t = np.repeat([False, True], 25)
    x = np.clip(np.round(2.5 + 1.2 * t + rng.normal(size=(1, 2, 50))), 1, 5)
    limit, emulated = binormal_jackknife(x, t), binormal_jackknife(x, t, fit="mrmcaov")
    np.testing.assert_allclose(emulated.values, limit.values, atol=1e-6)
    np.testing.assert_allclose(emulated.deviations, limit.deviations, atol=1e-6)


def test_binormal_fit_option_is_checked():
    x = np.zeros((2, 2, 6))
    x[..., 3:] = 1
    with pytest.raises(MRMCInputError, match="binormal_fit: unknown option 'mrmc'. Did you mean 'mrmcaov'"):
        mrmc_analysis(x, np.array([0, 0, 0, 1, 1, 1]), fom="binormal", binormal_fit="mrmc")
    with pytest.raises(MRMCInputError, match="binormal_fit"):
        mrmc_analysis(x, np.array([0, 0, 0, 1, 1, 1]), binormal_fit="MRMCaov")


def test_cli_binormal_fit_flag(tmp_path):
    out = tmp_path / "o.json"
    args = ["reader-study", "analyze", str(DATA / "vandyke.csv"), "--fom", "binormal", "--json", str(out)]
    assert main(args + ["--binormal-fit", "mrmcaov"]) == 0
    # MRMCaov 0.3.0 User Guide p.7: F = 2.676697
    assert json.loads(out.read_text())["binormal.jackknife.RRRC.F"] == pytest.approx(2.676697, abs=2e-5)
    assert main(args) == 0
    assert json.loads(out.read_text())["binormal.jackknife.RRRC.F"] == pytest.approx(2.6772587, abs=1e-6)
