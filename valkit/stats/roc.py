"""ROC curve, AUC with DeLong / clustered / bootstrap intervals, and average precision.

Conventions (fixed, never flipped): a case is called positive when ``score >= threshold``;
a higher score means more likely positive; tied positive-negative pairs count 1/2 in the
AUC (the Mann-Whitney statistic, as pROC and sklearn).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from valkit.stats.clustered import clustered_auc_covariance, has_clusters
from valkit.stats.delong import _class_warning, delong_covariance
from valkit.stats.types import Estimate, Interval
from valkit.stats.validation import (
    StatsInputError,
    as_labels,
    as_scores,
    check_confidence_level,
    check_same_length,
    look_up_option,
    not_estimable,
)


@dataclass(frozen=True)
class RocCurve:
    """Empirical ROC curve: one point per distinct threshold, starting at (0, 0).

    ``thresholds[k]`` is the cut-off giving ``(fpr[k], tpr[k])`` with the rule
    ``score >= threshold``; ``thresholds[0] = inf`` (nothing called positive).
    Unpacks as ``fpr, tpr, thresholds = roc_curve(...)``.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.fpr, self.tpr, self.thresholds))

    def to_dict(self) -> dict[str, Any]:
        from valkit.stats.types import _clean

        return {
            "fpr": _clean(self.fpr.tolist()),
            "tpr": _clean(self.tpr.tolist()),
            "thresholds": _clean(self.thresholds.tolist()),
            "warnings": list(self.warnings),
        }


def _labels_scores(y_true: Any, y_score: Any, pos_label: Any = None) -> tuple[np.ndarray, np.ndarray]:
    y = as_labels(y_true, pos_label=pos_label)
    s = as_scores(y_score)
    check_same_length(y_true=y, y_score=s)
    return y, s


def roc_curve(y_true: Any, y_score: Any, *, pos_label: Any = None) -> RocCurve:
    """Empirical ROC curve at every distinct score (no points dropped).

    ``pos_label`` names the positive class when ``y_true`` is not 0/1 (see :func:`roc_auc`).

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist(), thr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0], [inf, 0.8, 0.4, 0.35, 0.1])
    """
    y, s = _labels_scores(y_true, y_score, pos_label)
    order = np.argsort(-s, kind="stable")
    s_desc, y_desc = s[order], y[order]
    last_of_group = np.r_[s_desc[1:] != s_desc[:-1], True] if len(s) else np.zeros(0, bool)
    tps = np.cumsum(y_desc, dtype=np.int64)[last_of_group]
    fps = (np.arange(1, len(s) + 1) - np.cumsum(y_desc, dtype=np.int64))[last_of_group]
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    thresholds = np.r_[np.inf, s_desc[last_of_group]]
    m, n = int(y.sum()), len(y) - int(y.sum())
    warns: list[str] = []
    if m == 0:
        warns.append(not_estimable("no_positives", "ROC true positive rate is undefined: no positive cases."))
    if n == 0:
        warns.append(not_estimable("no_negatives", "ROC false positive rate is undefined: no negative cases."))
    tpr = tps / m if m else np.full(len(tps), np.nan)
    fpr = fps / n if n else np.full(len(fps), np.nan)
    return RocCurve(fpr.astype(float), tpr.astype(float), thresholds, tuple(warns))


def _wald_auc_interval(
    auc: float, var: float, cl: float, method: str, warns: list[str], all_tied: bool
) -> Interval:
    from scipy.stats import norm

    if math.isnan(var):
        return Interval(math.nan, math.nan, cl, method)
    if var <= 0:
        if all_tied:
            warns.append(not_estimable("all_scores_tied", "every case has the same score: AUC is 0.5 by the "
                                       "ties-count-1/2 convention and has no confidence interval.", stacklevel=5))
        else:
            warns.append(not_estimable("zero_variance", f"the {method} variance of the AUC is 0 (e.g. perfect "
                                       "separation); no Wald interval. Consider ci='bootstrap'.", stacklevel=5))
        return Interval(math.nan, math.nan, cl, method)
    half = float(norm.ppf(0.5 + cl / 2)) * math.sqrt(var)
    # as pROC's ci.auc(method="delong"): Wald interval truncated to [0, 1]
    return Interval(max(0.0, auc - half), min(1.0, auc + half), cl, method)


