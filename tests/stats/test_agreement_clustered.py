"""Patient-clustered bootstrap intervals for Cohen's and Fleiss' kappa (valkit.stats.agreement).

References: Davison AC, Hinkley DV (1997) Bootstrap Methods and their Application, sec. 3.8 (resample
the clusters, i.e. whole patients); Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap,
ch. 13 (percentile interval). The Wald intervals compared against: Fleiss, Cohen & Everitt (1969)
for Cohen's kappa, Fleiss, Nee & Landis (1979) for Fleiss' kappa (tests/stats/test_agreement.py).
"""
import math

import numpy as np
import pytest

from valkit.stats.agreement import (
    CLUSTER_METHOD,
    cohens_kappa,
    cohens_kappa_clustered,
    fleiss_kappa,
    fleiss_kappa_clustered,
)
from valkit.stats.bootstrap import _uniform_plan, multiplicity_chunks
from valkit.stats.types import NotEstimableWarning
from valkit.stats.validation import StatsInputError

# the rating model: a patient's true status (prevalence PI) and difficulty (easy with probability H,
# where a reader is right with probability S_EASY, else S_HARD) are shared by all its images; each
# reader errs independently on a patient's first image, and a further image repeats the first image's
# readings with probability COPY (near-duplicate views), else is read afresh.
PI, H, S_EASY, S_HARD, COPY = 0.4, 0.6, 0.95, 0.7, 0.7


def _true_kappa() -> float:
    """Population kappa of the model (Cohen's and Fleiss' coincide: the readers are exchangeable).

    Pairwise agreement p_o = E[s^2 + (1 - s)^2]; each reader's positive rate q = PI s̄ + (1 - PI)(1 - s̄);
    chance p_e = q^2 + (1 - q)^2 (Fleiss 1971; Cohen 1960). Image copies do not change the marginals.
    """
    p_o = H * (S_EASY ** 2 + (1 - S_EASY) ** 2) + (1 - H) * (S_HARD ** 2 + (1 - S_HARD) ** 2)
    s_bar = H * S_EASY + (1 - H) * S_HARD
    q = PI * s_bar + (1 - PI) * (1 - s_bar)
    p_e = q ** 2 + (1 - q) ** 2
    return (p_o - p_e) / (1 - p_e)


def _study(rng: np.random.Generator, n_patients: int, n_readers: int, max_images: int = 4):
    """(images x readers) 0/1 ratings and the patient of each image."""
    per_patient = rng.integers(1, max_images + 1, n_patients)
    patient = np.repeat(np.arange(n_patients), per_patient)
    truth = (rng.random(n_patients) < PI).astype(int)[patient]
    s = np.where(rng.random(n_patients) < H, S_EASY, S_HARD)[patient]
    right = rng.random((len(patient), n_readers)) < s[:, None]
    first = np.r_[0, np.cumsum(per_patient)[:-1]][patient]
    right = np.where((rng.random(len(patient)) < COPY)[:, None], right[first], right)
    return np.where(right, truth[:, None], 1 - truth[:, None]), patient


def _bounds(a) -> tuple[float, float]:
    return a.kappa.interval.low, a.kappa.interval.high


def test_true_kappa_of_the_model():
    # hand value: p_o = .6(.905) + .4(.58) = .775, s̄ = .85, q = .4(.85) + .6(.15) = .43, p_e = .5098
    assert _true_kappa() == pytest.approx((0.775 - 0.5098) / (1 - 0.5098), abs=1e-12)


