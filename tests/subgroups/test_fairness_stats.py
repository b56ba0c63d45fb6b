"""Per-cell bootstrap counts and fairness gaps (valkit.stats.fairness) against fairlearn and theory."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from valkit import stats
from valkit.stats.disparity import DISPARITY_METRICS, disparity
from valkit.stats.fairness import bootstrap_cell_counts, confusion_by_cell, rates


def clustered_data(n_patients: int = 400, n_cells: int = 3, seed: int = 0, cell_per_case: bool = False):
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 4, n_patients)
    pid = np.repeat(np.arange(n_patients), k)
    n = len(pid)
    y = rng.integers(0, 2, n)
    pred = (rng.random(n) < np.where(y == 1, 0.8, 0.2)).astype(int)
    cell = rng.integers(0, n_cells, n) if cell_per_case else rng.integers(0, n_cells, n_patients)[pid]
    return y, pred, cell, pid


def test_confusion_by_cell_matches_crosstab_and_sums_to_total():
    y, pred, cell, _ = clustered_data()
    counts = confusion_by_cell(y, pred, cell)
    assert counts.sum() == len(y)
    df = pd.DataFrame({"c": cell, "tp": (y == 1) & (pred == 1), "fp": (y == 0) & (pred == 1),
                       "fn": (y == 1) & (pred == 0), "tn": (y == 0) & (pred == 0)})
    ref = df.groupby("c")[["tp", "fp", "fn", "tn"]].sum().to_numpy()
    np.testing.assert_array_equal(counts, ref)
    # an (n x cells) indicator gives the same, and lets a case sit in several families at once
    onehot = np.eye(3, dtype=int)[cell]
    np.testing.assert_array_equal(confusion_by_cell(y, pred, np.c_[onehot, onehot]), np.r_[counts, counts])


def test_fairlearn_metricframe_by_group_equals_valkit_counts():
    from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate, true_positive_rate

    y, pred, cell, _ = clustered_data(seed=3, n_cells=4)
    mf = MetricFrame(metrics={"tpr": true_positive_rate, "fpr": false_positive_rate,
                              "selection_rate": selection_rate, "count": count},
                     y_true=y, y_pred=pred, sensitive_features=pd.Series(cell, name="g"))
    r = rates(confusion_by_cell(y, pred, cell))
    for g in range(4):
        assert mf.by_group.loc[g, "tpr"] == pytest.approx(r["tpr"][g], abs=1e-15)
        assert mf.by_group.loc[g, "fpr"] == pytest.approx(r["fpr"][g], abs=1e-15)
        assert mf.by_group.loc[g, "selection_rate"] == pytest.approx(r["selection_rate"][g], abs=1e-15)
    counts = confusion_by_cell(y, pred, cell)
    assert mf.by_group["count"].tolist() == counts.sum(axis=1).tolist()
    # gaps: fairlearn's between_groups difference / ratio and its equalized-odds / parity functions
    assert disparity(counts, None, "tpr_difference").value == pytest.approx(mf.difference()["tpr"], abs=1e-15)
    assert disparity(counts, None, "fpr_ratio").value == pytest.approx(mf.ratio()["fpr"], abs=1e-15)
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
    )

    assert disparity(counts, None, "equalized_odds_difference").value == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=cell), abs=1e-15)
    assert disparity(counts, None, "equalized_odds_ratio").value == pytest.approx(
        equalized_odds_ratio(y, pred, sensitive_features=cell), abs=1e-15)
    assert disparity(counts, None, "demographic_parity_difference").value == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=cell), abs=1e-15)
    assert disparity(counts, None, "demographic_parity_ratio").value == pytest.approx(
        demographic_parity_ratio(y, pred, sensitive_features=cell), abs=1e-15)


def _unit_table(y, pred, cell, pid):
    """(units x cells*4) per-patient counts and each patient's stratum (its set of (cell, outcome))."""
    n_cells = cell.max() + 1
    k = np.where(y == 1, np.where(pred == 1, 0, 2), np.where(pred == 1, 1, 3))
    units = np.zeros((pid.max() + 1, n_cells * 4))
    np.add.at(units, (pid, cell * 4 + k), 1)
    strata = {}
    for u in range(pid.max() + 1):
        m = pid == u
        strata[u] = tuple(sorted(set(zip(cell[m].tolist(), y[m].tolist()))))
    return units, np.array([hash(strata[u]) for u in range(len(units))])


