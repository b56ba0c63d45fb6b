"""Heterogeneity and subgroup-difference tests with patients who contribute several images (issue #11).

The per-level logit variance must be cluster-robust (Rao & Scott 1992) when images are clustered
within patients; otherwise Cochran's Q rejects a true null far too often.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from valkit.stats.clustered_logit import clustered_logit_transform
from valkit.stats.heterogeneity import logit_transform, pooled_proportion, random_effects
from valkit.stats.validation import StatsInputError


def clustered_sample(rng: np.random.Generator, n_patients: int, *, a: float, b: float, k: int):
    """Patients with 1-5 images; each patient's own detection rate ~ Beta(a, b) (so images of one
    patient are correlated, intracluster correlation 1 / (a + b + 1)); level assigned per patient."""
    m = rng.integers(1, 6, n_patients)
    rate = rng.beta(a, b, n_patients)
    level = rng.integers(0, k, n_patients)
    pid = np.repeat(np.arange(n_patients), m)
    y = (rng.random(pid.size) < rate[pid]).astype(float)
    return y, level[pid], pid


# ----------------------------------------------------------------------------- the variance itself
def test_variance_is_the_gee_sandwich_times_rao_scott_small_sample_factor():
    # Oracle: statsmodels 0.15.0 GEE, intercept-only logistic model, independence working
    # correlation, robust covariance = sum_i (x_i - p n_i)^2 / (n p (1 - p))^2 (no small-sample
    # factor); Rao & Scott (1992) multiply the ratio-estimator variance by I / (I - 1).
    import statsmodels.api as sm

    y, level, pid = clustered_sample(np.random.default_rng(3), 60, a=2.0, b=1.0, k=2)
    d = clustered_logit_transform(y, level, pid)
    for j in range(2):
        m = level == j
        gee = sm.GEE(y[m], np.ones((m.sum(), 1)), groups=pid[m], family=sm.families.Binomial(),
                     cov_struct=sm.cov_struct.Independence()).fit()
        n_pat = len(np.unique(pid[m]))
        assert d.n_clusters[j] == n_pat
        assert d.effects[j] == pytest.approx(gee.params[0], rel=1e-10)
        assert d.design_effect[j] > 1  # clustered: the floor does not bind here
        assert d.variances[j] == pytest.approx(gee.cov_params()[0, 0] * n_pat / (n_pat - 1), rel=1e-8)


def test_one_image_per_patient_gives_the_binomial_variance_times_n_over_n_minus_1():
    rng = np.random.default_rng(0)
    y = (rng.random(90) < 0.7).astype(float)
    level = np.repeat([0, 1, 2], 30)
    d = clustered_logit_transform(y, level, np.arange(90))
    b = logit_transform(np.bincount(level, y), np.bincount(level))
    assert np.allclose(d.design_effect, 30 / 29) and np.allclose(d.variances, b.variances * 30 / 29)
    assert np.array_equal(d.effects, b.effects) and d.method == "cluster_robust_patient"


def test_boundary_levels_count_each_patient_once_with_the_continuity_correction():
    # level 0: 10 of 10 detected, from 4 patients -> d = n / I = 2.5, Var = 1/(4 + .5) + 1/.5
    # level 1: 0 of 6 from 6 patients -> d = 1, the corrected binomial 1/.5 + 1/6.5
    y = np.r_[np.ones(10), np.zeros(6)]
    pid = np.r_[[1, 1, 1, 2, 2, 2, 3, 3, 4, 4], np.arange(10, 16)]
    d = clustered_logit_transform(y, np.r_[np.zeros(10, int), np.ones(6, int)], pid)
    b = logit_transform([10, 0], [10, 6])
    assert np.array_equal(d.effects, b.effects) and d.corrected.tolist() == [True, True]
    assert d.variances[0] == pytest.approx(1 / 4.5 + 1 / 0.5)
    assert d.variances[1] == pytest.approx(b.variances[1])
    assert d.design_effect.tolist() == [2.5, 1.0]


def test_a_single_patient_level_is_one_observation():
    # 3 of 5 images from one patient: the sandwich is undefined (I - 1 = 0); d = n / I = 5
    d = clustered_logit_transform([1, 1, 1, 0, 0, 1, 0], [0] * 5 + [1] * 2, [7] * 5 + [8, 9])
    assert d.design_effect[0] == 5 and d.variances[0] == pytest.approx(5 * (1 / 3 + 1 / 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(1, 4)), min_size=2, max_size=40))
def test_never_narrower_than_the_corrected_binomial(patients):
    # patients: (level, events, images) with events <= images; keep levels 0 .. k-1 non-empty
    levels = sorted({p[0] for p in patients})
    code = {lv: i for i, lv in enumerate(levels)}
    y, lv, pid = [], [], []
    for i, (level, ev, m) in enumerate(patients):
        ev = min(ev, m)
        y += [1.0] * ev + [0.0] * (m - ev)
        lv += [code[level]] * m
        pid += [i] * m
    d = clustered_logit_transform(y, np.asarray(lv), pid)
    b = logit_transform(np.bincount(lv, weights=y), np.bincount(lv))
    assert (d.variances >= b.variances * (1 - 1e-12)).all() and (d.design_effect >= 1).all()
    assert np.isfinite(d.variances).all() and np.array_equal(d.effects, b.effects)


def test_bad_input_names_the_problem():
    with pytest.raises(StatsInputError, match="levels \\[1\\] have no images"):
        clustered_logit_transform([1, 0], [0, 2], [1, 2])
    with pytest.raises(StatsInputError, match="expected 0/1"):
        clustered_logit_transform([2, 0], [0, 0], [1, 2])
    with pytest.raises(StatsInputError, match="one level per image"):
        clustered_logit_transform([1, 0], [0], [1, 2])


def test_pooled_proportion_uses_the_given_variances_everywhere():
    y, level, pid = clustered_sample(np.random.default_rng(5), 200, a=0.8, b=0.2, k=4)
    d = clustered_logit_transform(y, level, pid)
    x, n = np.bincount(level, y), np.bincount(level)
    r = pooled_proportion(x, n, method="dl", variances=d.variances)
    ref = random_effects(d.effects, d.variances, method="dl")
    assert (r.meta.q, r.meta.tau2, r.meta.estimate) == pytest.approx((ref.q, ref.tau2, ref.estimate))
    assert r.leave_one_out_meta[0].q == pytest.approx(random_effects(d.effects[1:], d.variances[1:], method="dl").q)
    assert r.meta.q < pooled_proportion(x, n, method="dl").meta.q  # the binomial variances inflate Q
    with pytest.raises(StatsInputError, match="variances has 3 values"):
        pooled_proportion(x, n, variances=d.variances[:3])


# ----------------------------------------------------------------------------- null simulation
def _q_p_values(effects: np.ndarray, variances: np.ndarray) -> float:
    w = 1 / variances
    mu = (w * effects).sum() / w.sum()
    return float(chi2.sf((w * (effects - mu) ** 2).sum(), effects.size - 1))


def test_null_simulation_site_test_holds_its_size_only_with_clustered_variances():
    """No site effect (sites assigned at random to patients); patients have 1-5 correlated images.

    200 data sets (seed fixed), 4 sites, 400 patients each with Beta(0.8, 0.2) detection rate
    (mean 0.8, intracluster correlation 0.5). Monte Carlo error of a rejection rate near 5% over
    200 data sets: sqrt(.05 * .95 / 200) = 1.5 percentage points, so the band 1.5%-10% is the
    nominal 5% +- about 2.5 MC standard errors (plus a little liberality of the sandwich with ~100
    patients per site: 5.3% over 2000 data sets in development). The image-level (binomial) test
    rejected 32% over 2000 data sets; asserting > 20% here leaves it room for MC error too.
    """
    rng = np.random.default_rng(20240611)
    n_sims, k = 200, 4
    rejected_binomial = rejected_clustered = 0
    for _ in range(n_sims):
        y, level, pid = clustered_sample(rng, 400, a=0.8, b=0.2, k=k)
        b = logit_transform(np.bincount(level, y, minlength=k), np.bincount(level, minlength=k))
        c = clustered_logit_transform(y, level, pid, n_levels=k)
        rejected_binomial += _q_p_values(b.effects, b.variances) < 0.05
        rejected_clustered += _q_p_values(c.effects, c.variances) < 0.05
    print(f"rejection rates: binomial {rejected_binomial / n_sims:.3f}, clustered {rejected_clustered / n_sims:.3f}")
    assert rejected_binomial / n_sims > 0.20
    assert 0.015 <= rejected_clustered / n_sims <= 0.10


# ----------------------------------------------------------------------------- the analyses
def _table(seed: int = 1, *, several_images: bool = True, n_patients: int = 500):
    """Images of patients with correlated outcomes, site assigned per patient (no site effect)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    m = rng.integers(1, 6, n_patients) if several_images else np.ones(n_patients, dtype=int)
    pid = np.repeat(np.arange(n_patients), m)
    ability = np.repeat(rng.normal(0, 1.2, n_patients), m)  # patient effect: correlated images
    y = rng.integers(0, 2, pid.size)
    score = 1 / (1 + np.exp(-(np.where(y == 1, 1.2, -1.2) + ability * np.where(y == 1, 1, -1)
                              + rng.normal(0, 0.5, pid.size))))
    site = np.repeat(rng.choice(["A", "B", "C", "D"], n_patients), m)
    return pd.DataFrame({"case_id": [f"C{i}" for i in range(pid.size)], "patient_id": [f"P{p}" for p in pid],
                         "label": y, "score": score, "site": site, "manufacturer": "X", "model": "M1",
                         "sex": np.repeat(rng.choice(["F", "M"], n_patients), m)})


