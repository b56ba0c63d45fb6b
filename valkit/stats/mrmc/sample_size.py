"""Power and sample size of a planned two-modality MRMC study from pilot OR components.

Hillis, Obuchowski & Berbaum (2011) and Hillis & Obuchowski: the error variance and
covariances of a FOM estimated on ``c*`` pilot cases scale as ``c* / c`` for a study with
``c`` cases, while Var(T*R) does not depend on the cases. With ``r`` readers and a true
difference ``d`` between the two modalities, the OR RRRC test statistic follows a
non-central F with::

    den  = max(Var(T*R), 0) + (c*/c) [sigma^2 - Cov1 + (r - 1) max(Cov2 - Cov3, 0)]
    ncp  = r d^2 / (2 den)
    ddf  = den^2 / {[max(Var(T*R), 0) + (c*/c) (sigma^2 - Cov1 - max(Cov2 - Cov3, 0))]^2 / (r - 1)}

power = P(F(1, ddf, ncp) > F_{1-alpha}(1, ddf)). For fixed readers (FRRC) the denominator
drops Var(T*R) and the reference distribution is chi-square with 1 df (as the FRRC test
of the analysis; ``frrc_ddf="cases"`` uses F(1, c - 1) like RJafroc); for fixed cases
(RRFC) it is ``max(Var(T*R), 0) + (c*/c)(sigma^2 - Cov1 - max(Cov2 - Cov3, 0))`` on
r - 1 df. Negative Var(T*R) and Cov2 - Cov3 are truncated at 0, as in RJafroc's
``SsPowerGivenJK``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from valkit.stats.mrmc.obuchowski_rockette import CovarianceComponents
from valkit.stats.mrmc.options import MRMCInputError, look_up

ANALYSES = {"RRRC": "RRRC", "FRRC": "FRRC", "RRFC": "RRFC"}
_FRRC_DDF = {"chisq": "chisq", "cases": "cases"}


@dataclass(frozen=True)
class PowerResult:
    """Power of a planned study."""

    power: float
    n_readers: int
    n_cases: int
    effect: float
    ncp: float
    df1: float
    ddf: float  # inf for a chi-square reference
    critical_value: float
    analysis: str
    alpha: float


def or_power(
    effect: float,
    components: CovarianceComponents,
    *,
    n_readers: int,
    n_cases: int,
    pilot_n_cases: int,
    alpha: float = 0.05,
    analysis: str = "RRRC",
    frrc_ddf: str = "chisq",
) -> PowerResult:
    """Power of the two-modality OR test for ``n_readers`` readers and ``n_cases`` cases.

    Parameters
    ----------
    effect : float
        Difference in FOM (e.g. AUC) to detect; its sign does not matter.
    components : CovarianceComponents
        Pilot OR variance components (``ORResult.components`` of a pilot analysis).
    n_readers, n_cases : int
        Planned study size (cases of both classes together, in the pilot's proportion).
    pilot_n_cases : int
        Number of cases in the pilot study the components come from.
    analysis : {"RRRC", "FRRC", "RRFC"}

    Examples
    --------
    >>> comps = CovarianceComponents(var_error=8e-4, cov1=3.5e-4, cov2=3.4e-4, cov3=2.4e-4,
    ...                              var_R=1.5e-3, var_TR=2e-4)
    >>> p = or_power(0.05, comps, n_readers=10, n_cases=200, pilot_n_cases=114)
    >>> 0 < p.power < 1, p.analysis
    (True, 'RRRC')
    """
    kind = look_up(analysis, ANALYSES, what="analysis")
    ddf_kind = look_up(frrc_ddf, _FRRC_DDF, what="frrc_ddf")
    if n_readers < 2 or n_cases < 2 or pilot_n_cases < 2:
        raise MRMCInputError("n_readers, n_cases and pilot_n_cases must each be at least 2.")
    if not 0 < alpha < 1:
        raise MRMCInputError(f"alpha: expected a number strictly between 0 and 1, got {alpha!r}.")
    r, c = int(n_readers), int(n_cases)
    scale = pilot_n_cases / c
    var_tr = max(components.var_TR, 0.0)
    dc = max(components.cov2 - components.cov3, 0.0)
    err_num = scale * (components.var_error - components.cov1 + (r - 1) * dc)
    err_tr = scale * (components.var_error - components.cov1 - dc)
    if kind == "RRRC":
        den = var_tr + err_num
        ddf = den**2 / ((var_tr + err_tr) ** 2 / (r - 1))
    elif kind == "FRRC":
        den = err_num
        ddf = math.inf if ddf_kind == "chisq" else float(c - 1)
    else:
        den = var_tr + err_tr
        ddf = float(r - 1)
    if not den > 0:
        raise MRMCInputError(
            f"components: the {kind} error term for {r} readers and {c} cases is {den:.4g} (not > 0); "
            "power is undefined. Check the pilot components.")
    ncp = r * effect**2 / (2.0 * den)
    if math.isinf(ddf):
        crit = float(stats.chi2.ppf(1 - alpha, 1))
        power = float(stats.ncx2.sf(crit, 1, ncp))
    else:
        crit = float(stats.f.ppf(1 - alpha, 1, ddf))
        # scipy's ncf.sf is wrong at ncp == 0 exactly (returns sf - 1); use the central F there
        power = float(stats.ncf.sf(crit, 1, ddf, ncp) if ncp > 0 else stats.f.sf(crit, 1, ddf))
    return PowerResult(power, r, c, float(effect), ncp, 1.0, ddf, crit, kind, alpha)


def or_sample_size(
    effect: float,
    components: CovarianceComponents,
    *,
    n_readers: int,
    pilot_n_cases: int,
    power: float = 0.8,
    alpha: float = 0.05,
    analysis: str = "RRRC",
    max_cases: int = 1_000_000,
    frrc_ddf: str = "chisq",
) -> PowerResult | None:
    """Smallest number of cases giving at least ``power`` with ``n_readers`` readers.

    Returns ``None`` when even ``max_cases`` cases do not reach it (with random readers,
    Var(T*R) caps the power a study with few readers can have).

    Examples
    --------
    >>> comps = CovarianceComponents(8e-4, 3.5e-4, 3.4e-4, 2.4e-4, 1.5e-3, 2e-4)
    >>> res = or_sample_size(0.05, comps, n_readers=10, pilot_n_cases=114)
    >>> res.power >= 0.8 > or_power(0.05, comps, n_readers=10, n_cases=res.n_cases - 1,
    ...                             pilot_n_cases=114).power
    True
    """
    def pw(c: int) -> float:
        return or_power(effect, components, n_readers=n_readers, n_cases=c, pilot_n_cases=pilot_n_cases,
                        alpha=alpha, analysis=analysis, frrc_ddf=frrc_ddf).power

    if pw(max_cases) < power:
        return None
    lo, hi = 2, max_cases
    if pw(lo) >= power:
        hi = lo
    while hi - lo > 1:  # power increases with the number of cases
        mid = (lo + hi) // 2
        if pw(mid) >= power:
            hi = mid
        else:
            lo = mid
    return or_power(effect, components, n_readers=n_readers, n_cases=hi, pilot_n_cases=pilot_n_cases,
                    alpha=alpha, analysis=analysis, frrc_ddf=frrc_ddf)


def power_table(
    effect: float,
    components: CovarianceComponents,
    *,
    pilot_n_cases: int,
    readers=range(3, 21),
    power: float = 0.8,
    alpha: float = 0.05,
    analysis: str = "RRRC",
    max_cases: int = 100_000,
) -> tuple[PowerResult | None, ...]:
    """Readers x cases trade-off: the smallest case count for each number of readers."""
    return tuple(
        or_sample_size(effect, components, n_readers=r, pilot_n_cases=pilot_n_cases, power=power,
                       alpha=alpha, analysis=analysis, max_cases=max_cases)
        for r in readers
    )
