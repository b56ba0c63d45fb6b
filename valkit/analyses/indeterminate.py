"""Cases whose reference standard is indeterminate (equivocal), counted both ways.

The protocol's ``reference_standard.indeterminate`` lists the values that mean "equivocal". Such a
case has no truth to score against, so it is outside the primary analysis; it is never dropped
silently: the results are recomputed with every scored indeterminate case counted as reference
positive, and again as reference negative (REPORT_OUTLINE rule "indeterminate counted both ways").
Both use :class:`~valkit.analyses.estimates.ProportionEstimator` with the run's clustering rule,
seed and resamples: the same interval method as the primary proportions.

Hand check: 2 determinate positives (1 called positive), 2 determinate negatives (1 called
positive) and 2 indeterminate cases (1 called positive). Counted as positive: TP 1 + 1 = 2 of
2 + 2 positives; counted as negative: TN 1 + 1 = 2 of 2 + 2 negatives.

>>> out = indeterminate_counted_both_ways([1, 1, 0, 0], [1, 0, 1, 0], ["a", "b", "c", "d"], [1, 0], ["e", "f"],
...                                       clustering="auto", seed=1, n_resamples=200)
>>> out["as_positive"]["confusion"], out["as_negative"]["confusion"]
({'tp': 2, 'fp': 1, 'fn': 2, 'tn': 1}, {'tp': 1, 'fp': 2, 'fn': 1, 'tn': 2})
"""
from __future__ import annotations

from typing import Any

import numpy as np

from valkit.analyses.estimates import ProportionEstimator

__all__ = ["indeterminate_counted_both_ways"]


def indeterminate_counted_both_ways(y: Any, pred: Any, patient: Any, pred_indeterminate: Any,
                                    patient_indeterminate: Any, *, clustering: str, seed: int,
                                    n_resamples: int, n_not_scored: int = 0) -> dict:
    """Sensitivity and specificity with the indeterminate cases counted as positive, then as negative.

    Parameters
    ----------
    y, pred, patient : the analysed (determinate) cases: reference 0/1, call 0/1, patient id
    pred_indeterminate, patient_indeterminate : the scored indeterminate cases: call 0/1, patient id
    clustering, seed, n_resamples : the protocol's analysis settings (as for the primary estimator)
    n_not_scored : indeterminate cases without a valid result (reported, in neither table)
    """
    y, pred = np.asarray(y, dtype=int), np.asarray(pred, dtype=int)
    pred_i = np.asarray(pred_indeterminate, dtype=int)
    patients = np.concatenate([np.asarray(patient, dtype=str), np.asarray(patient_indeterminate, dtype=str)])
    codes = ProportionEstimator.patient_codes(patients)
    out: dict = {"n_indeterminate": int(len(pred_i)), "n_indeterminate_patients": int(len(set(patients[len(y):]))),
                 "n_not_scored": int(n_not_scored)}
    for name, value in (("as_positive", 1), ("as_negative", 0)):
        est = ProportionEstimator(np.concatenate([y, np.full(len(pred_i), value)]), np.concatenate([pred, pred_i]),
                                  codes, clustering=clustering, seed=seed, n_resamples=n_resamples).estimate()
        out[name] = {"confusion": dict(est.confusion), "sensitivity": est.estimates["sensitivity"].to_dict(),
                     "specificity": est.estimates["specificity"].to_dict()}
    return out
