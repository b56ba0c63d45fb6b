"""Agreement between raters (truthers) who label the same subjects: Cohen's and Fleiss' kappa.

A reference standard built by several readers is only as good as their agreement. Kappa is the
agreement beyond chance: ``(p_o - p_e) / (1 - p_e)``, where ``p_o`` is the observed agreement and
``p_e`` the agreement expected if raters labelled independently at their own rates. 1 is perfect
agreement, 0 is chance, negative is worse than chance.

- :func:`cohens_kappa` (two raters; Cohen 1960): chance from each rater's own marginal rates. Its
  95% CI is Wald's, with the large-sample standard error of Fleiss, Cohen & Everitt (1969), the
  "ASE" SAS's PROC FREQ prints and :func:`statsmodels.stats.inter_rater.cohens_kappa` returns.
- :func:`fleiss_kappa` (two or more raters, the same number per subject; Fleiss 1971): chance from
  the pooled category rates. Its 95% CI is Wald's, with the standard error of Fleiss, Nee &
  Landis (1979), the one R's ``irr::kappam.fleiss``, Stata and SPSS use. That standard error is
  derived under no agreement beyond chance (kappa = 0); away from 0 it is an approximation
  (usually slightly too small for high kappa), which is why the method name says so.

Both also return the **percent agreement**: the proportion of subjects on which every rater gave
the same label, with its Wilson interval, a number a clinician reads without a formula.

Subjects are assumed independent. Images of the same patient are not: with several images per
patient the Wald intervals are too narrow. :func:`fleiss_kappa_clustered` and
:func:`cohens_kappa_clustered` give the patient-clustered percentile bootstrap interval instead
(Davison & Hinkley 1997, sec. 3.8; Efron & Tibshirani 1993, ch. 13): whole patients are resampled
with replacement and kappa is recomputed on every resample. A patient enters kappa only through
sums over its images (category counts, agreeing pairs), so all resamples are one matrix product of
the patient multiplicities (the resampling plan of :mod:`valkit.stats.bootstrap`) with those sums.

References: Cohen J (1960) Educ Psychol Meas 20:37-46. Fleiss JL, Cohen J, Everitt BS (1969)
Psychol Bull 72:323-327. Fleiss JL (1971) Psychol Bull 76:378-382. Fleiss JL, Nee JCM, Landis JR
(1979) Psychol Bull 86:974-977. Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap,
ch. 13. Davison AC, Hinkley DV (1997) Bootstrap Methods and their Application, sec. 3.8.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from valkit.stats.bootstrap import _rng, _uniform_plan, multiplicity_chunks
from valkit.stats.intervals import proportion_interval
from valkit.stats.types import Estimate, Interval, _clean
from valkit.stats.validation import StatsInputError, as_cluster, check_confidence_level, not_estimable

COHEN_METHOD = "cohen_fleiss_cohen_everitt_1969"
FLEISS_METHOD = "fleiss_nee_landis_1979_null_se"
CLUSTER_METHOD = "cluster_bootstrap_percentile"
#: above this share of resamples with kappa undefined (every label one category) the estimate warns
UNDEFINED_WARN_SHARE = 0.01


@dataclass(frozen=True)
class Agreement:
    """Chance-corrected agreement of ``n_raters`` raters over ``n_subjects`` subjects.

    ``kappa``: the coefficient with its Wald interval (``n`` = subjects). ``percent_agreement``:
    subjects on which every rater agreed, as a proportion with its Wilson interval.
    ``observed``/``expected``: the agreement observed and expected by chance (for Fleiss' kappa
    the mean agreement over all pairs of raters). ``se``: the standard error the interval used
    (for the patient-clustered bootstrap: the standard deviation of the usable resamples).
    ``n_clusters``, ``n_resamples``, ``n_undefined_resamples``: the patients resampled, the
    resamples drawn and those on which kappa was undefined (dropped); ``None`` for Wald's interval.
    """

    kappa: Estimate
    percent_agreement: Estimate
    observed: float
    expected: float
    se: float
    n_subjects: int
    n_raters: int
    categories: tuple[Any, ...]
    method: str
    n_clusters: int | None = None
    n_resamples: int | None = None
    n_undefined_resamples: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The results.json shape: estimates nested, nan as ``None``."""
        return {
            "kappa": self.kappa.to_dict(),
            "percent_agreement": self.percent_agreement.to_dict(),
            "observed": _clean(self.observed),
            "expected": _clean(self.expected),
            "se": _clean(self.se),
            "n_subjects": self.n_subjects,
            "n_raters": self.n_raters,
            "categories": _clean(list(self.categories)),
            "method": self.method,
            "n_clusters": self.n_clusters,
            "n_resamples": self.n_resamples,
            "n_undefined_resamples": self.n_undefined_resamples,
        }


