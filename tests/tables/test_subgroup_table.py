"""valkit.tables.subgroup_table: the report's subgroup numbers as a DataFrame (issue #12, item 5).

Reference: the ``subgroups`` cells of results.json from a whole run of tests/data/fake_study
(patients with two images, so clustered bootstrap intervals and a patient-counted evidence rule),
recomputed from the run's cases.csv; and, without clusters, the Wilson interval of
:func:`valkit.stats.sensitivity` on each group's cases.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valkit import stats
from valkit.cli import main
from valkit.tables import METRICS, subgroup_table

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("fake")
    for f in FAKE.iterdir():
        shutil.copy(f, d / f.name)
    rc = main(["run", str(d / "fake.yaml"), "--runs-dir", str(d / "runs"), "--no-report", "--quiet"])
    assert rc in (0, 1, 4)
    run_dir = d / "runs" / "fake"
    results = json.loads((run_dir / "results.json").read_text())
    cases = pd.read_csv(run_dir / "cases.csv", dtype={"patient_id": str})
    return results, cases[cases["status"] == "ok"].reset_index(drop=True)


def _table(results, ok, groups):
    m = results["methods"]
    sg = results["subgroups"]["evidence_rule"]
    return _quiet(ok["label"], ok["predicted_positive"], groups, cluster=ok["patient_id"],
                  y_score=ok["score"], metrics=METRICS, min_positives=sg["min_positives"],
                  min_negatives=sg["min_negatives"], seed=m["seed"], n_resamples=m["bootstrap_resamples"])


def _family(results, name):
    return next(f for f in results["subgroups"]["families"] if f["name"] == name)


def _compare(table, family):
    cells = {c["level"]: c for c in family["cells"] if c["n"] > 0}
    assert set(table["group"]) == set(cells)  # every observed cell; the report adds declared empty ones
    for row in table.itertuples():
        cell = cells[row.group]
        assert (row.n, row.n_patients, row.n_positive, row.n_negative) == (
            cell["n"], cell["n_patients"], cell["n_positive"], cell["n_negative"])
        assert row.sufficient_evidence == cell["sufficient_evidence"]
        assert row.clustered == ("clustered" in cell["flags"])
        key = "auc" if row.metric == "auc" else row.metric
        if key not in cell:  # accuracy is not a subgroup column of results.json
            continue
        want = cell[key]
        assert row.method == want["method"]
        for got, exp in ((row.numerator, want["numerator"]), (row.denominator, want["denominator"])):
            assert got == exp or (exp is None and math.isnan(got))  # AUC has no counts: None in JSON, nan here
        if not cell["sufficient_evidence"]:
            assert want.get("insufficient_evidence") is True
            assert math.isnan(row.estimate) and math.isnan(row.low) and math.isnan(row.high)
            continue
        iv = want["interval"] or {}
        for got, exp in ((row.estimate, want["value"]), (row.low, iv.get("low")), (row.high, iv.get("high"))):
            assert (math.isnan(got) and exp is None) or got == pytest.approx(exp, abs=1e-12)


@pytest.mark.parametrize("family", ["sex", "age_band", "site", "ethnicity"])
def test_one_way_table_equals_the_report(run, family):
    results, ok = run
    table = _table(results, ok, ok[family])
    assert table["sufficient_evidence"].any() and table["clustered"].any()  # the test exercises both paths
    _compare(table, _family(results, family))


def test_intersection_table_equals_the_report(run):
    results, ok = run
    fam = next(f for f in results["subgroups"]["families"] if f["kind"] == "intersection")
    table = _table(results, ok, ok[fam["columns"]])
    assert list(table.columns[:3]) == ["group", *fam["columns"]]
    _compare(table, fam)


def test_settings_are_recorded_and_rows_are_group_by_metric(run):
    results, ok = run
    table = _table(results, ok, ok["sex"])
    assert table.attrs["seed"] == results["methods"]["seed"] and table.attrs["evidence_unit"] == "patients"
    assert len(table) == table["group"].nunique() * len(METRICS)
    assert table["group"].iloc[-1] == "missing" or "missing" not in set(table["group"])


# ----------------------------------------------------------------------------- properties
@st.composite
def _data(draw):
    n = draw(st.integers(1, 60))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    pred = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    grp = draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n))
    patient = draw(st.lists(st.integers(0, max(1, n // 2)), min_size=n, max_size=n))
    return np.array(y), np.array(pred), np.array(grp, dtype=object), np.array(patient)


def _quiet(*args, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.NotEstimableWarning)
        return subgroup_table(*args, **kwargs)  # one-class groups warn (tested below)


@settings(max_examples=40, deadline=None)
@given(_data())
def test_group_ns_sum_to_the_total_and_counts_add_up(data):
    y, pred, grp, patient = data
    t = _quiet(y, pred, grp, cluster=patient, metrics=["sensitivity", "specificity"], n_resamples=50)
    for metric, rows in t.groupby("metric"):
        assert rows["n"].sum() == len(y)
        assert rows["n_positive"].sum() == y.sum() and rows["n_negative"].sum() == len(y) - y.sum()
    sens = t[t["metric"] == "sensitivity"]
    assert sens["denominator"].sum() == y.sum() and sens["numerator"].sum() == ((y == 1) & (pred == 1)).sum()


@settings(max_examples=40, deadline=None)
@given(_data())
def test_interval_contains_the_estimate_and_equals_the_stats_function_without_clusters(data):
    y, pred, grp, _ = data
    t = _quiet(y, pred, grp, metrics=["sensitivity"], min_positives=0, min_negatives=0)
    labels = np.where(pd.isna(grp), "missing", grp)
    for row in t.itertuples():
        if math.isnan(row.estimate):
            continue
        assert row.low <= row.estimate <= row.high
        m = labels == row.group
        ref = stats.sensitivity(y[m], pred[m])
        assert (row.estimate, row.low, row.high) == (ref.value, ref.interval.low, ref.interval.high)


def test_string_labels_and_errors():
    y = ["pos", "neg", "pos", "neg"]
    t = subgroup_table(y, ["pos", "pos", "pos", "neg"], ["a", "a", "b", "b"], pos_label="pos", min_positives=0,
                       min_negatives=0, metrics="sensitivity")
    assert t["estimate"].tolist() == [1.0, 1.0]
    with pytest.raises(stats.StatsInputError, match="Did you mean 'sensitivity'"):
        subgroup_table([1, 0], [1, 0], ["a", "b"], metrics=["sensitivty"])
    with pytest.raises(stats.StatsInputError, match="'auc' needs y_score"):
        subgroup_table([1, 0], [1, 0], ["a", "b"], metrics=["auc"])
    with pytest.raises(stats.StatsInputError, match="groups: expected one group per case"):
        subgroup_table([1, 0], [1, 0], ["a"])
    with pytest.warns(stats.NotEstimableWarning, match="a: sensitivity"):
        subgroup_table([0, 1], [0, 1], ["a", "b"], metrics=["sensitivity"])
