"""Choosing an operating point (decision threshold) on a tuning set.

Rules (a case is positive when ``score >= threshold``; candidates are the distinct scores):

``youden``
    Maximise Youden's J = sensitivity + specificity - 1 (Youden 1950). Ties in J are broken
    towards the higher threshold (fewer positive calls).
``sensitivity``
    The highest threshold whose sensitivity is >= ``target`` (so the best specificity
    subject to the sensitivity floor).
``specificity``
    The lowest threshold whose specificity is >= ``target`` (best sensitivity subject to
    the specificity floor).

Choose the threshold on data separate from the test set; the sensitivity and specificity
achieved here are optimistic for new data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from valkit.stats.proportions import sensitivity_from_counts, specificity_from_counts
from valkit.stats.roc import roc_curve
from valkit.stats.types import Estimate, _clean
from valkit.stats.validation import StatsInputError, look_up_option, not_estimable


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold and what it achieves on the tuning set."""

    threshold: float
    rule: str
    target: float | None
    sensitivity: Estimate
    specificity: Estimate
    youden_j: float
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": _clean(self.threshold),
            "rule": self.rule,
            "target": self.target,
            "sensitivity": self.sensitivity.to_dict(),
            "specificity": self.specificity.to_dict(),
            "youden_j": _clean(self.youden_j),
            "warnings": list(self.warnings),
        }


def _youden(fpr: np.ndarray, tpr: np.ndarray, target: float | None) -> int:
    j = tpr - fpr
    return int(np.flatnonzero(j == j.max())[0])  # thresholds descend: first = highest threshold


def _sens_floor(fpr: np.ndarray, tpr: np.ndarray, target: float | None) -> int:
    return int(np.flatnonzero(tpr >= target - 1e-12)[0])


def _spec_floor(fpr: np.ndarray, tpr: np.ndarray, target: float | None) -> int:
    return int(np.flatnonzero(1 - fpr >= target - 1e-12)[-1])


_RULES = {"youden": _youden, "sensitivity": _sens_floor, "specificity": _spec_floor}


def choose_threshold(
    y_true: Any,
    y_score: Any,
    *,
    rule: str = "youden",
    target: float | None = None,
    ci: str = "wilson",
    confidence_level: float = 0.95,
) -> ThresholdChoice:
    """Pick a decision threshold on a tuning set by ``rule`` (see the module docstring).

    Returns
    -------
    ThresholdChoice
        ``threshold`` (``inf`` means "call nothing positive"), the achieved sensitivity and
        specificity as Estimates (with ``ci`` intervals), and Youden's J. Without both classes
        the threshold is ``nan`` with a warning.

    Examples
    --------
    >>> y = [0, 0, 0, 0, 1, 1, 1, 1]
    >>> s = [0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9]
    >>> c = choose_threshold(y, s)
    >>> c.threshold, c.sensitivity.value, c.specificity.value
    (0.7, 0.75, 1.0)
    >>> choose_threshold(y, s, rule="sensitivity", target=1.0).threshold
    0.4
    """
    pick = look_up_option(rule, _RULES, what="rule")
    if rule == "youden":
        if target is not None:
            raise StatsInputError("choose_threshold: rule='youden' takes no target; remove target=.")
    elif target is None or not 0.0 <= float(target) <= 1.0:
        raise StatsInputError(f"choose_threshold: rule='{rule}' needs target= a proportion in [0, 1], got {target!r}.")
    import warnings as _w

    with _w.catch_warnings():  # roc_curve's own no-positives warning is re-issued below with context
        _w.simplefilter("ignore")
        curve = roc_curve(y_true, y_score)
    y = np.asarray(y_true)
    m = int(np.sum(y == 1))
    n = len(y) - m
    if m == 0 or n == 0:
        code = "no_positives" if m == 0 else "no_negatives"
        w = not_estimable(code, "a threshold needs positive and negative cases in the tuning set.")
        se = sensitivity_from_counts(0, 0, ci=ci, confidence_level=confidence_level) if m == 0 else \
            sensitivity_from_counts(m, 0, ci=ci, confidence_level=confidence_level)
        sp = specificity_from_counts(0, 0, ci=ci, confidence_level=confidence_level) if n == 0 else \
            specificity_from_counts(n, 0, ci=ci, confidence_level=confidence_level)
        return ThresholdChoice(math.nan, rule, target, se, sp, math.nan, (w,))
    k = pick(curve.fpr, curve.tpr, None if target is None else float(target))
    tp = int(round(curve.tpr[k] * m))
    fp = int(round(curve.fpr[k] * n))
    se = sensitivity_from_counts(tp, m - tp, ci=ci, confidence_level=confidence_level)
    sp = specificity_from_counts(n - fp, fp, ci=ci, confidence_level=confidence_level)
    return ThresholdChoice(float(curve.thresholds[k]), rule, None if target is None else float(target),
                           se, sp, float(curve.tpr[k] - curve.fpr[k]))
