"""AUC variance for clustered data (several images per patient), Obuchowski (1997).

Images of one patient are correlated, so DeLong's variance (which assumes independent
cases) is too small. Obuchowski's estimator treats the patient (cluster) as the unit.
With I clusters, cluster i holding m_i positive and n_i negative units,
N1 = sum m_i, N0 = sum n_i, and the unit placements V10, V01 of DeLong summed within
each cluster (``V10_i = sum_k V10_ik``, ``V01_i = sum_k V01_ik``):

    S10 = I10 / ((I10 - 1) N1) * sum_i (V10_i - m_i theta)^2
    S01 = I01 / ((I01 - 1) N0) * sum_i (V01_i - n_i theta)^2
    S11 = I / (I - 1)          * sum_i (V10_i - m_i theta)(V01_i - n_i theta)
    Var = S10/N1 + S01/N0 + 2 S11/(N1 N0)

where I10 (I01) counts the clusters with at least one positive (negative) unit. With one
image per patient it reduces exactly to DeLong's variance. For two scores the covariance
uses the cross-products and the symmetrised S11 term.

Reference: Obuchowski NA (1997). Nonparametric analysis of clustered ROC curve data.
Biometrics 53:567-578.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from valkit.stats.delong import _class_warning, _validated, placements
from valkit.stats.types import TestResult
from valkit.stats.validation import StatsInputError, as_cluster, n_distinct, not_estimable


def has_clusters(cluster: Any) -> bool:
    """True when any cluster id (patient) occurs more than once.

    Analyses call this to switch to clustered methods (and say so in the report).

    >>> has_clusters(["p1", "p2", "p3"])
    False
    >>> has_clusters(["p1", "p2", "p1"])
    True
    >>> has_clusters(None)
    False
    """
    if cluster is None:
        return False
    arr = np.asarray(cluster)
    if arr.size == 0:
        return False
    return n_distinct(arr) < len(arr)


def clustered_auc_covariance(y_true: Any, *scores: Any, cluster: Any) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and Obuchowski's clustered covariance matrix for one or more scores.

    Examples
    --------
    With one image per patient this is DeLong's covariance:

    >>> from valkit.stats.delong import delong_covariance
    >>> y, s = [0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]
    >>> bool(np.isclose(clustered_auc_covariance(y, s, cluster=range(6))[1],
    ...                 delong_covariance(y, s)[1]).all())
    True
    """
    if not scores:
        raise StatsInputError("clustered_auc_covariance: pass at least one score array after y_true.")
    y, ss = _validated(y_true, scores)
    codes = as_cluster(cluster, len(y))
    if codes is None:
        raise StatsInputError("cluster: clustered AUC needs one cluster id (patient id) per case; got None.")
    k = len(ss)
    if _class_warning(y, "AUC") is not None:
        return np.full(k, np.nan), np.full((k, k), np.nan)
    n_clusters = int(codes.max()) + 1
    is_pos = y.astype(bool)
    m_i = np.bincount(codes[is_pos], minlength=n_clusters).astype(float)
    n_i = np.bincount(codes[~is_pos], minlength=n_clusters).astype(float)
    n1, n0 = m_i.sum(), n_i.sum()
    i10, i01, i_all = int((m_i > 0).sum()), int((n_i > 0).sum()), n_clusters
    aucs = np.empty(k)
    d10 = np.empty((k, n_clusters))
    d01 = np.empty((k, n_clusters))
    for r, s in enumerate(ss):
        p = placements(y, s)
        aucs[r] = p.auc
        d10[r] = np.bincount(codes[is_pos], weights=p.v10, minlength=n_clusters) - m_i * p.auc
        d01[r] = np.bincount(codes[~is_pos], weights=p.v01, minlength=n_clusters) - n_i * p.auc
    if i10 < 2 or i01 < 2:
        not_estimable(
            "too_few_clusters",
            f"clustered AUC variance needs >= 2 patients with positives and >= 2 with negatives (got {i10}, {i01}).",
        )
        return aucs, np.full((k, k), np.nan)
    s10 = i10 / ((i10 - 1) * n1) * (d10 @ d10.T)
    s01 = i01 / ((i01 - 1) * n0) * (d01 @ d01.T)
    s11 = i_all / (i_all - 1) * (d10 @ d01.T)
    cov = s10 / n1 + s01 / n0 + (s11 + s11.T) / (n1 * n0)
    return aucs, cov


def clustered_delong_test(y_true: Any, score_a: Any, score_b: Any, *, cluster: Any,
                          confidence_level: float = 0.95) -> TestResult:
    """Paired test of equal AUCs with the patient as the unit: ``AUC(a) - AUC(b)``.

    The DeLong Z test of :func:`valkit.stats.delong.delong_test` with Obuchowski's (1997)
    clustered covariance of the two AUCs: ``Z = (A - B) / sqrt(Var A + Var B - 2 Cov)``, two-sided
    normal p-value and Wald interval. With one image per patient it is DeLong's paired test.

    Examples
    --------
    >>> from valkit.stats.delong import delong_test
    >>> y, a, b = [0, 0, 1, 1, 0, 1, 1, 0], [.1, .4, .35, .8, .2, .9, .7, .3], [.2, .3, .5, .6, .1, .7, .4, .5]
    >>> c = clustered_delong_test(y, a, b, cluster=range(8))
    >>> bool(np.isclose(c.statistic, delong_test(y, a, b).statistic))
    True
    """
    from valkit.stats.delong import _wald_test
    from valkit.stats.validation import check_confidence_level

    cl = check_confidence_level(confidence_level)
    aucs, cov = clustered_auc_covariance(y_true, score_a, score_b, cluster=cluster)
    diff = float(aucs[0] - aucs[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    return _wald_test(diff, var, cl=cl, method="clustered_paired")
