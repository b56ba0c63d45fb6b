"""Diagnostic accuracy from binary predictions: sensitivity, specificity, PPV, NPV, accuracy.

Every function exists in two forms with the same result type:

* ``sensitivity(y_true, y_pred, ...)`` from 0/1 labels and 0/1 predictions
  (positive prediction = 1; the threshold is applied by the caller, ``score >= t``);
* ``sensitivity_from_counts(tp, fn, ...)`` from the cells of the 2x2 table.

Each returns an :class:`~valkit.stats.types.Estimate` whose ``numerator`` and
``denominator`` are the counts (e.g. TP and TP + FN) and whose interval is
computed by ``ci`` (see :mod:`valkit.stats.intervals`). A proportion with an
empty denominator is ``nan`` with a named warning (``no_positives``,
``no_negatives``, ``no_predicted_positives``, ``no_predicted_negatives``, ``empty``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from valkit.stats.intervals import PROPORTION_CI_METHODS, proportion_interval
from valkit.stats.types import Estimate, Interval
from valkit.stats.validation import (
    as_count,
    as_label_pair,
    check_confidence_level,
    check_same_length,
    look_up_option,
    not_estimable,
)


@dataclass(frozen=True)
class ConfusionCounts:
    """Cells of the 2x2 table: true/false positives/negatives."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def confusion_counts(y_true: Any, y_pred: Any, *, pos_label: Any = None) -> ConfusionCounts:
    """Count TP, FP, FN, TN from 0/1 labels and 0/1 predictions.

    With ``pos_label`` (sklearn's convention) labels and predictions may be any two classes,
    e.g. strings; ``pos_label`` names the positive one. It is required when the labels are
    not 0/1 (or bools): the error names the labels found.

    >>> confusion_counts([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    ConfusionCounts(tp=2, fp=1, fn=1, tn=1)
    >>> confusion_counts(["pos", "neg", "pos"], ["pos", "pos", "neg"], pos_label="pos")
    ConfusionCounts(tp=1, fp=1, fn=1, tn=0)
    """
    t, p = as_label_pair(y_true, y_pred, pos_label=pos_label)
    check_same_length(y_true=t, y_pred=p)
    tp = int(np.count_nonzero(t & p))
    fp = int(np.count_nonzero(p)) - tp
    fn = int(np.count_nonzero(t)) - tp
    return ConfusionCounts(tp=tp, fp=fp, fn=fn, tn=len(t) - tp - fp - fn)


def proportion(
    successes: int,
    n: int,
    *,
    ci: str = "wilson",
    confidence_level: float = 0.95,
    name: str = "proportion",
    empty_code: str = "empty",
) -> Estimate:
    """A binomial proportion ``successes / n`` with its confidence interval.

    ``n == 0`` gives ``nan`` with the warning ``empty_code`` (a
    :class:`~valkit.stats.types.NotEstimableWarning` is emitted).

    >>> est = proportion(670, 744, ci="clopper_pearson")
    >>> round(est.value, 2), round(est.interval.low, 2), round(est.interval.high, 2)
    (0.9, 0.88, 0.92)
    """
    look_up_option(ci, PROPORTION_CI_METHODS, what="ci")
    cl = check_confidence_level(confidence_level)
    x = as_count(successes, name="successes")
    n = as_count(n, name="n")
    if n == 0:
        w = not_estimable(empty_code, f"{name} is undefined: its denominator is 0 cases.", stacklevel=4)
        return Estimate(math.nan, Interval(math.nan, math.nan, cl, ci), 0, x, 0, ci, (w,))
    iv = proportion_interval(x, n, ci=ci, confidence_level=cl)
    return Estimate(x / n, iv, n, x, n, ci)


