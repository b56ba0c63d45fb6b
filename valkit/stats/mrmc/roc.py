"""Empirical ROC operating points of each reader, and a reader-averaged curve for figures."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RocCurve:
    """Operating points from (0, 0) to (1, 1), one per distinct rating threshold."""

    fpr: tuple[float, ...]
    tpr: tuple[float, ...]

    def to_dict(self) -> dict[str, list[float]]:
        return {"fpr": list(self.fpr), "tpr": list(self.tpr)}


def empirical_roc(ratings: np.ndarray, truth: np.ndarray, *, max_points: int | None = None) -> RocCurve:
    """Empirical ROC points (call positive when rating >= threshold), ``nan`` ratings skipped.

    ``max_points`` thins a long curve (continuous ratings) to about that many points,
    evenly spaced along the threshold sequence, keeping both ends; it is for figures.

    >>> empirical_roc(np.array([1., 2., 2., 3.]), np.array([0, 0, 1, 1], bool))
    RocCurve(fpr=(0.0, 0.0, 0.5, 1.0), tpr=(0.0, 0.5, 1.0, 1.0))
    """
    x = np.asarray(ratings, dtype=float)
    t = np.asarray(truth, dtype=bool)
    keep = ~np.isnan(x)
    x, t = x[keep], t[keep]
    pos, neg = np.sort(x[t]), np.sort(x[~t])
    thresholds = np.unique(x)[::-1]
    tp = pos.size - np.searchsorted(pos, thresholds, side="left")
    fp = neg.size - np.searchsorted(neg, thresholds, side="left")
    fpr = np.concatenate(([0.0], fp / max(neg.size, 1)))
    tpr = np.concatenate(([0.0], tp / max(pos.size, 1)))
    if max_points is not None and fpr.size > max_points:
        idx = np.unique(np.round(np.linspace(0, fpr.size - 1, max_points)).astype(int))
        fpr, tpr = fpr[idx], tpr[idx]
    return RocCurve(tuple(float(v) for v in fpr), tuple(float(v) for v in tpr))


def average_roc(curves: list[RocCurve], *, n_points: int = 101) -> RocCurve:
    """Vertical average: mean TPR of the curves at a common grid of FPR values.

    At an FPR where a curve rises vertically, its highest TPR there is used.

    >>> c = average_roc([RocCurve((0.0, 0.0, 1.0), (0.0, 1.0, 1.0)), RocCurve((0.0, 1.0), (0.0, 1.0))], n_points=3)
    >>> c.tpr
    (0.5, 0.75, 1.0)
    """
    grid = np.linspace(0.0, 1.0, n_points)
    tprs = []
    for c in curves:
        f, s = np.asarray(c.fpr), np.asarray(c.tpr)
        # keep the highest TPR of each FPR so that interpolation takes the top of a vertical step
        uf = np.unique(f)
        top = np.array([s[f == v].max() for v in uf])
        tprs.append(np.interp(grid, uf, top))
    mean = np.mean(tprs, axis=0)
    return RocCurve(tuple(float(v) for v in grid), tuple(float(v) for v in mean))