@pytest.mark.parametrize("cell_per_case", [False, True])
def test_bootstrap_moments_equal_stratified_resampling_theory(cell_per_case):
    # Drawing N_s patients with replacement from stratum s: E = observed total, and
    # Var(total) = N_s * (population variance of the patients' values), summed over strata.
    y, pred, cell, pid = clustered_data(seed=1, cell_per_case=cell_per_case)
    r = bootstrap_cell_counts(y, pred, cell, cluster=pid, n_resamples=4000, seed=7)
    units, strat = _unit_table(y, pred, cell, pid)
    var = np.zeros(units.shape[1])
    for s in np.unique(strat):
        x = units[strat == s]
        var += len(x) * x.var(axis=0)
    boot = r.replicates.reshape(4000, -1)
    np.testing.assert_array_equal(r.counts.ravel(), units.sum(axis=0))
    ok = var > 0
    assert np.allclose(boot.var(axis=0)[ok] / var[ok], 1, atol=0.12)
    assert np.allclose(boot.mean(axis=0), units.sum(axis=0), atol=4 * np.sqrt(var / 4000) + 1e-9)
    assert r.clustered and r.n_units == pid.max() + 1 and r.n_types < r.n_units


def test_stratification_keeps_every_groups_positives_and_negatives():
    y, pred, cell, pid = clustered_data(seed=2)
    r = bootstrap_cell_counts(y, pred, cell, cluster=pid, n_resamples=300, seed=1)
    # patients lie inside one cell here, and a patient's stratum includes its outcomes; the number of
    # positive *patients* per group is fixed, so no group ever loses all its positives or negatives
    pos = r.replicates[:, :, 0] + r.replicates[:, :, 2]
    neg = r.replicates[:, :, 1] + r.replicates[:, :, 3]
    assert (pos > 0).all() and (neg > 0).all()
    unclustered = bootstrap_cell_counts(y, pred, cell, n_resamples=300, seed=1)
    np.testing.assert_array_equal(unclustered.replicates[:, :, [0, 2]].sum(axis=2),
                                  np.broadcast_to(r.counts[:, [0, 2]].sum(axis=1), (300, 3)))


def test_same_seed_same_replicates():
    y, pred, cell, pid = clustered_data(seed=4)
    a = bootstrap_cell_counts(y, pred, cell, cluster=pid, n_resamples=50, seed=[1, 2])
    b = bootstrap_cell_counts(y, pred, cell, cluster=pid, n_resamples=50, seed=[1, 2])
    np.testing.assert_array_equal(a.replicates, b.replicates)


def test_cell_interval_agrees_with_the_engine_cluster_bootstrap():
    # one cell: valkit.stats.bootstrap_ci (per-cell engine, resampling that cell's patients within
    # outcome strata) and the all-cells plan estimate the same sampling distribution
    y, pred, cell, pid = clustered_data(n_patients=1500, seed=5)
    r = bootstrap_cell_counts(y, pred, cell, cluster=pid, n_resamples=4000, seed=3)
    sens = rates(r.replicates)["tpr"][:, 0]
    m = cell == 0
    ref = stats.bootstrap_ci("sensitivity", y[m], pred[m], cluster=pid[m], strata=y[m], n_resamples=4000, seed=3)
    lo, hi = np.quantile(sens, [0.025, 0.975])
    assert lo == pytest.approx(ref.interval.low, abs=0.012)
    assert hi == pytest.approx(ref.interval.high, abs=0.012)


def test_many_distinct_patients_take_the_index_path_and_still_match_theory():
    # every patient distinct (many images with varied outcomes): types ~ units, draws by index
    rng = np.random.default_rng(8)
    k = rng.integers(1, 12, 300)
    pid = np.repeat(np.arange(300), k)
    y = rng.integers(0, 2, len(pid))
    pred = rng.integers(0, 2, len(pid))
    cell = rng.integers(0, 2, len(pid))
    r = bootstrap_cell_counts(y, pred, cell, cluster=pid, strata="none", n_resamples=3000, seed=2)
    assert r.n_types > 250
    units, _ = _unit_table(y, pred, cell, pid)
    var = len(units) * units.var(axis=0)
    assert np.allclose(r.replicates.reshape(3000, -1).var(axis=0) / var, 1, atol=0.12)