def _ratings(ratings: Any, *, min_raters: int) -> tuple[np.ndarray, tuple[Any, ...]]:
    """(subjects x raters) integer codes and the sorted categories; refuses missing labels."""
    arr = np.asarray(ratings)
    if arr.ndim != 2 or arr.shape[1] < min_raters:
        raise StatsInputError(f"ratings: expected a 2-D array, one row per subject and one column per rater "
                              f"(at least {min_raters}), got shape {arr.shape}.")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise StatsInputError(f"ratings: {int(np.isnan(arr).any(axis=1).sum())} subject(s) miss a rater's label. "
                              "Every rater must label every subject; drop incomplete subjects (and count them) "
                              "before calling.")
    if arr.dtype == object and any(v is None for v in arr.ravel().tolist()):
        raise StatsInputError("ratings: some labels are None. Drop incomplete subjects before calling.")
    categories, codes = np.unique(arr, return_inverse=True)
    return codes.reshape(arr.shape), tuple(categories.tolist())


def _wald(kappa: float, se: float, cl: float, method: str) -> Interval:
    z = norm.ppf(0.5 + cl / 2)
    if not (math.isfinite(kappa) and math.isfinite(se)):
        return Interval(math.nan, math.nan, cl, method)
    return Interval(float(max(-1.0, kappa - z * se)), float(min(1.0, kappa + z * se)), cl, method)


def _all_agree(codes: np.ndarray, cl: float) -> Estimate:
    n = codes.shape[0]
    k = int((codes == codes[:, :1]).all(axis=1).sum())
    if n == 0:
        w = not_estimable("empty", "percent agreement is undefined: no subjects.", stacklevel=5)
        return Estimate(math.nan, Interval(math.nan, math.nan, cl, "wilson"), 0, 0, 0, "wilson", (w,))
    return Estimate(k / n, proportion_interval(k, n, ci="wilson", confidence_level=cl), n, k, n, "wilson")


def _chance_only(what: str) -> str:
    return not_estimable("single_category", f"{what} is undefined: every label is the same category, so chance "
                         "agreement is 1 (kappa = 0/0). Report the percent agreement instead.", stacklevel=5)


