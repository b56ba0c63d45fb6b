"""Clustered AUC variance and the bootstrap engine against independent oracles."""
import warnings

import numpy as np
import pytest

import valkit.stats as vs
from valkit.stats import bootstrap as bt
from valkit.stats import weighted as wt
from stats_oracles import obuchowski_naive


def _clustered(seed, n_pat=40, mixed=True):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, n_pat)
    pid = np.repeat(np.arange(n_pat), sizes)
    sick = rng.random(n_pat) < 0.4
    y = (sick[pid] & ((rng.random(len(pid)) < 0.7) if mixed else True)).astype(int)
    s = np.round(rng.normal(size=len(pid)) + y + 0.7 * rng.normal(size=n_pat)[pid], 1)
    return y, s, pid


# ------------------------------------------------------------------ Obuchowski
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_obuchowski_matches_direct_transcription(seed):
    y, s, pid = _clustered(seed)
    theta, var = obuchowski_naive(y, s, pid)
    aucs, cov = vs.clustered_auc_covariance(y, s, cluster=pid)
    assert aucs[0] == pytest.approx(theta, abs=1e-13)
    assert cov[0, 0] == pytest.approx(var, abs=1e-15)


def test_obuchowski_reduces_to_delong_with_one_image_per_patient(asah):
    _, cov_c = vs.clustered_auc_covariance(asah["y"], asah["s100b"], asah["wfns"], cluster=asah["patient_id"])
    _, cov_d = vs.delong_covariance(asah["y"], asah["s100b"], asah["wfns"])
    assert np.allclose(cov_c, cov_d, atol=1e-16)
    # and the interval: pROC 1.18 ci.auc(r.s100b) = 0.6301 - 0.8326
    est = vs.roc_auc(asah["y"], asah["s100b"], ci="clustered", cluster=asah["patient_id"])
    assert (round(est.interval.low, 4), round(est.interval.high, 4)) == (0.6301, 0.8326)


def test_clustered_interval_is_wider_when_images_are_duplicated():
    y, s, pid = _clustered(3)
    # duplicate every image within its patient: same AUC, DeLong pretends n doubled, Obuchowski does not
    y2, s2, pid2 = np.r_[y, y], np.r_[s, s], np.r_[pid, pid]
    clustered = vs.roc_auc(y2, s2, ci="clustered", cluster=pid2)
    naive = vs.roc_auc(y2, s2, ci="delong")
    assert clustered.value == pytest.approx(naive.value)
    assert clustered.interval.high - clustered.interval.low > naive.interval.high - naive.interval.low


def test_has_clusters():
    assert vs.has_clusters([1, 2, 2]) and not vs.has_clusters(np.arange(5)) and not vs.has_clusters([])


# ------------------------------------------------------------------ weighted kernels vs sklearn
def test_weighted_auc_and_ap_equal_sklearn_with_sample_weight():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 150)
    s = rng.integers(0, 8, 150) + 0.5 * y  # ties within and across classes
    w = rng.integers(0, 4, (5, 150))
    w[:, :2] = [1, 0]  # keep both classes present
    w[:, np.flatnonzero(y == 1)[:1]] = 1
    w[:, np.flatnonzero(y == 0)[:1]] = 1
    auc = wt.auc_weighted(y, s, w)
    ap = wt.average_precision_weighted(y, s, w)
    for k in range(5):
        assert auc[k] == pytest.approx(roc_auc_score(y, s, sample_weight=w[k]), abs=1e-12)
        assert ap[k] == pytest.approx(average_precision_score(y, s, sample_weight=w[k]), abs=1e-12)


def test_cluster_bootstrap_replicates_equal_sklearn_on_the_same_resamples():
    from sklearn.metrics import roc_auc_score

    y, s, pid = _clustered(4, n_pat=30)
    theta, reps, _ = bt.bootstrap_replicates("auc", y, s, cluster=pid, strata=y, n_resamples=40, seed=9)

    # the generic path with sklearn draws the very same cluster multiplicities
    def sk_auc(yy, ss):
        return roc_auc_score(yy, ss)

    theta2, reps2, _ = bt.bootstrap_replicates(sk_auc, y, s, cluster=pid, strata=y, n_resamples=40, seed=9)
    assert theta == pytest.approx(theta2, abs=1e-12)
    assert np.allclose(reps, reps2, atol=1e-12)


def test_fast_cluster_jackknife_equals_brute_force():
    from sklearn.metrics import roc_auc_score

    y, s, pid = _clustered(6, n_pat=25)
    _, _, jack = bt.bootstrap_replicates("auc", y, s, cluster=pid, n_resamples=2, seed=0)
    vals, counts = jack()
    brute = [roc_auc_score(y[pid != c], s[pid != c]) if len(set(y[pid != c])) == 2 else np.nan
             for c in range(25)]
    assert np.allclose(vals, brute, atol=1e-12, equal_nan=True)