_AUC_CI = ("delong", "clustered", "bootstrap", "auto", "none")


def roc_auc(
    y_true: Any,
    y_score: Any,
    *,
    ci: str | None = "delong",
    confidence_level: float = 0.95,
    cluster: Any = None,
    n_resamples: int = 2000,
    seed: int | None = None,
    bootstrap_method: str = "percentile",
    pos_label: Any = None,
) -> Estimate:
    """Area under the ROC curve (Mann-Whitney; ties count 1/2) with a confidence interval.

    Parameters
    ----------
    y_true : array of {0, 1}
    y_score : array of float
        Higher = more likely positive. The direction is never flipped: an AUC below 0.5
        is reported as such.
    ci : {"delong", "clustered", "bootstrap", "auto", None}
        ``delong``: DeLong et al. (1988) variance (fast Sun & Xu algorithm), Wald interval
        truncated to [0, 1] (as pROC). ``clustered``: Obuchowski (1997) variance with
        ``cluster`` = patient id. ``bootstrap``: patient-clustered (if ``cluster``),
        outcome-stratified bootstrap with ``n_resamples`` and ``seed``. ``auto``:
        ``clustered`` when any patient has more than one image, else ``delong``.
        ``None``: no interval.
    cluster : array, optional
        Patient id per case. Passing clusters with ``ci="delong"`` is an error, because
        DeLong's interval is too narrow for correlated images.
    pos_label : optional
        The positive class when ``y_true`` is not 0/1, e.g. ``"malignant"`` (sklearn's
        convention); required then, and an error names the labels found without it.

    Returns
    -------
    Estimate
        ``method`` records the interval method actually used. No positives or no
        negatives: ``nan`` with a named warning.

    Examples
    --------
    >>> est = roc_auc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(est.value, 4), est.method
    (0.8889, 'delong')
    >>> roc_auc([0, 0, 1, 1], [1, 2, 2, 3], ci=None).value
    0.875
    >>> roc_auc(["no", "no", "yes", "yes"], [1, 2, 2, 3], ci=None, pos_label="yes").value
    0.875
    """
    ci_name = "none" if ci is None else ci
    look_up_option(ci_name, dict.fromkeys(_AUC_CI), what="ci")
    cl = check_confidence_level(confidence_level)
    y, s = _labels_scores(y_true, y_score, pos_label)
    if cluster is not None:
        check_same_length(y_true=y, cluster=np.asarray(cluster))
    clustered = has_clusters(cluster)
    if ci_name == "auto":
        ci_name = "clustered" if clustered else "delong"
    if ci_name == "delong" and clustered:
        raise StatsInputError(
            "roc_auc: ci='delong' assumes one image per patient, but some patients in `cluster` have several. "
            "Use ci='clustered' (Obuchowski) or ci='bootstrap' with cluster=..., or ci='auto'."
        )
    n = len(y)
    warns: list[str] = []
    w = _class_warning(y, "AUC")
    if w is not None:
        iv = None if ci_name == "none" else Interval(math.nan, math.nan, cl, ci_name)
        return Estimate(math.nan, iv, n, None, None, ci_name, (w,))
    all_tied = bool(s.min() == s.max())
    if ci_name == "none":
        from valkit.stats.delong import placements

        return Estimate(placements(y, s, keep_order=False).auc, None, n, None, None, None)
    if ci_name == "bootstrap":
        from valkit.stats.bootstrap import bootstrap_ci

        est = bootstrap_ci("auc", y, s, cluster=cluster, strata=y, n_resamples=n_resamples,
                           confidence_level=cl, method=bootstrap_method, seed=seed)
        return est
    if ci_name == "clustered":
        if cluster is None:
            raise StatsInputError("roc_auc: ci='clustered' needs cluster=<patient id per case>.")
        aucs, cov = clustered_auc_covariance(y, s, cluster=cluster)
    else:
        aucs, cov = delong_covariance(y, s)
    auc, var = float(aucs[0]), float(cov[0, 0])
    iv = _wald_auc_interval(auc, var, cl, ci_name, warns, all_tied)
    return Estimate(auc, iv, n, None, None, ci_name, tuple(warns))