def cohens_kappa_from_table(table: Any, *, confidence_level: float = 0.95) -> Agreement:
    """Cohen's kappa from a square table of counts (rows: rater A's category, columns: rater B's).

    Standard error: the large-sample (non-null) formula of Fleiss, Cohen & Everitt (1969),
    ``var = [A + B - C] / ((1 - p_e)^2 n)`` with
    ``A = sum_i p_ii (1 - (p_i. + p_.i)(1 - k))^2``,
    ``B = (1 - k)^2 sum_{i != j} p_ij (p_.i + p_j.)^2``, ``C = (k - p_e (1 - k))^2``.

    Examples
    --------
    SAS PROC FREQ's example in statsmodels' tests (table10): kappa 0.4842, ASE 0.1380,
    95% CI 0.2137 to 0.7547.

    >>> a = cohens_kappa_from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    >>> round(a.kappa.value, 4), round(a.se, 4), round(a.kappa.interval.low, 4), round(a.kappa.interval.high, 4)
    (0.4842, 0.138, 0.2137, 0.7547)
    """
    cl = check_confidence_level(confidence_level)
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or (t < 0).any():
        raise StatsInputError(f"table: expected a square table of non-negative counts, got shape {t.shape}.")
    n = float(t.sum())
    k = t.shape[0]
    diag = int(round(float(np.trace(t))))
    percent = Estimate(diag / n if n else math.nan,
                       proportion_interval(diag, int(n), ci="wilson", confidence_level=cl) if n else
                       Interval(math.nan, math.nan, cl, "wilson"), int(n), diag, int(n), "wilson")
    p = t / n if n else t
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    p_o, p_e = float(np.trace(p)), float(rows @ cols)
    if n == 0 or math.isclose(p_e, 1.0):
        w = _chance_only("Cohen's kappa") if n else not_estimable("empty", "Cohen's kappa: no subjects.", stacklevel=4)
        est = Estimate(math.nan, Interval(math.nan, math.nan, cl, COHEN_METHOD), int(n), method=COHEN_METHOD,
                       warnings=(w,))
        return Agreement(est, percent, p_o, p_e, math.nan, int(n), 2, tuple(range(k)), "cohen")
    kappa = (p_o - p_e) / (1 - p_e)
    term_a = float((np.diag(p) * (1 - (rows + cols) * (1 - kappa)) ** 2).sum())
    off = p * (cols[:, None] + rows[None, :]) ** 2
    np.fill_diagonal(off, 0.0)
    term_b = (1 - kappa) ** 2 * float(off.sum())
    term_c = (kappa - p_e * (1 - kappa)) ** 2
    se = math.sqrt(max(term_a + term_b - term_c, 0.0) / ((1 - p_e) ** 2 * n))
    est = Estimate(kappa, _wald(kappa, se, cl, COHEN_METHOD), int(n), method=COHEN_METHOD)
    return Agreement(est, percent, p_o, p_e, se, int(n), 2, tuple(range(k)), "cohen")


def cohens_kappa(rater_a: Any, rater_b: Any, *, confidence_level: float = 0.95) -> Agreement:
    """Cohen's kappa of two raters' labels of the same subjects (any category values).

    See :func:`cohens_kappa_from_table` for the standard error. ``categories`` are the labels
    found, sorted.

    Examples
    --------
    >>> a = cohens_kappa([1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 1, 0])
    >>> round(a.kappa.value, 3), a.percent_agreement.numerator, a.categories
    (0.667, 5, (0, 1))
    """
    a, b = np.asarray(rater_a), np.asarray(rater_b)
    if a.ndim != 1 or a.shape != b.shape:
        raise StatsInputError(f"rater_a, rater_b: expected two 1-D arrays of the same length, got shapes "
                              f"{a.shape} and {b.shape}.")
    codes, categories = _ratings(np.column_stack([a, b]), min_raters=2)
    k = max(len(categories), 1)
    table = np.zeros((k, k))
    np.add.at(table, (codes[:, 0], codes[:, 1]), 1)
    res = cohens_kappa_from_table(table, confidence_level=confidence_level)
    return Agreement(res.kappa, res.percent_agreement, res.observed, res.expected, res.se, res.n_subjects, 2,
                     categories, res.method)


