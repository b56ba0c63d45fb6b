"""Per-level logits with patient-clustered (Rao-Scott) variances, for Q, I², tau² and leave-one-out.

When a patient contributes several images, the images of one level (site, scanner, subgroup)
are not independent, and the binomial logit variance ``1/x + 1/(n - x)`` is too small. Every
level then looks more precise than it is, Cochran's Q is inflated and the heterogeneity test
rejects far too often (in valkit's null simulation, sites assigned at random to patients gave
p < 0.05 in about a third of the data sets, against 5% with this variance; see
``tests/subgroups/test_clustered_heterogeneity.py``).

For a level with ``x`` events over ``n`` images from ``I`` patients, patient ``i`` holding
``x_i`` events over ``n_i`` images, ``p = x / n`` is a ratio estimator and its
cluster-robust (sandwich) variance is (Rao & Scott 1992)::

    v = I / (I - 1) * sum_i (x_i - p n_i)^2 / n^2

Rao and Scott's design effect ``d = n v / (p (1 - p))`` turns it into an effective sample:
``x~ = x / d`` events out of ``n~ = n / d``, and the delta-method logit variance is::

    Var(logit p) = v / (p (1 - p))^2 = d * (1/x + 1/(n - x)) = 1/x~ + 1/(n~ - x~)

Two rules keep it from being smaller than the binomial one:

* ``d`` is floored at 1: a sandwich below the binomial variance (images of one patient that
  disagree more than chance, or sampling noise with few patients) is read as no clustering,
  the usual truncation of a negative intracluster correlation at 0 (design effect
  1 + (m - 1) rho with rho >= 0: Donner & Klar 2000; Zhou, Obuchowski & McClish 2011 on
  clustered binary data).
* With one image per patient the sandwich is ``p (1 - p) / (n - 1)``, so ``d = n / (n - 1)``:
  the variance is the binomial one times ``n / (n - 1)`` (Rao-Scott's small-sample factor
  ``I / (I - 1)``), never narrower. (The analyses use this transform only when some patient has
  several images; otherwise they keep the binomial variances.)
* At 0 or ``n`` of ``n`` events (and with a single patient) the sandwich is 0 or undefined and
  says nothing about clustering. Then, as for the patient-level boundary interval
  (:func:`valkit.stats.clustered_boundary_interval`), each patient counts once: ``d = n / I``
  (the mean number of images per patient), and the 0.5 continuity correction of
  :func:`~valkit.stats.heterogeneity.logit_transform` is added to the scaled cells:
  ``Var = 1/(x~ + c) + 1/(n~ - x~ + c)``. The variance is never smaller than the
  corrected binomial one.

The effects (logits) are exactly those of :func:`~valkit.stats.heterogeneity.logit_transform`,
same continuity correction; only the variances change. Correlation between levels (a patient
with images at two sites) is not modelled: each level's patients are taken as independent.

References: Rao JNK, Scott AJ (1992) A simple method for the analysis of clustered binary data.
Biometrics 48:577-585. Donner A, Klar N (2000) Design and Analysis of Cluster Randomization
Trials in Health Research. Arnold. Zhou XH, Obuchowski NA, McClish DK (2011) Statistical Methods
in Diagnostic Medicine, 2nd ed., Wiley.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from valkit.stats.heterogeneity import LogitData, logit_transform
from valkit.stats.validation import StatsInputError, as_cluster


def clustered_logit_transform(outcome: Any, level: Any, cluster: Any, *, n_levels: int | None = None,
                              correction: float = 0.5) -> LogitData:
    """Per-level ``logit(x / n)`` with Rao-Scott cluster-robust variances (see the module docstring).

    Parameters
    ----------
    outcome : array of 0/1, one per image in the proportion's denominator
        (for sensitivity: the positive images, 1 = detected).
    level : array of int, the level (0 .. k-1) of each image
    cluster : array, the patient id of each image
    n_levels : int, optional
        Number of levels k (default ``max(level) + 1``); every level needs at least one image.
    correction : float
        Continuity correction for a level with 0 or n of n events, as in ``logit_transform``.

    Returns
    -------
    LogitData
        ``method = "cluster_robust_patient"``; ``design_effect`` per level (>= 1) and
        ``n_clusters`` (patients per level).

    Examples
    --------
    Two levels of 6 images from 3 patients each. Level 0: patients with 2/2, 1/2, 0/2 events
    (p = 1/2, sum (x_i - p n_i)^2 = 2, v = 3/2 * 2/36 = 1/12, d = 6 v / (1/4) = 2);
    level 1: every patient 1 of 2 (the sandwich is 0, so d is floored at 1):

    >>> d = clustered_logit_transform([1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0],
    ...                               [0] * 6 + [1] * 6, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6])
    >>> d.design_effect.tolist(), np.round(d.variances, 4).tolist()
    ([2.0, 1.0], [1.3333, 0.6667])
    """
    y = np.asarray(outcome, dtype=float).reshape(-1)
    lv = np.asarray(level).reshape(-1)
    if lv.shape != y.shape:
        raise StatsInputError(f"level has {lv.size} values but outcome has {y.size}; give one level per image.")
    if not np.isin(y, (0.0, 1.0)).all():
        raise StatsInputError("outcome: expected 0/1 per image (1 = event, e.g. a detected positive).")
    if lv.size and (lv.dtype.kind not in "iu" or lv.min() < 0):
        raise StatsInputError("level: expected integer level codes 0 .. k-1 (e.g. from np.unique(..., "
                              "return_inverse=True)).")
    cl = as_cluster(cluster, y.size)
    k = int(n_levels if n_levels is not None else (lv.max() + 1 if lv.size else 0))
    n = np.bincount(lv, minlength=k).astype(float)
    if n.size != k or (n == 0).any():
        empty = np.flatnonzero(n == 0).tolist() if n.size == k else "beyond n_levels"
        raise StatsInputError(f"level: levels {empty} have no images; leave out levels with no cases "
                              "(list them as not estimable) and recode the rest 0 .. k-1.")
    x = np.bincount(lv, weights=y, minlength=k)
    binom = logit_transform(x, n, correction=correction)

    # one row per (level, patient) pair
    pair, inv = np.unique(lv.astype(np.int64) * (int(cl.max()) + 1) + cl, return_inverse=True)
    pair_level = pair // (int(cl.max()) + 1)
    x_i = np.bincount(inv.reshape(-1), weights=y)
    n_i = np.bincount(inv.reshape(-1)).astype(float)
    n_pat = np.bincount(pair_level, minlength=k).astype(float)
    p = x / n
    ss = np.bincount(pair_level, weights=(x_i - p[pair_level] * n_i) ** 2, minlength=k)

    usable = (n_pat >= 2) & ~binom.corrected
    with np.errstate(divide="ignore", invalid="ignore"):
        v_p = n_pat / (n_pat - 1) * ss / n**2
        d_sandwich = n * v_p / (p * (1 - p))
    d = np.where(usable, np.maximum(d_sandwich, 1.0), n / n_pat)
    c = np.where(binom.corrected, correction, 0.0)
    scaled = 1.0 / (x / d + c) + 1.0 / ((n - x) / d + c)
    variances = np.maximum(scaled, binom.variances)  # never narrower than the (corrected) binomial
    return LogitData(binom.effects, variances, binom.corrected, binom.correction,
                     method="cluster_robust_patient", design_effect=d, n_clusters=n_pat.astype(int))


__all__ = ["clustered_logit_transform"]
