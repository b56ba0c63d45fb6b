"""String (and other) labels with ``pos_label``, sklearn's convention (issue #12, item 5).

Reference: each result equals the same function on the 0/1 recoding (``label == pos_label``),
and sklearn 1.x ``recall_score(..., pos_label=...)`` / ``roc_auc_score`` on the recoded labels.
"""
from __future__ import annotations

import numpy as np
import pytest

from valkit import stats

Y = np.array(["malignant", "benign", "malignant", "malignant", "benign", "benign", "malignant", "benign"])
PRED = np.array(["malignant", "benign", "benign", "malignant", "malignant", "benign", "malignant", "benign"])
SCORE = np.array([0.9, 0.2, 0.4, 0.8, 0.6, 0.1, 0.7, 0.3])
Y01 = (Y == "malignant").astype(int)
PRED01 = (PRED == "malignant").astype(int)


@pytest.mark.parametrize("fn", ["sensitivity", "specificity", "ppv", "npv", "accuracy", "diagnostic_odds_ratio",
                                "confusion_counts", "likelihood_ratios"])
def test_label_functions_equal_the_01_recoding(fn):
    f = getattr(stats, fn)
    assert f(Y, PRED, pos_label="malignant") == f(Y01, PRED01)


def test_sensitivity_matches_sklearn_recall_with_pos_label():
    from sklearn.metrics import recall_score

    got = stats.sensitivity(Y, PRED, pos_label="malignant")
    assert got.value == pytest.approx(recall_score(Y, PRED, pos_label="malignant"))  # 3/4
    assert (got.numerator, got.denominator) == (3, 4)
    # the other class as positive: sensitivity for 'benign' is the specificity for 'malignant'
    assert float(stats.sensitivity(Y, PRED, pos_label="benign")) == float(stats.specificity(Y01, PRED01))


@pytest.mark.parametrize("fn,kw", [("roc_auc", {}), ("roc_auc", {"ci": "bootstrap", "seed": 1, "n_resamples": 200}),
                                   ("average_precision", {"ci": None}), ("calibration_slope", {}),
                                   ("calibration_in_the_large", {}), ("expected_calibration_error", {"n_bins": 2})])
def test_score_functions_equal_the_01_recoding(fn, kw):
    f = getattr(stats, fn)
    assert f(Y, SCORE, pos_label="malignant", **kw) == f(Y01, SCORE, **kw)


def test_roc_and_delong_with_pos_label():
    from sklearn.metrics import roc_auc_score

    assert stats.roc_auc(Y, SCORE, pos_label="malignant").value == pytest.approx(roc_auc_score(Y01, SCORE))
    a, b = stats.roc_curve(Y, SCORE, pos_label="malignant"), stats.roc_curve(Y01, SCORE)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    other = SCORE[::-1].copy()
    assert stats.delong_test(Y, SCORE, other, pos_label="malignant") == stats.delong_test(Y01, SCORE, other)
    aucs, _ = stats.delong_covariance(Y, SCORE, pos_label="malignant")
    assert aucs[0] == pytest.approx(roc_auc_score(Y01, SCORE))


def test_string_labels_without_pos_label_name_the_labels_and_the_fix():
    with pytest.raises(stats.StatsInputError, match=r"found 'benign', 'malignant'\. Pass pos_label=.*'malignant'"):
        stats.sensitivity(Y, PRED)
    with pytest.raises(stats.StatsInputError, match=r"y_true: .*found 1, 2\. Pass pos_label="):
        stats.roc_auc([1, 2, 2, 1], SCORE[:4])
    with pytest.raises(stats.StatsInputError, match="y_true: 1 label"):
        stats.roc_auc([0, 1, np.nan, 1], SCORE[:4])


def test_bad_pos_label_and_non_binary_labels_are_errors():
    with pytest.raises(stats.StatsInputError, match=r"pos_label='Malignant' is not one of the labels found: "
                                                     r"'benign', 'malignant'"):
        stats.sensitivity(Y, PRED, pos_label="Malignant")
    with pytest.raises(stats.StatsInputError, match="expected two classes .* found 3"):
        stats.roc_auc(["a", "b", "c"], [1, 2, 3], pos_label="a")
    with pytest.raises(stats.StatsInputError, match="same two classes in both"):
        stats.sensitivity(["a", "b"], ["a", "c"], pos_label="a")
    with pytest.raises(stats.StatsInputError, match="missing"):
        stats.sensitivity(["a", None], ["a", "a"], pos_label="a")


def test_one_class_with_pos_label_is_allowed_and_not_estimable():
    """A group may hold only negatives: sensitivity is nan with its named warning, not an error."""
    with pytest.warns(stats.NotEstimableWarning, match="no_positives"):
        e = stats.sensitivity(["benign", "benign"], ["benign", "malignant"], pos_label="malignant")
    assert not e.estimable and e.denominator == 0


def test_numeric_and_bool_labels_keep_working_without_pos_label():
    assert stats.confusion_counts([True, False], [True, True]) == stats.ConfusionCounts(1, 1, 0, 0)
    assert stats.confusion_counts([2, 1, 2], [2, 2, 1], pos_label=2) == stats.ConfusionCounts(1, 1, 1, 0)
    assert stats.confusion_counts([1, 0], [1, 1], pos_label=0) == stats.ConfusionCounts(0, 0, 1, 1)