def fleiss_kappa(ratings: Any, *, confidence_level: float = 0.95) -> Agreement:
    """Fleiss' kappa of ``m >= 2`` raters per subject (rows: subjects; columns: raters; any labels).

    With ``n_ij`` the number of raters putting subject ``i`` in category ``j``, ``N`` subjects and
    ``m`` raters: ``P_i = (sum_j n_ij^2 - m) / (m (m - 1))``, ``P_o = mean(P_i)``,
    ``p_j = sum_i n_ij / (N m)``, ``P_e = sum_j p_j^2``, kappa ``= (P_o - P_e) / (1 - P_e)``
    (Fleiss 1971). Standard error (Fleiss, Nee & Landis 1979, under kappa = 0):
    ``var = 2 / (N m (m - 1)) * [(sum p_j q_j)^2 - sum p_j q_j (q_j - p_j)] / (sum p_j q_j)^2``.
    The raters need not be the same people for every subject, but their number must be.

    Examples
    --------
    Fleiss (1971), Table 1 (30 patients, 6 psychiatrists, 5 diagnoses) gives kappa 0.430; R irr
    0.84 ``kappam.fleiss`` gives 0.4302445 with z 17.65183 (tests/stats/test_agreement.py). Three
    readers, four images:

    >>> a = fleiss_kappa([[1, 1, 1], [0, 0, 0], [1, 0, 1], [0, 0, 0]])
    >>> round(a.kappa.value, 3), a.percent_agreement.numerator, a.n_raters
    (0.657, 3, 3)
    """
    cl = check_confidence_level(confidence_level)
    codes, categories = _ratings(ratings, min_raters=2)
    n_subj, m = codes.shape
    k = max(len(categories), 1)
    counts = np.zeros((n_subj, k))
    np.add.at(counts, (np.repeat(np.arange(n_subj), m), codes.ravel()), 1)
    percent = _all_agree(codes, cl)
    if n_subj == 0:
        w = not_estimable("empty", "Fleiss' kappa: no subjects.", stacklevel=3)
        est = Estimate(math.nan, Interval(math.nan, math.nan, cl, FLEISS_METHOD), 0, method=FLEISS_METHOD,
                       warnings=(w,))
        return Agreement(est, percent, math.nan, math.nan, math.nan, 0, m, categories, "fleiss")
    p_i = ((counts ** 2).sum(axis=1) - m) / (m * (m - 1))
    p_o = float(p_i.mean())
    p_j = counts.sum(axis=0) / (n_subj * m)
    p_e = float((p_j ** 2).sum())
    if math.isclose(p_e, 1.0):
        est = Estimate(math.nan, Interval(math.nan, math.nan, cl, FLEISS_METHOD), n_subj, method=FLEISS_METHOD,
                       warnings=(_chance_only("Fleiss' kappa"),))
        return Agreement(est, percent, p_o, p_e, math.nan, n_subj, m, categories, "fleiss")
    kappa = (p_o - p_e) / (1 - p_e)
    pq = p_j * (1 - p_j)
    spq = float(pq.sum())
    var = 2.0 / (n_subj * m * (m - 1)) * (spq ** 2 - float((pq * ((1 - p_j) - p_j)).sum())) / spq ** 2
    se = math.sqrt(max(var, 0.0))
    est = Estimate(kappa, _wald(kappa, se, cl, FLEISS_METHOD), n_subj, method=FLEISS_METHOD)
    return Agreement(est, percent, p_o, p_e, se, n_subj, m, categories, "fleiss")

# ----------------------------------------------------------------------------- patient-clustered bootstrap
def _per_patient(per_image: np.ndarray, unit: np.ndarray, n_units: int) -> np.ndarray:
    """Column sums of ``per_image`` (images x q) within each patient: (patients x q)."""
    return np.stack([np.bincount(unit, weights=per_image[:, j], minlength=n_units)
                     for j in range(per_image.shape[1])], axis=1)


def _replicates(per_image: np.ndarray, unit: np.ndarray, kappa_of: Any, n_resamples: int, seed: Any) -> np.ndarray:
    """Kappa on ``n_resamples`` patient resamples: multiplicities (resamples x patients) @ per-patient sums.

    The multiplicities come from the resampling plan of :func:`valkit.stats.bootstrap_ci` (patients drawn
    uniformly with replacement, as many as there are), in chunks that bound the memory.
    """
    n_units = int(unit.max(initial=-1)) + 1
    sums = _per_patient(per_image.astype(float), unit, n_units)
    plan = _uniform_plan(np.zeros(n_units, dtype=np.int64))
    reps = np.empty(n_resamples)
    for start, mult in multiplicity_chunks(plan, _rng(seed), n_resamples, n_units):
        reps[start:start + len(mult)] = kappa_of(mult @ sums)
    return reps


