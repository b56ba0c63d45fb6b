"""Diagnostic accuracy at the operating point, overall and per group.

Calls the pure functions of :mod:`valkit.stats`; returns plain dicts for results.json.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from valkit import stats
from valkit.analyses.estimates import ProportionEstimator, withhold_if_insufficient
from valkit.stats.types import Estimate

PROPORTIONS = ("sensitivity", "specificity", "ppv", "npv", "accuracy")


def auc_ci_method(requested: str, clustered: bool) -> str:
    """DeLong assumes one image per patient; with several, switch to the clustered method."""
    return "clustered" if clustered and requested == "delong" else requested


def auc_estimate(y: np.ndarray, s: np.ndarray, cluster: np.ndarray | None, *, ci: str = "delong",
                 confidence_level: float = 0.95, seed: int | None = None, n_resamples: int = 2000) -> Estimate:
    clustered = stats.has_clusters(cluster)
    method = auc_ci_method(ci, clustered)
    kwargs: dict[str, Any] = {"ci": method, "confidence_level": confidence_level}
    if method in ("clustered",) or (method == "bootstrap" and clustered):
        kwargs["cluster"] = cluster
    if method == "bootstrap":
        kwargs.update(seed=seed, n_resamples=n_resamples)
    return stats.roc_auc(y, s, **kwargs)


def accuracy_block(estimator: ProportionEstimator, s: np.ndarray, threshold: float, index: np.ndarray | None = None,
                   *, auc_ci: str = "delong", with_curve: bool = False) -> dict:
    """2x2 table, proportions with their intervals (one per case set, from ``estimator``), LR+/LR-, AUC;
    optionally the ROC curve. ``index``: the cases (positions in the analysed table; None = all)."""
    idx = np.arange(len(estimator.y)) if index is None else np.asarray(index)
    cs = estimator.estimate(idx)
    y, s_ = estimator.y[idx], np.asarray(s, dtype=float)[idx]
    cluster = estimator.patient[idx] if cs.clustered else None
    c = cs.confusion
    block: dict[str, Any] = {
        "n": cs.n,
        "n_positive": cs.n_positive,
        "n_negative": cs.n_negative,
        "n_patients": cs.n_patients,
        "n_positive_patients": cs.n_positive_patients,
        "n_negative_patients": cs.n_negative_patients,
        "clustered": cs.clustered,
        "confusion": dict(c),
        **{k: v.to_dict() for k, v in cs.estimates.items()},
        "auc": auc_estimate(y, s_, cluster, ci=auc_ci, seed=estimator.seed).to_dict(),
    }
    lr_pos, lr_neg = stats.likelihood_ratios_from_counts(c["tp"], c["fp"], c["fn"], c["tn"])
    block["lr_positive"], block["lr_negative"] = lr_pos.to_dict(), lr_neg.to_dict()
    if with_curve:
        block["roc"] = roc_points(y, s_)
        block["operating_point"] = {
            "threshold": threshold,
            "fpr": _nan_to_none(1 - cs.estimates["specificity"].value),
            "tpr": _nan_to_none(cs.estimates["sensitivity"].value),
        }
    return block


def roc_points(y: np.ndarray, s: np.ndarray, max_points: int = 400) -> dict:
    """ROC curve vertices (thinned for plotting; the AUC is computed on the full data)."""
    if y.min() == y.max():
        return {"fpr": [], "tpr": []}
    curve = stats.roc_curve(y, s)
    fpr, tpr = np.asarray(curve.fpr), np.asarray(curve.tpr)
    if len(fpr) > max_points:
        keep = np.unique(np.r_[0, np.linspace(0, len(fpr) - 1, max_points).astype(int), len(fpr) - 1])
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": [round(float(v), 6) for v in fpr], "tpr": [round(float(v), 6) for v in tpr]}


def group_rows(df: pd.DataFrame, column: str, estimator: ProportionEstimator, threshold: float, *,
               min_positives: int, min_negatives: int) -> list[dict]:
    """Per-level accuracy for one column (site, manufacturer, ...), with an evidence flag.

    ``df`` is the analysed table the estimator was built on (same row order); the intervals are
    the estimator's, so a level prints the same interval as the same cases anywhere else."""
    rows = []
    values = df[column].reset_index(drop=True)
    s = df["score"].to_numpy(dtype=float)
    for level, idx in values.groupby(values, sort=True).indices.items():
        block = accuracy_block(estimator, s, threshold, np.asarray(idx))
        enough = estimator.estimate(idx).evidence(min_positives=min_positives, min_negatives=min_negatives)
        block.update(level=str(level), sufficient_evidence=bool(enough))
        rows.append(withhold_if_insufficient(block, enough))
    return rows


def failures_counted_as_errors(y_all: np.ndarray, s_all: np.ndarray, ok: np.ndarray, threshold: float,
                               patient_all: np.ndarray, *, clustering: str, seed: int, n_resamples: int) -> dict:
    """Sensitivity/specificity when every failed case counts as a wrong call (worst case).

    Intervals by the same rule as every other proportion (:class:`ProportionEstimator` over every
    manifest row): with no failed case the counts, and so the intervals, equal the primary ones."""
    pred = np.where(ok, s_all >= threshold, y_all == 0).astype(int)  # failed: opposite of the truth
    est = ProportionEstimator(y_all, pred, patient_all, clustering=clustering, seed=seed,
                              n_resamples=n_resamples).estimate()
    return {
        "confusion": dict(est.confusion),
        "sensitivity": est.estimates["sensitivity"].to_dict(),
        "specificity": est.estimates["specificity"].to_dict(),
    }


def _nan_to_none(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