def _run(df):
    import warnings

    import yaml

    from valkit.analyses.sites import analyse_sites
    from valkit.analyses.subgroups import CellEngine
    from valkit.analyses.subgroups_and_fairness import analyse_subgroups
    from valkit.protocol import Protocol
    from pathlib import Path

    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "fake_study" / "fake.yaml").read_text())
    data["subgroups"] = {"columns": ["site", "sex"], "heterogeneity": {"columns": ["site"]}}
    data["analysis"] = {**data.get("analysis", {}), "bootstrap_resamples": 100}
    p = Protocol.model_validate(data)
    eng = CellEngine(df, 0.5, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = analyse_subgroups(df, p, 0.5, engine=eng)
    out["sites_and_scanners"] = analyse_sites(df, p, 0.5, engine=eng)
    return out


def _direct_q(df, metric: str, clustered: bool) -> float:
    label = 1 if metric == "sensitivity" else 0
    sub = df[df["label"] == label]
    hit = ((sub["score"] >= 0.5).astype(int) == label).to_numpy(dtype=float)
    codes, level = np.unique(sub["site"], return_inverse=True)
    if clustered:
        d = clustered_logit_transform(hit, level, sub["patient_id"].to_numpy())
    else:
        d = logit_transform(np.bincount(level, weights=hit), np.bincount(level))
    return random_effects(d.effects, d.variances, method="dl").q


@pytest.mark.parametrize("several_images", [True, False])
def test_site_and_difference_q_use_clustered_variances_exactly_when_patients_have_several_images(several_images):
    df = _table(several_images=several_images)
    out = _run(df)
    site = out["sites_and_scanners"]["families"][0]
    diff = next(f for f in out["subgroups"]["families"] if f["name"] == "site")["difference_tests"]
    want = "cluster_robust_patient" if several_images else "binomial"
    for metric in ("sensitivity", "specificity"):
        t = site["tests"][metric]
        q = _direct_q(df, metric, several_images)
        assert t["variance"] == want and diff[metric]["variance"] == want
        assert t["q"] == pytest.approx(q, rel=1e-10) and diff[metric]["q"] == pytest.approx(q, rel=1e-10)
        if several_images:  # the binomial Q (the old test) is larger: it ignores the clustering
            assert _direct_q(df, metric, False) > q and all(v >= 1 for v in t["design_effect"].values())
    assert "Rao-Scott" in out["sites_and_scanners"]["methods"]["variance"]
    assert "Rao-Scott" in out["subgroups"]["methods"]["difference_test_variance"]


def test_every_adjusted_p_names_its_family():
    out = _run(_table())
    for t in out["sites_and_scanners"]["families"][0]["tests"].values():
        assert t["adjustment"] == ("Holm over 2 tests: Cochran's Q of every column in this section (site) "
                                   "× sensitivity/specificity") and t["adjustment"] in t["text"]
    for f in out["subgroups"]["families"]:
        for t in f["difference_tests"].values():
            assert t["adjustment"] == ("Holm over 4 difference tests: pre-specified subgroup families "
                                       "× sensitivity/specificity")


def test_no_level_is_named_departing_when_the_column_is_not_heterogeneous():
    # issue #11 item 6: "No evidence of heterogeneity; departing: Acme" (Table 36)
    from valkit.analyses.sites import _verdict

    test = {"pooled": {}, "p_adjusted": 0.145, "i2": 0.4, "k": 4, "q": 6.0, "df": 3, "tau2": 0.1, "metric": "sensitivity",
            "range": {"lowest": {"levels": ["Acme"], "value": 0.62}, "highest": {"levels": ["Lakeshore"], "value": 0.91}},
            "excluded": [{"level": "Smalltown", "reason": "insufficient evidence"}],
            "residuals": [{"level": "Acme", "z": -2.9, "p_adjusted": 0.015, "direction": "lower", "departs": True},
                          {"level": "Lakeshore", "z": 1.1, "p_adjusted": 1.0, "direction": "higher", "departs": False}]}
    _verdict(test, 0.05)
    assert test["verdict"] == "no evidence of heterogeneity" and test["flagged_levels"] == []
    assert "departing:" not in test["text"] and "most different" not in test["text"]
    assert "no level is named as departing" in test["text"]
    assert test["comparison_summary"] == ("estimates of the 4 pooled levels range from 62% (Acme) to 91% (Lakeshore); "
                                          "not compared: Smalltown (insufficient evidence)")


def test_the_text_names_the_extremes_and_the_levels_not_compared():
    df = _table()
    df.loc[df["site"] == "D", "label"] = 0  # site D: no positives -> not compared for sensitivity
    t = _run(df)["sites_and_scanners"]["families"][0]["tests"]["sensitivity"]
    assert t["levels"] == ["A", "B", "C"] and t["excluded"] == [{"level": "D", "reason": "insufficient evidence"}]
    rates = {r: df[(df["site"] == r) & (df["label"] == 1)]["score"].ge(0.5).mean() for r in "ABC"}
    lo = min(rates, key=rates.get)
    assert t["range"]["lowest"] == {"levels": [lo], "value": pytest.approx(rates[lo])}
    assert f"({lo})" in t["comparison_summary"] and "not compared: D (insufficient evidence)" in t["text"]
