"""Paired difference of proportions when patients have several images (Rao–Scott design effect).

Comparing two model versions on the same images, the pairs of one patient are correlated: the
Newcombe and Tango paired intervals, which treat each image as an independent pair, are then too
narrow. valkit keeps their score form and shrinks the sample to its effective size (Rao & Scott
1992): with pairs k of patient i, D_i = Σ_k (a_ik − b_ik), n_i pairs, N = Σ n_i, I patients and
d̄ = Σ D_i / N,

    V_cluster = I/(I−1) · Σ_i (D_i − d̄ n_i)² / N²          (ratio-estimator sandwich)
    V_indep   = N/(N−1) · Σ_ik (a_ik − b_ik − d̄)² / N²       (the same with every pair its own unit)
    deff      = max(1, V_cluster / V_indep)

and the paired counts (e, f, g, h) divided by deff (rounded to whole pairs) go into the chosen score
interval and Tango's test. A design effect below 1 is set to 1 (a negative intra-patient correlation
is not credited, Donner & Klar 2000), so the interval is never narrower than the unclustered one.
With no discordant pair at all the variances are 0 and the design effect is taken at its largest
possible value, N / I (one pair per patient), as :func:`valkit.stats.wilson_patients_interval` does.

References: Rao JNK, Scott AJ (1992) Biometrics 48:577–585; Obuchowski NA (1998) On the comparison of
correlated proportions for clustered data. Stat Med 17:1495–1507; Donner A, Klar N (2000) Design and
Analysis of Cluster Randomization Trials, ch. 5.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from valkit.stats.differences import paired_proportion_difference_from_counts, tango_score_interval, tango_score_test
from valkit.stats.types import Estimate
from valkit.stats.validation import StatsInputError, as_cluster, as_labels, check_same_length


@dataclass(frozen=True)
class ClusteredPairedDifference:
    """The interval, the design effect and the effective paired counts it was computed from."""

    estimate: Estimate
    design_effect: float
    effective_counts: tuple[int, int, int, int]  # e, f, g, h after dividing by the design effect
    n_clusters: int


def paired_design_effect(success_a: Any, success_b: Any, cluster: Any) -> tuple[float, int]:
    """Rao–Scott design effect of the mean paired difference, and the number of patients.

    >>> a = [1, 1, 0, 0, 1, 0]
    >>> b = [0, 0, 0, 0, 1, 0]
    >>> paired_design_effect(a, b, [0, 1, 2, 3, 4, 5])  # one pair per patient: no design effect
    (1.0, 6)
    >>> deff, k = paired_design_effect(a, b, [0, 0, 1, 1, 2, 2])  # both discordant pairs in one patient: by hand,
    >>> # D = (2, 0, 0), V_cluster = 3/2 · (16+4+4)/9 = 4, V_indep = 6/5 · 12/9 = 1.6, deff = 2.5
    >>> round(deff, 3), k
    (2.5, 3)
    """
    a = as_labels(success_a, name="success_a").astype(float)
    b = as_labels(success_b, name="success_b").astype(float)
    n = check_same_length(success_a=a, success_b=b)
    codes = as_cluster(cluster, n)
    if codes is None:
        raise StatsInputError("cluster: a patient id per pair is needed for the clustered paired difference.")
    x = a - b
    n_clusters = int(codes.max()) + 1 if n else 0
    if n == 0 or n_clusters < 2:
        return (float(n) if n else 1.0), n_clusters
    d = x.mean()
    d_i = np.bincount(codes, weights=x, minlength=n_clusters)
    n_i = np.bincount(codes, minlength=n_clusters).astype(float)
    v_cluster = n_clusters / (n_clusters - 1) * np.sum((d_i - d * n_i) ** 2)
    v_indep = n / (n - 1) * np.sum((x - d) ** 2)  # the same small-sample factor: equal with one pair each
    if v_indep <= 0:  # no discordant pair: the largest possible design effect
        return n / n_clusters, n_clusters
    return max(1.0, float(v_cluster / v_indep)), n_clusters


def clustered_paired_difference(success_a: Any, success_b: Any, cluster: Any, *, interval: str = "newcombe",
                                confidence_level: float = 0.95) -> ClusteredPairedDifference:
    """``mean(success_a) − mean(success_b)`` on paired images of patients with several images.

    ``interval``: ``newcombe`` (Newcombe 1998c method 10) or ``tango`` (Tango 1998), on the effective
    counts (see the module docstring). The point estimate is the image-level difference.

    Examples
    --------
    Every patient's two images identical: the interval is the one of the patients alone.

    >>> a = [1] * 36 + [1] * 12 + [0] * 2
    >>> b = [1] * 36 + [0] * 12 + [1] * 2
    >>> one = clustered_paired_difference(a, b, range(50)).estimate.interval
    >>> two = clustered_paired_difference(a + a, b + b, list(range(50)) * 2).estimate.interval
    >>> round(one.low, 4) == round(two.low, 4) and round(one.high, 4) == round(two.high, 4)
    True
    """
    deff, n_clusters = paired_design_effect(success_a, success_b, cluster)
    a = as_labels(success_a, name="success_a").astype(bool)
    b = as_labels(success_b, name="success_b").astype(bool)
    counts = (int(np.sum(a & b)), int(np.sum(a & ~b)), int(np.sum(~a & b)), int(np.sum(~a & ~b)))
    eff = tuple(int(round(c / deff)) for c in counts)
    if sum(eff) == 0:
        eff = (0, 0, 0, 1)
    e, f, g, h = eff
    if interval == "tango":
        est = tango_score_interval(f, g, e + f + g + h, confidence_level=confidence_level)
    elif interval == "newcombe":
        est = paired_proportion_difference_from_counts(e, f, g, h, confidence_level=confidence_level)
    else:
        raise StatsInputError(f"interval: unknown method {interval!r}; valid: newcombe, tango.")
    n = len(a)
    value = (counts[1] - counts[2]) / n if n else float("nan")
    method = f"{est.method}_rao_scott"
    est = dataclasses.replace(est, value=value, n=n, method=method,
                              interval=dataclasses.replace(est.interval, method=method))
    return ClusteredPairedDifference(est, deff, eff, n_clusters)


def clustered_tango_test(effective_counts: tuple[int, int, int, int], *, delta0: float) -> tuple[float, float]:
    """Tango's non-inferiority test on the effective counts of :func:`clustered_paired_difference`."""
    e, f, g, h = effective_counts
    return tango_score_test(f, g, e + f + g + h, delta0=delta0)


__all__ = ["ClusteredPairedDifference", "clustered_paired_difference", "clustered_tango_test",
           "paired_design_effect"]
