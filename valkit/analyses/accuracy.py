"""Diagnostic accuracy at the operating point, overall and per group.

Calls the pure functions of :mod:`valkit.stats`; returns plain dicts for results.json.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from valkit import stats
from valkit.stats.types import Estimate

PROPORTIONS = ("sensitivity", "specificity", "ppv", "npv", "accuracy")


def auc_ci_method(requested: str, clustered: bool) -> str:
    """DeLong assumes one image per patient; with several, switch to the clustered method."""
    return "clustered" if clustered and requested == "delong" else requested


def proportion_estimates(counts: Any, *, ci: str = "wilson", confidence_level: float = 0.95) -> dict[str, Estimate]:
    c = counts
    return {
        "sensitivity": stats.sensitivity_from_counts(c.tp, c.fn, ci=ci, confidence_level=confidence_level),
        "specificity": stats.specificity_from_counts(c.tn, c.fp, ci=ci, confidence_level=confidence_level),
        "ppv": stats.ppv_from_counts(c.tp, c.fp, ci=ci, confidence_level=confidence_level),
        "npv": stats.npv_from_counts(c.tn, c.fn, ci=ci, confidence_level=confidence_level),
        "accuracy": stats.accuracy_from_counts(c.tp, c.fp, c.fn, c.tn, ci=ci, confidence_level=confidence_level),
    }


def clustered_proportion_estimates(y: np.ndarray, pred: np.ndarray, cluster: np.ndarray | None, *,
                                   ci: str = "wilson", confidence_level: float = 0.95, seed: int | None = None,
                                   n_resamples: int = 2000) -> dict[str, Estimate]:
    """Proportions with their counts; intervals from the patient-clustered bootstrap when patients
    have several images (the images of one patient are not independent, so a binomial interval
    on images would be too narrow), otherwise by ``ci``."""
    counts = stats.confusion_counts(y, pred)
    est = proportion_estimates(counts, ci=ci, confidence_level=confidence_level)
    if not stats.has_clusters(cluster):
        return est
    out = {}
    for name, e in est.items():
        if not e.estimable:
            out[name] = e
            continue
        if e.numerator in (0, e.denominator):  # the bootstrap would give [p, p]
            cases = DENOMINATOR_CASES[name](np.asarray(y), np.asarray(pred))
            iv = stats.clustered_boundary_interval(int(e.numerator), int(e.denominator),
                                                   len(np.unique(np.asarray(cluster)[cases])),
                                                   confidence_level=confidence_level)
            out[name] = dataclasses.replace(e, interval=iv, method=iv.method, warnings=e.warnings + (BOUNDARY_NOTE,))
            continue
        boot = stats.bootstrap_ci(name, y, pred, cluster=cluster, strata=y, n_resamples=n_resamples,
                                  confidence_level=confidence_level, seed=seed)
        out[name] = dataclasses.replace(e, interval=boot.interval, method=boot.method,
                                        warnings=e.warnings + boot.warnings)
    return out


#: the cases forming each proportion's denominator
DENOMINATOR_CASES = {
    "sensitivity": lambda y, p: y == 1, "specificity": lambda y, p: y == 0,
    "ppv": lambda y, p: p == 1, "npv": lambda y, p: p == 0, "accuracy": lambda y, p: np.ones(len(y), bool),
}
BOUNDARY_NOTE = ("boundary: every case has the same outcome, so the patient-clustered bootstrap has no spread; "
                 "Wilson interval with one observation per patient instead (conservative)")


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


def accuracy_block(y: np.ndarray, s: np.ndarray, threshold: float, cluster: np.ndarray | None, *,
                   auc_ci: str = "delong", seed: int | None = None, with_curve: bool = False) -> dict:
    """2x2 table, proportions with Wilson CIs, LR+/LR-, AUC; optionally the ROC curve."""
    pred = (s >= threshold).astype(int)
    counts = stats.confusion_counts(y, pred)
    est = clustered_proportion_estimates(y, pred, cluster, seed=seed)
    block: dict[str, Any] = {
        "n": int(len(y)),
        "n_positive": int(y.sum()),
        "n_negative": int(len(y) - y.sum()),
        "n_patients": int(len(np.unique(cluster))) if cluster is not None else int(len(y)),
        "confusion": counts.to_dict(),
        **{k: v.to_dict() for k, v in est.items()},
        "auc": auc_estimate(y, s, cluster, ci=auc_ci, seed=seed).to_dict(),
    }
    lr_pos, lr_neg = stats.likelihood_ratios_from_counts(counts.tp, counts.fp, counts.fn, counts.tn)
    block["lr_positive"], block["lr_negative"] = lr_pos.to_dict(), lr_neg.to_dict()
    if with_curve:
        block["roc"] = roc_points(y, s)
        block["operating_point"] = {
            "threshold": threshold,
            "fpr": _nan_to_none(1 - est["specificity"].value),
            "tpr": _nan_to_none(est["sensitivity"].value),
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


def group_rows(df: pd.DataFrame, column: str, threshold: float, *, min_positives: int, min_negatives: int,
               seed: int | None = None) -> list[dict]:
    """Per-level accuracy for one column (site, manufacturer, ...), with an evidence flag."""
    rows = []
    for level, g in df.groupby(column, sort=True):
        y = g["label"].to_numpy(dtype=int)
        s = g["score"].to_numpy(dtype=float)
        block = accuracy_block(y, s, threshold, g["patient_id"].to_numpy(), seed=seed)
        enough = block["n_positive"] >= min_positives and block["n_negative"] >= min_negatives
        block.update(level=str(level), sufficient_evidence=bool(enough))
        rows.append(block)
    return rows


def failures_counted_as_errors(y_all: np.ndarray, s_all: np.ndarray, ok: np.ndarray, threshold: float) -> dict:
    """Sensitivity/specificity when every failed case counts as a wrong call (worst case)."""
    pred = np.where(ok, s_all >= threshold, y_all == 0).astype(int)  # failed: opposite of the truth
    counts = stats.confusion_counts(y_all, pred)
    est = proportion_estimates(counts)
    return {
        "confusion": counts.to_dict(),
        "sensitivity": est["sensitivity"].to_dict(),
        "specificity": est["specificity"].to_dict(),
    }


def _nan_to_none(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