def test_bca_named_statistic_equals_generic_path():
    from sklearn.metrics import roc_auc_score

    y, s, pid = _clustered(8, n_pat=30)
    a = vs.bootstrap_ci("auc", y, s, cluster=pid, strata=y, n_resamples=300, seed=4, method="bca")
    b = vs.bootstrap_ci(lambda yy, ss: roc_auc_score(yy, ss), y, s, cluster=pid, strata=y,
                        n_resamples=300, seed=4, method="bca")
    assert a.interval.low == pytest.approx(b.interval.low, abs=1e-12)
    assert a.interval.high == pytest.approx(b.interval.high, abs=1e-12)
    assert a.method == "cluster_bootstrap_bca"


def test_named_proportion_statistics_equal_generic_path():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 80)
    pred = (rng.random(80) < 0.3 + 0.4 * y).astype(int)
    pid = np.arange(80) // 2
    for name, fn in [("sensitivity", lambda a, b: vs.sensitivity(a, b).value),
                     ("specificity", lambda a, b: vs.specificity(a, b).value)]:
        a = vs.bootstrap_ci(name, y, pred, cluster=pid, strata=y, n_resamples=200, seed=1, method="bca")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", vs.NotEstimableWarning)
            b = vs.bootstrap_ci(fn, y, pred, cluster=pid, strata=y, n_resamples=200, seed=1, method="bca")
        assert (a.interval.low, a.interval.high) == pytest.approx((b.interval.low, b.interval.high), abs=1e-12)


def test_tie_compressed_bootstrap_matches_exact_bootstrap_within_monte_carlo_error():
    rng = np.random.default_rng(7)
    n = 4000
    y = (rng.random(n) < 0.3).astype(int)
    s = np.where(y == 1, rng.choice(5, n, p=[0.05, 0.1, 0.15, 0.3, 0.4]),
                 rng.choice(5, n, p=[0.45, 0.25, 0.15, 0.1, 0.05])).astype(float)
    b = 2000
    _, reps_c, _ = bt.bootstrap_replicates("auc", y, s, strata=y, n_resamples=b, seed=1)
    stat = bt._maybe_compress("auc", y, s, y)[0]
    assert isinstance(stat, wt._CellCounts)  # the compressed path was taken
    exact_stat = wt._AucByCase(y.astype(np.int8), s, np.arange(n), n)
    plan = bt._uniform_plan(bt._unit_strata(np.arange(n), y, n))
    reps_e = np.concatenate([exact_stat.batch(m) for _, m in bt.multiplicity_chunks(plan, rng, b, n)])
    sd_c, sd_e = reps_c.std(ddof=1), reps_e.std(ddof=1)
    assert abs(sd_c / sd_e - 1) < 3 * np.sqrt(1 / (b - 1))  # SD ratio within 3 Monte-Carlo SEs
    assert abs(reps_c.mean() - reps_e.mean()) < 3 * sd_e * np.sqrt(2 / b)


def test_tie_compressed_value_and_jackknife_match_case_level():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    s = rng.integers(1, 6, 500).astype(float)
    a = vs.bootstrap_ci("auc", y, s, strata=y, n_resamples=400, seed=2, method="bca")
    assert a.value == pytest.approx(vs.roc_auc(y, s, ci=None).value, abs=1e-13)
    comp = bt._maybe_compress("auc", y, s, None)[0]
    vals, counts = comp.jackknife()
    case = wt._AucByCase(y.astype(np.int8), s, np.arange(500), 500)
    v2, _ = case.jackknife()
    # each cell's leave-one-out value stands for `counts` cases: compare the weighted distributions
    assert np.sort(np.repeat(vals, counts.astype(int))) == pytest.approx(np.sort(v2), abs=1e-12)
    ap = vs.average_precision(y, s, seed=2, n_resamples=300)
    from sklearn.metrics import average_precision_score

    assert ap.value == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_bootstrap_interval_covers_truth_roughly():
    # smoke check of calibration: AUC of N(1,1) vs N(0,1) is Phi(1/sqrt(2)) = 0.7602
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(400, int), np.ones(400, int)]
    s = rng.normal(size=800) + y
    est = vs.roc_auc(y, s, ci="bootstrap", seed=1, n_resamples=1000)
    dl = vs.roc_auc(y, s)
    assert est.interval.contains(0.7602) and dl.interval.contains(0.7602)
    assert abs((est.interval.high - est.interval.low) - (dl.interval.high - dl.interval.low)) < 0.01