def _kappa_or_nan(p_o: np.ndarray, p_e: np.ndarray) -> np.ndarray:
    """``(p_o - p_e) / (1 - p_e)``; ``nan`` where chance agreement is 1 (every label one category)."""
    defined = np.abs(1.0 - p_e) > 1e-9  # math.isclose(p_e, 1.0), as the point estimates test it
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined, (p_o - p_e) / np.where(defined, 1.0 - p_e, 1.0), np.nan)


def _fleiss_of(m: int, k: int):
    """Fleiss' kappa of resampled sums (columns: images, sum_j n_ij^2, n_i1 .. n_ik)."""
    def kappa_of(t: np.ndarray) -> np.ndarray:
        n = t[:, 0]
        p_o = (t[:, 1] - n * m) / (n * m * (m - 1))
        p_j = t[:, 2:2 + k] / (n * m)[:, None]
        return _kappa_or_nan(p_o, (p_j ** 2).sum(axis=1))
    return kappa_of


def _cohen_of(k: int):
    """Cohen's kappa of resampled sums (columns: the k x k cells of the two raters' table, row-major)."""
    def kappa_of(t: np.ndarray) -> np.ndarray:
        table = t.reshape(-1, k, k)
        n = table.sum(axis=(1, 2))
        p_o = np.trace(table, axis1=1, axis2=2) / n
        p_e = (table.sum(axis=2) * table.sum(axis=1)).sum(axis=1) / n ** 2
        return _kappa_or_nan(p_o, p_e)
    return kappa_of


def _check_resampling(n_resamples: Any) -> int:
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) or n_resamples < 2:
        raise StatsInputError(f"n_resamples: expected an integer of at least 2 (e.g. 2000), got {n_resamples!r}.")
    return int(n_resamples)


def _with_cluster_interval(plain: Agreement, per_image: np.ndarray, cluster: Any, kappa_of: Any,
                           n_resamples: int, seed: Any, cl: float, what: str) -> Agreement:
    """``plain`` with its kappa interval replaced by the patient-clustered percentile bootstrap."""
    unit = as_cluster(cluster, plain.n_subjects)
    n_units = int(unit.max(initial=-1)) + 1
    nan_interval = Interval(math.nan, math.nan, cl, CLUSTER_METHOD)
    if not math.isfinite(plain.kappa.value):  # not estimable on the data: nothing to resample
        est = dataclasses.replace(plain.kappa, interval=nan_interval, method=CLUSTER_METHOD)
        return dataclasses.replace(plain, kappa=est, se=math.nan, n_clusters=n_units, n_resamples=0,
                                   n_undefined_resamples=0)
    reps = _replicates(per_image, unit, kappa_of, n_resamples, seed)
    finite = reps[np.isfinite(reps)]
    undefined = n_resamples - len(finite)
    warns = list(plain.kappa.warnings)
    if undefined > UNDEFINED_WARN_SHARE * n_resamples:
        warns.append(not_estimable(
            "undefined_resamples", f"{undefined} of {n_resamples} patient resamples had every label in one "
            f"category, so {what} was undefined on them; they were left out of the interval, which is therefore "
            "conditional on kappa being defined.", stacklevel=4))
    if len(finite) < 2:
        warns.append(not_estimable("too_few_resamples", f"fewer than 2 patient resamples define {what}: "
                                   "no interval.", stacklevel=4))
        interval, se = nan_interval, math.nan
    else:
        lo, hi = np.quantile(finite, [(1 - cl) / 2, (1 + cl) / 2])
        interval, se = Interval(float(lo), float(hi), cl, CLUSTER_METHOD), float(finite.std(ddof=1))
    est = dataclasses.replace(plain.kappa, interval=interval, method=CLUSTER_METHOD, warnings=tuple(warns))
    return dataclasses.replace(plain, kappa=est, se=se, n_clusters=n_units, n_resamples=n_resamples,
                               n_undefined_resamples=undefined)