def hanley_mcneil_se(auc: float, *, n_positive: int, n_negative: int) -> float:
    """Standard error of an AUC by Hanley & McNeil (1982), eq. 1 (exponential approximation).

    ``Var = [A(1-A) + (n_a - 1)(Q1 - A^2) + (n_n - 1)(Q2 - A^2)] / (n_a n_n)`` with
    ``Q1 = A/(2-A)``, ``Q2 = 2A^2/(1+A)``. Kept for comparison with published work; valkit's
    intervals use DeLong's distribution-free variance.

    Examples
    --------
    Hanley & McNeil (1982), 5-point rating example: A = 0.8932, 51 abnormal, 58 normal.

    >>> round(hanley_mcneil_se(0.8932, n_positive=51, n_negative=58), 3)
    0.032
    """
    a = float(auc)
    if not 0.0 <= a <= 1.0:
        raise StatsInputError(f"auc: expected a value in [0, 1], got {auc!r}.")
    na, nn = int(n_positive), int(n_negative)
    if na < 1 or nn < 1:
        raise StatsInputError(f"n_positive, n_negative: need at least one of each, got {na}, {nn}.")
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (na - 1) * (q1 - a * a) + (nn - 1) * (q2 - a * a)) / (na * nn)
    return math.sqrt(max(var, 0.0))


def average_precision(
    y_true: Any,
    y_score: Any,
    *,
    ci: str | None = "bootstrap",
    confidence_level: float = 0.95,
    cluster: Any = None,
    n_resamples: int = 2000,
    seed: int | None = None,
    bootstrap_method: str = "percentile",
    pos_label: Any = None,
) -> Estimate:
    """Average precision ``sum_k (R_k - R_{k-1}) P_k`` over distinct thresholds (as sklearn).

    The interval is a (patient-clustered, outcome-stratified) bootstrap; ``ci=None`` skips it.
    ``pos_label`` names the positive class when ``y_true`` is not 0/1 (see :func:`roc_auc`).

    Examples
    --------
    >>> est = average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], ci=None)
    >>> round(est.value, 4)
    0.8333
    """
    ci_name = "none" if ci is None else ci
    look_up_option(ci_name, {"bootstrap": 1, "none": 1}, what="ci")
    cl = check_confidence_level(confidence_level)
    y, s = _labels_scores(y_true, y_score, pos_label)
    n = len(y)
    if len(y) == 0 or y.sum() == 0:
        code = "empty" if len(y) == 0 else "no_positives"
        w = not_estimable(code, "average precision is undefined without positive cases.")
        iv = None if ci_name == "none" else Interval(math.nan, math.nan, cl, "bootstrap")
        return Estimate(math.nan, iv, n, None, None, None if ci_name == "none" else "bootstrap", (w,))
    if ci_name == "none":
        from valkit.stats.weighted import average_precision_weighted

        return Estimate(float(average_precision_weighted(y, s, np.ones((1, n)))[0]), None, n)
    from valkit.stats.bootstrap import bootstrap_ci

    return bootstrap_ci("average_precision", y, s, cluster=cluster, strata=y, n_resamples=n_resamples,
                        confidence_level=cl, method=bootstrap_method, seed=seed)
