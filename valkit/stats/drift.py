"""Score-distribution drift between two sets of scores: population stability index and KS test.

* :func:`population_stability_index` (PSI): with ``r_i`` and ``c_i`` the proportions of the
  reference and the current scores in bin ``i``::

      PSI = sum_i (c_i - r_i) * ln(c_i / r_i)

  **Binning** (fixed here so that every valkit report means the same thing): ``bins`` bins
  of equal reference count, i.e. the edges are the reference scores' ``k/bins`` quantiles
  (numpy's default linear interpolation), repeated edges merged (heavily tied scores give
  fewer bins), the outer bins open to -inf and +inf, each bin closed on the right
  (``edge_{i-1} < x <= edge_i``). A proportion of 0 is replaced by ``1e-4`` so that the
  logarithm is defined. Rule of thumb (Siddiqi 2006): below 0.10 no material shift, 0.10 to
  0.25 moderate, above 0.25 major.
* :func:`ks_two_sample`: the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``,
  exact p for small samples, asymptotic otherwise). It assumes two independent samples; for
  the same cases scored by two model versions (positively correlated scores) its p-value is
  conservative, so read it as descriptive.

References: Siddiqi N (2006). Credit Risk Scorecards. Wiley, ch. 8; Yurdakul B (2018).
Statistical properties of population stability index. PhD thesis, Western Michigan University;
Massey FJ (1951). The Kolmogorov-Smirnov test for goodness of fit. JASA 46:68-78.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from valkit.stats.types import TestResult, _clean
from valkit.stats.validation import StatsInputError, as_scores, not_estimable

#: floor for an empty bin's proportion (the logarithm of 0 is undefined)
PSI_FLOOR = 1e-4
PSI_BANDS = ((0.10, "no material shift"), (0.25, "moderate shift"), (math.inf, "major shift"))


@dataclass(frozen=True)
class PopulationStability:
    """PSI with its bins: ``edges`` (inner edges), ``reference`` and ``current`` proportions per bin."""

    value: float
    edges: tuple[float, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    n_reference: int
    n_current: int
    band: str
    method: str = "psi_reference_quantiles_10"
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _clean({"value": self.value, "edges": list(self.edges), "reference": list(self.reference),
                       "current": list(self.current), "n_reference": self.n_reference,
                       "n_current": self.n_current, "band": self.band, "method": self.method,
                       "warnings": list(self.warnings)})


def psi_band(value: float) -> str:
    """The rule-of-thumb reading of a PSI value.

    >>> psi_band(0.05), psi_band(0.2), psi_band(0.4)
    ('no material shift', 'moderate shift', 'major shift')
    """
    if not math.isfinite(value):
        return "not estimable"
    return next(word for limit, word in PSI_BANDS if value < limit)


def population_stability_index(reference: Any, current: Any, *, bins: int = 10) -> PopulationStability:
    """Population stability index of ``current`` scores against ``reference`` scores.

    Parameters
    ----------
    reference, current : arrays of float
        E.g. the cleared version's scores (reference) and the new version's (current).
    bins : int
        Number of equal-count bins of the reference scores (default 10, deciles).

    Examples
    --------
    >>> r = population_stability_index(np.arange(100) / 100, np.arange(100) / 100)
    >>> r.value, len(r.reference)
    (0.0, 10)
    >>> shifted = population_stability_index(np.arange(100) / 100, np.arange(100) / 100 + 0.3)
    >>> round(shifted.value, 3), shifted.band
    (2.486, 'major shift')
    """
    if not isinstance(bins, (int, np.integer)) or bins < 2:
        raise StatsInputError(f"bins: expected an integer >= 2 (e.g. 10), got {bins!r}.")
    r, c = as_scores(reference, name="reference"), as_scores(current, name="current")
    method = f"psi_reference_quantiles_{int(bins)}"
    if len(r) == 0 or len(c) == 0:
        w = not_estimable("empty", "PSI needs scores in both samples.")
        return PopulationStability(math.nan, (), (), (), len(r), len(c), "not estimable", method, (w,))
    edges = np.unique(np.quantile(r, np.arange(1, bins) / bins))
    pr = np.bincount(np.searchsorted(edges, r, side="left"), minlength=len(edges) + 1) / len(r)
    pc = np.bincount(np.searchsorted(edges, c, side="left"), minlength=len(edges) + 1) / len(c)
    fr, fc = np.maximum(pr, PSI_FLOOR), np.maximum(pc, PSI_FLOOR)
    value = float(np.sum((fc - fr) * np.log(fc / fr)))
    return PopulationStability(value, tuple(map(float, edges)), tuple(map(float, pr)), tuple(map(float, pc)),
                               len(r), len(c), psi_band(value), method)


def ks_two_sample(reference: Any, current: Any) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test that two score samples share one distribution.

    ``statistic`` is D = max |F_reference - F_current|; ``difference`` is the signed difference
    at that point (``current`` minus ``reference``; scipy's ``statistic_sign``), so a negative value
    means the current scores lie higher; two-sided p-value.

    >>> t = ks_two_sample([0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8])
    >>> t.statistic, round(t.p_value, 4)
    (1.0, 0.0286)
    """
    from scipy.stats import ks_2samp

    r, c = as_scores(reference, name="reference"), as_scores(current, name="current")
    if len(r) == 0 or len(c) == 0:
        w = not_estimable("empty", "the KS test needs scores in both samples.")
        return TestResult(math.nan, math.nan, None, None, "ks_two_sample", None, (w,))
    res = ks_2samp(r, c)
    sign = float(getattr(res, "statistic_sign", 1))
    return TestResult(float(res.statistic), float(res.pvalue), -sign * float(res.statistic), None, "ks_two_sample")


__all__ = ["PSI_FLOOR", "PopulationStability", "ks_two_sample", "population_stability_index", "psi_band"]