def fleiss_kappa_clustered(ratings: Any, cluster: Any, *, n_resamples: int = 2000, seed: Any = None,
                           confidence_level: float = 0.95) -> Agreement:
    """Fleiss' kappa with a patient-clustered percentile bootstrap interval (several images per patient).

    Parameters
    ----------
    ratings : (images x raters) array of labels, as :func:`fleiss_kappa`
    cluster : array, one patient id per image; all images of a drawn patient are resampled together
    n_resamples : int
        Patient resamples (Davison & Hinkley 1997, sec. 3.8); the interval is their 2.5th and 97.5th
        percentiles (Efron & Tibshirani 1993, ch. 13).
    seed : int, sequence of ints or numpy Generator
        The same seed and data give the same interval.
    confidence_level : float

    Returns
    -------
    Agreement
        As :func:`fleiss_kappa`, the kappa's interval and method ``"cluster_bootstrap_percentile"``,
        ``se`` the bootstrap standard deviation. Resamples on which kappa is undefined (every label
        one category) are dropped and counted (``n_undefined_resamples``), with an
        ``undefined_resamples`` warning above 1% of them.

    Examples
    --------
    >>> r = [[1, 1, 1], [1, 1, 1], [0, 0, 0], [1, 0, 1], [0, 0, 0], [0, 0, 1], [1, 1, 1], [0, 0, 0]]
    >>> a = fleiss_kappa_clustered(r, ["p1", "p1", "p2", "p2", "p3", "p4", "p4", "p5"], n_resamples=500, seed=3)
    >>> round(a.kappa.value, 3), a.kappa.interval.method, a.n_clusters, a.kappa.interval.low < a.kappa.value
    (0.667, 'cluster_bootstrap_percentile', 5, True)
    """
    cl = check_confidence_level(confidence_level)
    n_resamples = _check_resampling(n_resamples)
    plain = fleiss_kappa(ratings, confidence_level=cl)
    codes, categories = _ratings(ratings, min_raters=2)
    n_subj, m = codes.shape
    k = max(len(categories), 1)
    counts = np.zeros((n_subj, k))
    np.add.at(counts, (np.repeat(np.arange(n_subj), m), codes.ravel()), 1)
    per_image = np.column_stack([np.ones(n_subj), (counts ** 2).sum(axis=1), counts])
    return _with_cluster_interval(plain, per_image, cluster, _fleiss_of(m, k), n_resamples, seed, cl,
                                  "Fleiss' kappa")


def cohens_kappa_clustered(rater_a: Any, rater_b: Any, cluster: Any, *, n_resamples: int = 2000, seed: Any = None,
                           confidence_level: float = 0.95) -> Agreement:
    """Cohen's kappa with a patient-clustered percentile bootstrap interval (several images per patient).

    The arguments and the result are those of :func:`fleiss_kappa_clustered`, with two raters' labels.

    Examples
    --------
    >>> a = cohens_kappa_clustered([1, 1, 0, 0, 1, 0, 1, 0], [1, 0, 0, 0, 1, 0, 1, 1], [1, 1, 2, 2, 3, 3, 4, 4],
    ...                            n_resamples=500, seed=3)
    >>> round(a.kappa.value, 3), a.kappa.method, a.n_resamples
    (0.5, 'cluster_bootstrap_percentile', 500)
    """
    cl = check_confidence_level(confidence_level)
    n_resamples = _check_resampling(n_resamples)
    plain = cohens_kappa(rater_a, rater_b, confidence_level=cl)
    codes, categories = _ratings(np.column_stack([np.asarray(rater_a), np.asarray(rater_b)]), min_raters=2)
    k = max(len(categories), 1)
    per_image = np.zeros((codes.shape[0], k * k))
    per_image[np.arange(codes.shape[0]), codes[:, 0] * k + codes[:, 1]] = 1.0
    return _with_cluster_interval(plain, per_image, cluster, _cohen_of(k), n_resamples, seed, cl, "Cohen's kappa")


__all__ = ["Agreement", "CLUSTER_METHOD", "COHEN_METHOD", "FLEISS_METHOD", "cohens_kappa", "cohens_kappa_clustered",
           "cohens_kappa_from_table", "fleiss_kappa", "fleiss_kappa_clustered"]