def test_group_missing_from_a_resample_is_dropped_and_counted():
    # without stratification a 3-patient group vanishes from some resamples: its TPR is then
    # undefined, so is the gap; those resamples are dropped and counted, never compared on fewer groups
    rng = np.random.default_rng(0)
    n = 200
    y = np.r_[rng.integers(0, 2, n - 3), [1, 1, 0]]
    pred = np.r_[rng.integers(0, 2, n - 3), [1, 0, 0]]
    cell = np.r_[np.zeros(n - 3, int), [1, 1, 1]]
    r = bootstrap_cell_counts(y, pred, cell, strata="none", n_resamples=500, seed=0)
    d = disparity(r.counts, r.replicates, "tpr_difference")
    assert 0 < d.n_resamples_used < 500
    assert any(w.startswith("undefined_resamples") for w in d.warnings)
    assert np.isfinite(d.interval.low) and np.isfinite(d.interval.high)
    # stratified by group and outcome (the default) no resample loses the group
    r2 = bootstrap_cell_counts(y, pred, cell, n_resamples=500, seed=0)
    assert disparity(r2.counts, r2.replicates, "tpr_difference").n_resamples_used == 500


def test_disparity_edge_cases():
    counts = np.array([[10, 2, 5, 20], [0, 0, 0, 0], [8, 3, 2, 30]])
    one = disparity(counts, None, "tpr_difference", groups=[0])
    assert np.isnan(one.value) and one.warnings[0].startswith("fewer_than_two_groups")
    empty = disparity(counts, None, "tpr_difference", groups=[0, 1])  # an empty group: undefined, not dropped
    assert np.isnan(empty.value)
    ok = disparity(counts, None, "tpr_ratio", groups=[0, 2])
    assert ok.value == pytest.approx((10 / 15) / (8 / 10)) and ok.highest == 2 and ok.lowest == 0
    with pytest.raises(stats.StatsInputError, match="Did you mean 'tpr_difference'"):
        disparity(counts, None, "tpr_diference")
    assert set(DISPARITY_METRICS) >= {"tpr_difference", "fpr_difference", "equalized_odds_difference",
                                      "demographic_parity_difference", "tpr_ratio", "fpr_ratio"}


def test_interval_contains_estimate_for_a_clear_gap():
    y, pred, cell, pid = clustered_data(n_patients=2000, seed=9)
    pred = np.where((cell == 1) & (y == 1), (np.random.default_rng(1).random(len(y)) < 0.5), pred).astype(int)
    r = bootstrap_cell_counts(y, pred, cell, cluster=pid, n_resamples=1000, seed=1)
    d = disparity(r.counts, r.replicates, "tpr_difference")
    assert d.interval.low <= d.value <= d.interval.high
    assert d.lowest == 1 and d.interval.low > 0.15


def test_a_group_at_rate_zero_is_flagged_and_a_degenerate_ratio_gets_no_interval():
    """Group 1 has no false positive (0/28): every resample keeps its FPR at 0, so the FPR ratio is
    0 in every resample. A [0, 0] interval would claim certainty: no interval, with the reason."""
    rng = np.random.default_rng(4)
    y = np.r_[np.ones(30), np.zeros(134), np.ones(9), np.zeros(28)].astype(int)
    pred = np.r_[rng.random(30) < 0.9, rng.random(134) < 0.05, np.ones(9), np.zeros(28)].astype(int)
    pred[30:36] = 1  # group 0 keeps a few false positives
    cells = np.r_[np.zeros(164), np.ones(37)].astype(int)
    boot = bootstrap_cell_counts(y, pred, cells, n_cells=2, n_resamples=300, seed=2)
    ratio = disparity(boot.counts, boot.replicates, "fpr_ratio")
    assert ratio.value == 0.0 and math.isnan(ratio.interval.low) and math.isnan(ratio.interval.high)
    assert any(w.startswith("boundary: fpr = 0 in group 1") and "no interval" in w for w in ratio.warnings)
    diff = disparity(boot.counts, boot.replicates, "fpr_difference")
    assert diff.interval.low < diff.interval.high and any(w.startswith("boundary:") for w in diff.warnings)
