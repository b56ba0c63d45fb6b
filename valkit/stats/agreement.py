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
patient the intervals are somewhat too narrow (said in the report).

References: Cohen J (1960) Educ Psychol Meas 20:37-46. Fleiss JL, Cohen J, Everitt BS (1969)
Psychol Bull 72:323-327. Fleiss JL (1971) Psychol Bull 76:378-382. Fleiss JL, Nee JCM, Landis JR
(1979) Psychol Bull 86:974-977.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from valkit.stats.intervals import proportion_interval
from valkit.stats.types import Estimate, Interval, _clean
from valkit.stats.validation import StatsInputError, check_confidence_level, not_estimable

COHEN_METHOD = "cohen_fleiss_cohen_everitt_1969"
FLEISS_METHOD = "fleiss_nee_landis_1979_null_se"


@dataclass(frozen=True)
class Agreement:
    """Chance-corrected agreement of ``n_raters`` raters over ``n_subjects`` subjects.

    ``kappa``: the coefficient with its Wald interval (``n`` = subjects). ``percent_agreement``:
    subjects on which every rater agreed, as a proportion with its Wilson interval.
    ``observed``/``expected``: the agreement observed and expected by chance (for Fleiss' kappa
    the mean agreement over all pairs of raters). ``se``: the standard error the interval used.
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


__all__ = ["Agreement", "COHEN_METHOD", "FLEISS_METHOD", "cohens_kappa", "cohens_kappa_from_table", "fleiss_kappa"]