def sensitivity_from_counts(tp: int, fn: int, *, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Sensitivity TP / (TP + FN) from counts.

    Examples
    --------
    epiR 2.0.57 ``epi.tests`` Example 1 (Scott et al.): TP 670, FN 74.

    >>> est = sensitivity_from_counts(670, 74, ci="clopper_pearson")
    >>> round(est.value, 2), est.numerator, est.denominator
    (0.9, 670, 744)
    """
    tp, fn = as_count(tp, name="tp"), as_count(fn, name="fn")
    return proportion(tp, tp + fn, ci=ci, confidence_level=confidence_level,
                      name="sensitivity", empty_code="no_positives")


def specificity_from_counts(tn: int, fp: int, *, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Specificity TN / (TN + FP) from counts.

    >>> round(specificity_from_counts(640, 202).value, 2)
    0.76
    """
    tn, fp = as_count(tn, name="tn"), as_count(fp, name="fp")
    return proportion(tn, tn + fp, ci=ci, confidence_level=confidence_level,
                      name="specificity", empty_code="no_negatives")


def ppv_from_counts(tp: int, fp: int, *, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Positive predictive value TP / (TP + FP) from counts (at the study's prevalence).

    >>> round(ppv_from_counts(670, 202).value, 4)
    0.7683
    """
    tp, fp = as_count(tp, name="tp"), as_count(fp, name="fp")
    return proportion(tp, tp + fp, ci=ci, confidence_level=confidence_level,
                      name="PPV", empty_code="no_predicted_positives")


def npv_from_counts(tn: int, fn: int, *, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Negative predictive value TN / (TN + FN) from counts (at the study's prevalence).

    >>> round(npv_from_counts(640, 74).value, 4)
    0.8964
    """
    tn, fn = as_count(tn, name="tn"), as_count(fn, name="fn")
    return proportion(tn, tn + fn, ci=ci, confidence_level=confidence_level,
                      name="NPV", empty_code="no_predicted_negatives")


def accuracy_from_counts(
    tp: int, fp: int, fn: int, tn: int, *, ci: str = "wilson", confidence_level: float = 0.95
) -> Estimate:
    """Accuracy (TP + TN) / N from counts.

    >>> round(accuracy_from_counts(670, 202, 74, 640).value, 4)
    0.826
    """
    c = ConfusionCounts(*(as_count(v, name=k) for k, v in dict(tp=tp, fp=fp, fn=fn, tn=tn).items()))
    return proportion(c.tp + c.tn, c.n, ci=ci, confidence_level=confidence_level,
                      name="accuracy", empty_code="empty")


def sensitivity(y_true: Any, y_pred: Any, *, pos_label: Any = None, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Sensitivity (true positive rate) from 0/1 labels and 0/1 predictions.

    Parameters
    ----------
    y_true : array of {0, 1}
        Reference standard, 1 = positive (any two labels with ``pos_label``).
    y_pred : array of {0, 1}
        Model decision, 1 = called positive (the labels of ``y_true`` with ``pos_label``).
    ci : {"wilson", "clopper_pearson", "jeffreys", "agresti_coull"}
    confidence_level : float
    pos_label : optional
        The positive class when labels are not 0/1, e.g. ``"malignant"`` (sklearn's
        convention); required then, and an error names the labels found without it.

    Returns
    -------
    Estimate
        ``nan`` with warning ``no_positives`` when there are no positive cases.

    Examples
    --------
    >>> est = sensitivity([1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1])
    >>> est.value, est.numerator, est.denominator
    (0.75, 3, 4)
    >>> sensitivity(["malignant", "malignant", "benign"], ["malignant", "benign", "benign"],
    ...             pos_label="malignant").value
    0.5
    """
    c = confusion_counts(y_true, y_pred, pos_label=pos_label)
    return sensitivity_from_counts(c.tp, c.fn, ci=ci, confidence_level=confidence_level)


def specificity(y_true: Any, y_pred: Any, *, pos_label: Any = None, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Specificity (true negative rate) from labels and predictions; see :func:`sensitivity`.

    >>> specificity([1, 1, 0, 0], [1, 1, 0, 1]).value
    0.5
    """
    c = confusion_counts(y_true, y_pred, pos_label=pos_label)
    return specificity_from_counts(c.tn, c.fp, ci=ci, confidence_level=confidence_level)


def ppv(y_true: Any, y_pred: Any, *, pos_label: Any = None, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Positive predictive value from labels and predictions; see :func:`sensitivity`.

    >>> ppv([1, 1, 0, 0], [1, 1, 0, 1]).value
    0.6666666666666666
    """
    c = confusion_counts(y_true, y_pred, pos_label=pos_label)
    return ppv_from_counts(c.tp, c.fp, ci=ci, confidence_level=confidence_level)


def npv(y_true: Any, y_pred: Any, *, pos_label: Any = None, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Negative predictive value from labels and predictions; see :func:`sensitivity`.

    >>> npv([1, 1, 0, 0], [1, 0, 0, 1]).value
    0.5
    """
    c = confusion_counts(y_true, y_pred, pos_label=pos_label)
    return npv_from_counts(c.tn, c.fn, ci=ci, confidence_level=confidence_level)


def accuracy(y_true: Any, y_pred: Any, *, pos_label: Any = None, ci: str = "wilson", confidence_level: float = 0.95) -> Estimate:
    """Accuracy from labels and predictions; see :func:`sensitivity`.

    >>> accuracy([1, 1, 0, 0], [1, 0, 0, 1]).value
    0.5
    """
    c = confusion_counts(y_true, y_pred, pos_label=pos_label)
    return accuracy_from_counts(c.tp, c.fp, c.fn, c.tn, ci=ci, confidence_level=confidence_level)


def _log_ratio_estimate(
    num_x: int, num_n: int, den_x: int, den_n: int, *, cl: float, name: str, method: str
) -> Estimate:
    """(num_x/num_n) / (den_x/den_n) with a log-scale Wald interval (Simel et al. 1991)."""
    n = num_n + den_n
    if num_n == 0 or den_n == 0:
        code = "no_positives" if num_n == 0 else "no_negatives"
        w = not_estimable(code, f"{name} is undefined: a class has no cases.", stacklevel=5)
        return Estimate(math.nan, Interval(math.nan, math.nan, cl, method), n, None, None, method, (w,))
    if den_x == 0 or num_x == 0:
        w = not_estimable(
            "zero_cell",
            f"{name} has a zero cell ({'numerator' if num_x == 0 else 'denominator'} count is 0); "
            "the log-method interval is undefined.",
            stacklevel=5,
        )
        value = (num_x / num_n) / (den_x / den_n) if den_x else math.nan
        return Estimate(value, Interval(math.nan, math.nan, cl, method), n, None, None, method, (w,))
    from scipy.stats import norm

    value = (num_x / num_n) / (den_x / den_n)
    se = math.sqrt(1 / num_x - 1 / num_n + 1 / den_x - 1 / den_n)
    z = float(norm.ppf(0.5 + cl / 2))
    iv = Interval(value * math.exp(-z * se), value * math.exp(z * se), cl, method)
    return Estimate(value, iv, n, None, None, method)


def likelihood_ratios_from_counts(
    tp: int, fp: int, fn: int, tn: int, *, confidence_level: float = 0.95
) -> tuple[Estimate, Estimate]:
    """Positive and negative likelihood ratios with Simel log-method intervals.

    LR+ = sens / (1 - spec), LR- = (1 - sens) / spec, and
    SE(ln LR+) = sqrt(1/TP - 1/(TP+FN) + 1/FP - 1/(FP+TN)) (Simel, Samsa & Matchar 1991).

    Examples
    --------
    epiR 2.0.57 ``epi.tests`` Example 1: LR+ 3.75 (3.32 - 4.24).

    >>> lr_pos, lr_neg = likelihood_ratios_from_counts(670, 202, 74, 640)
    >>> round(lr_pos.value, 2), round(lr_pos.interval.low, 4), round(lr_pos.interval.high, 4)
    (3.75, 3.3207, 4.2432)
    """
    cl = check_confidence_level(confidence_level)
    tp, fp, fn, tn = (as_count(v, name=k) for k, v in dict(tp=tp, fp=fp, fn=fn, tn=tn).items())
    pos = _log_ratio_estimate(tp, tp + fn, fp, fp + tn, cl=cl, name="LR+", method="simel_log")
    neg = _log_ratio_estimate(fn, tp + fn, tn, fp + tn, cl=cl, name="LR-", method="simel_log")
    return pos, neg


def likelihood_ratios(y_true: Any, y_pred: Any, *, pos_label: Any = None, confidence_level: float = 0.95) -> tuple[Estimate, Estimate]:
    """(LR+, LR-) from labels and predictions; see :func:`likelihood_ratios_from_counts`.

    >>> lr_pos, lr_neg = likelihood_ratios([1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0])
    >>> round(lr_pos.value, 3), round(lr_neg.value, 3)
    (2.0, 0.5)
    """
    c = confusion_counts(y_true, y_pred, pos_label=pos_label)
    return likelihood_ratios_from_counts(c.tp, c.fp, c.fn, c.tn, confidence_level=confidence_level)


def diagnostic_odds_ratio_from_counts(
    tp: int, fp: int, fn: int, tn: int, *, confidence_level: float = 0.95
) -> Estimate:
    """Diagnostic odds ratio (TP*TN)/(FP*FN) with the log (Woolf) interval.

    SE(ln DOR) = sqrt(1/TP + 1/FP + 1/FN + 1/TN) (Glas et al. 2003). A zero cell
    makes it ``nan`` with warning ``zero_cell`` (no silent 0.5 correction).

    >>> est = diagnostic_odds_ratio_from_counts(670, 202, 74, 640)
    >>> round(est.value, 2)
    28.69
    """
    cl = check_confidence_level(confidence_level)
    tp, fp, fn, tn = (as_count(v, name=k) for k, v in dict(tp=tp, fp=fp, fn=fn, tn=tn).items())
    n = tp + fp + fn + tn
    method = "log_woolf"
    if min(tp, fp, fn, tn) == 0:
        w = not_estimable("zero_cell", "diagnostic odds ratio is undefined with a zero cell in the 2x2 table.")
        return Estimate(math.nan, Interval(math.nan, math.nan, cl, method), n, None, None, method, (w,))
    from scipy.stats import norm

    value = (tp * tn) / (fp * fn)
    se = math.sqrt(1 / tp + 1 / fp + 1 / fn + 1 / tn)
    z = float(norm.ppf(0.5 + cl / 2))
    return Estimate(value, Interval(value * math.exp(-z * se), value * math.exp(z * se), cl, method), n,
                    None, None, method)


def diagnostic_odds_ratio(y_true: Any, y_pred: Any, *, pos_label: Any = None, confidence_level: float = 0.95) -> Estimate:
    """Diagnostic odds ratio from labels and predictions; see :func:`diagnostic_odds_ratio_from_counts`.

    >>> diagnostic_odds_ratio([1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0]).value
    4.0
    """
    c = confusion_counts(y_true, y_pred, pos_label=pos_label)
    return diagnostic_odds_ratio_from_counts(c.tp, c.fp, c.fn, c.tn, confidence_level=confidence_level)
