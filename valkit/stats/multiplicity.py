"""Multiplicity adjustment for families of tests (e.g. one test per subgroup).

``holm``: Holm (1979) step-down, controls the family-wise error rate.
``bh``: Benjamini & Hochberg (1995) step-up, controls the false discovery rate
(independent or positively dependent tests).
The arithmetic is statsmodels' :func:`~statsmodels.stats.multitest.multipletests`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from valkit.stats.types import _clean
from valkit.stats.validation import StatsInputError, look_up_option

_METHODS = {"holm": "holm", "bh": "fdr_bh"}


@dataclass(frozen=True)
class MultiplicityResult:
    """Adjusted p-values (same order as given) and which hypotheses are rejected at ``alpha``."""

    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]
    method: str
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        return _clean(self.__dict__)


def adjust_p_values(p_values: Any, *, method: str = "holm", alpha: float = 0.05) -> MultiplicityResult:
    """Holm or Benjamini-Hochberg adjusted p-values.

    Examples
    --------
    >>> r = adjust_p_values([0.01, 0.04, 0.03, 0.005], method="holm")
    >>> [round(p, 3) for p in r.adjusted], r.reject
    ([0.03, 0.06, 0.06, 0.02], (True, False, False, True))
    >>> [round(p, 4) for p in adjust_p_values([0.01, 0.04, 0.03, 0.005], method="bh").adjusted]
    [0.02, 0.04, 0.04, 0.02]
    """
    sm_method = look_up_option(method, _METHODS, what="method")
    p = np.asarray(p_values, dtype=float).reshape(-1)
    if not 0 < float(alpha) < 1:
        raise StatsInputError(f"alpha: expected a level between 0 and 1, got {alpha!r}.")
    if p.size and (np.isnan(p).any() or p.min() < 0 or p.max() > 1):
        raise StatsInputError("p_values: every p-value must be a number in [0, 1]; drop not-estimable tests first.")
    if p.size == 0:
        return MultiplicityResult((), (), (), method, float(alpha))
    from statsmodels.stats.multitest import multipletests

    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=sm_method)
    return MultiplicityResult(tuple(p.tolist()), tuple(float(a) for a in adjusted),
                              tuple(bool(r) for r in reject), method, float(alpha))