def test_one_image_per_patient_is_close_to_wald():
    # one image per patient: the patient bootstrap is the ordinary bootstrap, which for 1500 subjects agrees
    # with the large-sample Wald interval (measured: Cohen within 0.001, Fleiss within 0.004 — the Fleiss, Nee &
    # Landis SE is derived under kappa = 0, hence a little narrow at kappa 0.54)
    ratings, _ = _study(np.random.default_rng(2), 1500, 3, max_images=1)
    patient = np.arange(len(ratings))
    boot = fleiss_kappa_clustered(ratings, patient, n_resamples=4000, seed=5)
    wald = fleiss_kappa(ratings)
    assert boot.kappa.value == wald.kappa.value
    assert _bounds(boot) == pytest.approx(_bounds(wald), abs=0.02)
    boot = cohens_kappa_clustered(ratings[:, 0], ratings[:, 1], patient, n_resamples=4000, seed=5)
    wald = cohens_kappa(ratings[:, 0], ratings[:, 1])
    assert _bounds(boot) == pytest.approx(_bounds(wald), abs=0.02)
    assert boot.se == pytest.approx(wald.se, rel=0.1)
    assert boot.kappa.interval.method == boot.kappa.method == CLUSTER_METHOD
    assert (boot.n_clusters, boot.n_resamples, boot.n_undefined_resamples) == (1500, 4000, 0)


def test_duplicating_every_image_leaves_the_clustered_interval_unchanged():
    # each patient's image read twice with identical labels: no new information. Resampling patients gives
    # the same resampled kappas, so the same interval; the Wald interval, counting images, narrows by
    # 1/sqrt(2) (its variance is inversely proportional to the number of subjects)
    ratings, _ = _study(np.random.default_rng(3), 400, 3, max_images=1)
    patient = np.arange(len(ratings))
    twice, patient_twice = np.repeat(ratings, 2, axis=0), np.repeat(patient, 2)
    once = fleiss_kappa_clustered(ratings, patient, n_resamples=2000, seed=5)
    dup = fleiss_kappa_clustered(twice, patient_twice, n_resamples=2000, seed=5)
    assert _bounds(dup) == pytest.approx(_bounds(once), abs=1e-9)
    width = [w.kappa.interval.high - w.kappa.interval.low for w in (fleiss_kappa(ratings), fleiss_kappa(twice))]
    assert width[1] / width[0] == pytest.approx(1 / math.sqrt(2), rel=1e-9)
    once = cohens_kappa_clustered(ratings[:, 0], ratings[:, 1], patient, n_resamples=2000, seed=5)
    dup = cohens_kappa_clustered(twice[:, 0], twice[:, 1], patient_twice, n_resamples=2000, seed=5)
    assert _bounds(dup) == pytest.approx(_bounds(once), abs=1e-9)
    width = [w.kappa.interval.high - w.kappa.interval.low
             for w in (cohens_kappa(ratings[:, 0], ratings[:, 1]), cohens_kappa(twice[:, 0], twice[:, 1]))]
    assert width[1] / width[0] == pytest.approx(1 / math.sqrt(2), rel=1e-9)


def test_coverage_of_clustered_ratings():
    # 200 simulated studies (150 patients, 1-4 images each, 3 readers) of the model above: the patient-clustered
    # 95% interval covers the true kappa in >= 90% (measured 0.935 Fleiss, 0.95 Cohen), the Wald interval, which
    # counts images as independent, does not (measured 0.745 and 0.81)
    truth = _true_kappa()
    rng = np.random.default_rng(1)
    covered = {"fleiss": 0, "cohen": 0, "fleiss_wald": 0, "cohen_wald": 0}
    for k in range(200):
        ratings, patient = _study(rng, 150, 3)
        found = {"fleiss": fleiss_kappa_clustered(ratings, patient, n_resamples=1000, seed=k),
                 "cohen": cohens_kappa_clustered(ratings[:, 0], ratings[:, 1], patient, n_resamples=1000, seed=k),
                 "fleiss_wald": fleiss_kappa(ratings), "cohen_wald": cohens_kappa(ratings[:, 0], ratings[:, 1])}
        for name, a in found.items():
            covered[name] += a.kappa.interval.low <= truth <= a.kappa.interval.high
    rate = {name: c / 200 for name, c in covered.items()}
    assert rate["fleiss"] >= 0.90 and rate["cohen"] >= 0.90, rate
    assert rate["fleiss_wald"] < 0.85 and rate["cohen_wald"] < 0.85, rate


def test_seeded_and_reproducible():
    ratings, patient = _study(np.random.default_rng(4), 60, 2)
    a = cohens_kappa_clustered(ratings[:, 0], ratings[:, 1], patient, n_resamples=500, seed=11)
    b = cohens_kappa_clustered(ratings[:, 0], ratings[:, 1], patient, n_resamples=500, seed=11)
    c = cohens_kappa_clustered(ratings[:, 0], ratings[:, 1], patient, n_resamples=500, seed=12)
    g = cohens_kappa_clustered(ratings[:, 0], ratings[:, 1], patient, n_resamples=500,
                               seed=np.random.default_rng(11))
    assert a == b and _bounds(a) == _bounds(g)
    assert _bounds(a) != _bounds(c)
    seeded = [fleiss_kappa_clustered(ratings, patient, seed=[3, 7]) for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_vectorised_resamples_equal_recomputing_kappa_on_each_resampled_data_set():
    # the matrix product of patient multiplicities with per-patient sums against the definition: expand each
    # resample into its images and call cohens_kappa / fleiss_kappa on it
    ratings, patient = _study(np.random.default_rng(6), 25, 3)
    n_patients = int(patient.max()) + 1
    mult = next(multiplicity_chunks(_uniform_plan(np.zeros(n_patients, dtype=np.int64)),
                                    np.random.default_rng(9), 40, n_patients))[1]
    assert mult.shape == (40, n_patients)
    images = [np.flatnonzero(patient == p) for p in range(n_patients)]
    idx = [np.concatenate([images[p] for p in range(n_patients) for _ in range(row[p])]) for row in mult]
    fleiss = np.array([fleiss_kappa(ratings[i]).kappa.value for i in idx])
    cohen = np.array([cohens_kappa(ratings[i, 0], ratings[i, 2]).kappa.value for i in idx])
    got = fleiss_kappa_clustered(ratings, patient, n_resamples=40, seed=9)
    assert got.se == pytest.approx(fleiss.std(ddof=1), abs=1e-12)
    assert _bounds(got) == pytest.approx(tuple(np.quantile(fleiss, [0.025, 0.975])), abs=1e-12)
    got = cohens_kappa_clustered(ratings[:, 0], ratings[:, 2], patient, n_resamples=40, seed=9)
    assert got.se == pytest.approx(cohen.std(ddof=1), abs=1e-12)


def test_resamples_with_one_category_are_dropped_and_counted():
    # 20 patients, one image each; only patients 0 (by every reader) and 1 (by one reader) were called positive:
    # a resample misses both with probability (18/20)^20 = 0.122, and then every label is negative, kappa 0/0
    ratings = np.zeros((20, 3), dtype=int)
    ratings[0] = 1
    ratings[1, 0] = 1
    with pytest.warns(NotEstimableWarning, match="undefined_resamples"):
        a = fleiss_kappa_clustered(ratings, np.arange(20), n_resamples=2000, seed=1)
    assert 0.10 < a.n_undefined_resamples / 2000 < 0.145  # binomial sd 0.007
    assert any(w.startswith("undefined_resamples: ") and f"{a.n_undefined_resamples} of 2000" in w
               for w in a.kappa.warnings)
    assert math.isfinite(a.kappa.interval.low) and a.kappa.interval.high == pytest.approx(1.0)


def test_not_estimable_kappa_and_bad_arguments():
    with pytest.warns(NotEstimableWarning, match="single_category"):
        a = cohens_kappa_clustered([1, 1, 1], [1, 1, 1], ["p", "p", "q"], n_resamples=100, seed=1)
    assert math.isnan(a.kappa.value) and math.isnan(a.kappa.interval.low)
    assert a.kappa.interval.method == CLUSTER_METHOD and (a.n_resamples, a.n_undefined_resamples) == (0, 0)
    with pytest.raises(StatsInputError, match="n_resamples"):
        fleiss_kappa_clustered([[0, 1], [1, 1]], [1, 2], n_resamples=0)
    with pytest.raises(StatsInputError, match="cluster: expected one cluster id"):
        fleiss_kappa_clustered([[0, 1], [1, 1]], [1, 2, 3])
