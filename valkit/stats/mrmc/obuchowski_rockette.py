"""Obuchowski-Rockette (OR) analysis with Hillis's denominator degrees of freedom.

Model (Obuchowski & Rockette 1995): the FOM of reader j under modality i is
``theta_ij = mu + tau_i + R_j + (tau R)_ij + e_ij`` with random reader and
reader x modality effects and errors whose covariance, across the case sample, is
``Var(e) = sigma^2`` (same reader, same modality), ``Cov1`` (same reader, different
modality), ``Cov2`` (different reader, same modality) and ``Cov3`` (different reader
and modality). The errors' variance and covariances are averaged from a covariance
matrix of the T x R FOMs (jackknife, DeLong or unbiased).

Three generalisations (Hillis 2007, Hillis, Obuchowski, Schartz & Berbaum 2005):

RRRC (random readers and cases)
    ``F = MS(T) / [MS(T*R) + r max(Cov2 - Cov3, 0)]`` on ``(t-1, ddf_H)`` degrees of
    freedom, ``ddf_H = [MS(T*R) + r max(Cov2 - Cov3, 0)]^2 / {MS(T*R)^2 / [(t-1)(r-1)]}``.
FRRC (fixed readers, random cases)
    ``X2 = (t-1) MS(T) / [sigma^2 - Cov1 + (r-1) max(Cov2 - Cov3, 0)]``, chi-square.
RRFC (random readers, fixed cases)
    ``F = MS(T) / MS(T*R)`` on ``(t-1, (t-1)(r-1))``: the paired t-test of the reader FOMs.

Conventions (see docs/reader-study.md): like the Iowa OR-DBM MRMC 2.51 and RJafroc,
the FRRC denominator truncates ``max(Cov2 - Cov3, 0)`` (``frrc_truncate=False`` gives
MRMCaov's untruncated form); variance components are not truncated (RJafroc truncates
Var(T*R) at 0); ``ddf="hillis"`` keeps the fractional ddf (``"hillis_floor"`` rounds
it down like iMRMC).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from valkit.stats.mrmc.design import CASES_NESTED_IN_MODALITY, CASES_NESTED_IN_READER
from valkit.stats.mrmc.options import NegativeVarianceWarning, look_up
from valkit.stats.types import Interval

DDF_METHODS = {"hillis": "hillis", "hillis_floor": "hillis_floor"}


@dataclass(frozen=True)
class CovarianceComponents:
    """OR error variance and covariances, and the reader variance components."""

    var_error: float
    cov1: float
    cov2: float
    cov3: float
    var_R: float
    var_TR: float

    def correlations(self) -> dict[str, float]:
        v = self.var_error
        return {k: (getattr(self, k) / v if v else math.nan) for k in ("cov1", "cov2", "cov3")}


@dataclass(frozen=True)
class Anova:
    """Modality x reader ANOVA of the FOMs (OR) with its mean squares."""

    ms_t: float
    ms_r: float
    ms_tr: float
    ss_t: float
    ss_r: float
    ss_tr: float
    df_t: int
    df_r: int
    df_tr: int


@dataclass(frozen=True)
class Difference:
    """A pairwise modality difference ``mod_i - mod_j`` with its test."""

    i: int
    j: int
    estimate: float
    se: float
    df: float  # inf for the normal (FRRC) reference distribution
    statistic: float
    p_value: float
    interval: Interval


@dataclass(frozen=True)
class ModalityEstimate:
    """Reader-averaged FOM of one modality with its CI (single-modality analysis)."""

    modality: int
    estimate: float
    se: float
    df: float
    interval: Interval
    ms_r: float
    cov2: float
    var_error: float


@dataclass(frozen=True)
class ReaderDifference:
    """Single-reader modality difference (fixed reader), Iowa's FRRC part (d)."""

    reader: int
    i: int
    j: int
    estimate: float
    se: float
    statistic: float
    p_value: float
    interval: Interval
    var_error: float
    cov1: float


@dataclass(frozen=True)
class ORTest:
    """One OR analysis (RRRC, FRRC or RRFC)."""

    analysis: str
    statistic: float  # F for RRRC/RRFC, X2 for FRRC
    df1: float
    df2: float  # inf for FRRC (chi-square)
    p_value: float
    denominator: float
    differences: tuple[Difference, ...]
    modalities: tuple[ModalityEstimate, ...]
    readers: tuple[ReaderDifference, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ORResult:
    """Obuchowski-Rockette analysis of one FOM with one covariance method."""

    fom: np.ndarray  # (T, R)
    covariance: np.ndarray  # (T*R, T*R)
    covariance_method: str
    design: str
    anova: Anova
    components: CovarianceComponents
    rrrc: ORTest  # with one modality: single-modality intervals only, statistic nan
    frrc: ORTest
    rrfc: ORTest
    alpha: float
    warnings: tuple[str, ...] = field(default_factory=tuple)


_SS_ROUNDOFF = 1e-24


def _or_anova(theta: np.ndarray) -> Anova:
    n_mod, n_rdr = theta.shape
    grand = theta.mean()
    m_t = theta.mean(axis=1)
    m_r = theta.mean(axis=0)
    ss_t = n_rdr * float(((m_t - grand) ** 2).sum())
    ss_r = n_mod * float(((m_r - grand) ** 2).sum())
    resid = theta - m_t[:, None] - m_r[None, :] + grand
    ss_tr = float((resid**2).sum())
    # sums of squares that are rounding noise (identical modalities, readers) are exact zeros
    ss_t, ss_r, ss_tr = (0.0 if v < _SS_ROUNDOFF else v for v in (ss_t, ss_r, ss_tr))
    df_t, df_r, df_tr = n_mod - 1, n_rdr - 1, (n_mod - 1) * (n_rdr - 1)
    return Anova(
        ms_t=ss_t / df_t if df_t else math.nan,
        ms_r=ss_r / df_r if df_r else math.nan,
        ms_tr=ss_tr / df_tr if df_tr else math.nan,
        ss_t=ss_t, ss_r=ss_r, ss_tr=ss_tr, df_t=df_t, df_r=df_r, df_tr=df_tr,
    )


def _mean_where(c: np.ndarray, mask: np.ndarray) -> float:
    return float(c[mask].mean()) if mask.any() else 0.0


def covariance_components(cov: np.ndarray, n_mod: int, n_rdr: int, design: str,
                          anova: Anova | None = None) -> CovarianceComponents:
    """Average a (T*R, T*R) covariance matrix into sigma^2, Cov1, Cov2, Cov3.

    Var(R) and Var(T*R) follow from the ANOVA mean squares (Hillis 2007, eq. 8):
    ``Var(R) = [MS(R) - MS(T*R)] / t - Cov1 + Cov3`` and
    ``Var(T*R) = MS(T*R) - sigma^2 + Cov1 + (Cov2 - Cov3)``.
    """
    c = cov.reshape(n_mod, n_rdr, n_mod, n_rdr)
    same_t = np.eye(n_mod, dtype=bool)[:, None, :, None]
    same_r = np.eye(n_rdr, dtype=bool)[None, :, None, :]
    shape = c.shape
    var_error = _mean_where(c, np.broadcast_to(same_t & same_r, shape))
    cov1 = _mean_where(c, np.broadcast_to(~same_t & same_r, shape))
    cov2 = _mean_where(c, np.broadcast_to(same_t & ~same_r, shape))
    cov3 = _mean_where(c, np.broadcast_to(~same_t & ~same_r, shape))
    if design == CASES_NESTED_IN_READER:
        cov2 = cov3 = 0.0
    elif design == CASES_NESTED_IN_MODALITY:
        cov1 = cov3 = 0.0
    if anova is None:
        var_r = var_tr = math.nan
    else:
        var_r = (anova.ms_r - anova.ms_tr) / n_mod - cov1 + cov3 if n_mod > 1 else anova.ms_r - var_error + cov2
        var_tr = anova.ms_tr - var_error + cov1 + (cov2 - cov3) if n_mod > 1 else math.nan
    return CovarianceComponents(var_error, cov1, cov2, cov3, var_r, var_tr)


_ROUNDOFF = 1e-14  # FOM variances are >= 1e-8 in practice; below this a negative is rounding


def _sqrt_or_nan(v: float, what: str, notes: list[str]) -> float:
    if v >= -_ROUNDOFF:
        return math.sqrt(max(v, 0.0))
    msg = f"{what}: the variance estimate is negative ({v:.6g}); standard error not estimable"
    notes.append(msg)
    warnings.warn(msg, NegativeVarianceWarning, stacklevel=3)
    return math.nan


def _t_interval(est: float, se: float, df: float, alpha: float, method: str) -> tuple[Interval, float, float]:
    # scipy.special ufuncs rather than scipy.stats distributions: same values, far less overhead
    q = float(special.ndtri(1 - alpha / 2) if math.isinf(df) else special.stdtrit(df, 1 - alpha / 2))
    if not (se > 0) or math.isnan(df):
        stat = math.nan if not se == 0 or est == 0 else math.copysign(math.inf, est)
        p = math.nan if math.isnan(stat) else 0.0
        lo = hi = est if se == 0 else math.nan
        return Interval(lo, hi, 1 - alpha, method), stat, p
    stat = est / se
    p = float(2 * (special.ndtr(-abs(stat)) if math.isinf(df) else special.stdtr(df, -abs(stat))))
    return Interval(est - q * se, est + q * se, 1 - alpha, method), stat, p


def _pairs(n_mod: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n_mod) for j in range(i + 1, n_mod)]


def _f_p(f: float, df1: float, df2: float) -> float:
    if math.isnan(f) or math.isnan(df2):
        return math.nan
    if math.isinf(df2):
        return float(special.chdtrc(df1, f))
    return float(special.fdtrc(df1, df2, f))


def or_analysis(
    theta: np.ndarray,
    cov: np.ndarray,
    *,
    design: str,
    covariance_method: str,
    alpha: float = 0.05,
    frrc_truncate: bool = True,
    ddf: str = "hillis",
    bounds: tuple[float, float] | None = (0.0, 1.0),
) -> ORResult:
    """Obuchowski-Rockette RRRC, FRRC and RRFC analyses of a T x R FOM table.

    Parameters
    ----------
    theta : ndarray, shape (T, R)
        FOM of each reader under each modality.
    cov : ndarray, shape (T*R, T*R)
        Error covariance matrix (groups ordered g = t * R + r).
    design : str
        One of :data:`valkit.stats.mrmc.design.DESIGNS`.
    covariance_method : str
        Label recorded in the result ("jackknife", "DeLong", "unbiased").
    alpha : float
        1 - confidence level of the intervals; the tests are two-sided at ``alpha``.
    frrc_truncate : bool
        Use ``max(Cov2 - Cov3, 0)`` in the FRRC denominator (Iowa, RJafroc; default)
        or the raw difference (MRMCaov).
    ddf : {"hillis", "hillis_floor"}
        Hillis's ddf as it is, or rounded down to an integer (iMRMC).
    bounds : (low, high) or None
        Range of the FOM; single-modality intervals are clipped to it (MRMCaov does
        this; the Iowa program does not). Differences are never clipped.

    Returns
    -------
    ORResult

    References
    ----------
    Obuchowski NA, Rockette HE (1995). Commun Stat Simul Comput 24:285-308.
    Hillis SL (2007). Stat Med 26:596-619. Hillis SL et al. (2005). Stat Med 24:1579-1607.
    """
    ddf_method = look_up(ddf, DDF_METHODS, what="ddf")
    theta = np.asarray(theta, dtype=float)
    n_mod, n_rdr = theta.shape
    notes: list[str] = []
    anova = _or_anova(theta)
    comps = covariance_components(cov, n_mod, n_rdr, design, anova)
    c4 = cov.reshape(n_mod, n_rdr, n_mod, n_rdr)
    for name in ("var_R", "var_TR"):
        v = getattr(comps, name)
        if v < 0:
            # an unbiased ANOVA estimate below zero is a valid estimate, not an error: it is
            # reported as it is and noted; no test or interval uses it (Python warnings are
            # kept for quantities that become not estimable)
            notes.append(f"{name}: the OR variance component estimate is negative ({v:.6g}); "
                         "reported as estimated (ANOVA estimates can be negative)")

    # single-modality quantities
    off = ~np.eye(n_rdr, dtype=bool)
    mod_ms_r, mod_cov2, mod_var = [], [], []
    for t in range(n_mod):
        block = c4[t, :, t, :]
        mod_ms_r.append(float(theta[t].var(ddof=1)))
        mod_cov2.append(0.0 if design == CASES_NESTED_IN_READER else float(block[off].mean()))
        mod_var.append(float(np.diag(block).mean()))
    mod_means = theta.mean(axis=1)

    def clip(iv: Interval) -> Interval:
        if bounds is None or math.isnan(iv.low):
            return iv
        return Interval(min(max(iv.low, bounds[0]), bounds[1]), min(max(iv.high, bounds[0]), bounds[1]),
                        iv.confidence_level, iv.method)

    def floor_ddf(x: float) -> float:
        return math.floor(x) if ddf_method == "hillis_floor" and math.isfinite(x) else x

    # ---- RRRC
    rrrc_mods = []
    for t in range(n_mod):
        msr, c2 = mod_ms_r[t], mod_cov2[t]
        var = msr / n_rdr + max(c2, 0.0)
        se = math.sqrt(var)
        df = floor_ddf((msr + n_rdr * max(c2, 0.0)) ** 2 / (msr**2 / (n_rdr - 1))) if msr > 0 else math.inf
        iv, _, _ = _t_interval(float(mod_means[t]), se, df, alpha, "OR RRRC (Hillis ddf)")
        iv = clip(iv)
        rrrc_mods.append(ModalityEstimate(t, float(mod_means[t]), se, df, iv, msr, c2, mod_var[t]))
    frrc_mods, rrfc_mods = [], []
    for t in range(n_mod):
        msr, c2, v = mod_ms_r[t], mod_cov2[t], mod_var[t]
        se_f = _sqrt_or_nan((v + (n_rdr - 1) * max(c2, 0.0)) / n_rdr, f"FRRC modality {t + 1}", notes)
        iv, _, _ = _t_interval(float(mod_means[t]), se_f, math.inf, alpha, "OR FRRC (normal)")
        iv = clip(iv)
        frrc_mods.append(ModalityEstimate(t, float(mod_means[t]), se_f, math.inf, iv, msr, c2, v))
        se_c = math.sqrt(msr / n_rdr)
        iv, _, _ = _t_interval(float(mod_means[t]), se_c, n_rdr - 1, alpha, "OR RRFC (t, r-1 df)")
        iv = clip(iv)
        rrfc_mods.append(ModalityEstimate(t, float(mod_means[t]), se_c, n_rdr - 1, iv, msr, 0.0, v))

    if n_mod >= 2:
        dc = max(comps.cov2 - comps.cov3, 0.0)
        den = anova.ms_tr + n_rdr * dc
        f = anova.ms_t / den if den > 0 else (math.nan if anova.ms_t == 0 else math.inf)
        ddf_h = floor_ddf(den**2 / (anova.ms_tr**2 / anova.df_tr)) if anova.ms_tr > 0 else math.inf
        diffs = []
        for i, j in _pairs(n_mod):
            est = float(mod_means[i] - mod_means[j])
            se = math.sqrt(2.0 / n_rdr * den)
            iv, st, p = _t_interval(est, se, ddf_h, alpha, "OR RRRC (Hillis ddf)")
            diffs.append(Difference(i, j, est, se, ddf_h, st, p, iv))
        rrrc = ORTest("RRRC", f, anova.df_t, ddf_h, _f_p(f, anova.df_t, ddf_h), den,
                      tuple(diffs), tuple(rrrc_mods))

        # ---- FRRC
        dcf = dc if frrc_truncate else comps.cov2 - comps.cov3
        fnotes: list[str] = []
        den_f = comps.var_error - comps.cov1 + (n_rdr - 1) * dcf
        if den_f > 0:
            x2 = anova.df_t * anova.ms_t / den_f
        else:
            x2 = math.nan if anova.ms_t == 0 or den_f < -_ROUNDOFF else math.inf
            _sqrt_or_nan(den_f, "FRRC denominator", fnotes)
        diffs = []
        for i, j in _pairs(n_mod):
            est = float(mod_means[i] - mod_means[j])
            se = math.sqrt(2.0 / n_rdr * max(den_f, 0.0)) if den_f >= -_ROUNDOFF else math.nan
            iv, st, p = _t_interval(est, se, math.inf, alpha, "OR FRRC (normal)")
            diffs.append(Difference(i, j, est, se, math.inf, st, p, iv))
        readers = []
        for r in range(n_rdr):
            block = c4[:, r, :, r]
            v_r = float(np.diag(block).mean())
            c1_r = 0.0 if design == CASES_NESTED_IN_MODALITY else float(block[~np.eye(n_mod, dtype=bool)].mean())
            se = _sqrt_or_nan(2.0 * (v_r - c1_r), f"FRRC reader {r + 1} difference", fnotes)
            for i, j in _pairs(n_mod):
                est = float(theta[i, r] - theta[j, r])
                iv, st, p = _t_interval(est, se, math.inf, alpha, "OR FRRC single reader (normal)")
                readers.append(ReaderDifference(r, i, j, est, se, st, p, iv, v_r, c1_r))
        notes.extend(fnotes)
        frrc = ORTest("FRRC", x2, anova.df_t, math.inf, _f_p(x2, anova.df_t, math.inf), den_f,
                      tuple(diffs), tuple(frrc_mods), tuple(readers), tuple(fnotes))

        # ---- RRFC
        f_c = anova.ms_t / anova.ms_tr if anova.ms_tr > 0 else (math.nan if anova.ms_t == 0 else math.inf)
        diffs = []
        for i, j in _pairs(n_mod):
            est = float(mod_means[i] - mod_means[j])
            se = math.sqrt(2.0 / n_rdr * anova.ms_tr)
            iv, st, p = _t_interval(est, se, anova.df_tr, alpha, "OR RRFC (t)")
            diffs.append(Difference(i, j, est, se, anova.df_tr, st, p, iv))
        rrfc = ORTest("RRFC", f_c, anova.df_t, anova.df_tr, _f_p(f_c, anova.df_t, anova.df_tr),
                      anova.ms_tr, tuple(diffs), tuple(rrfc_mods))
    else:  # one modality: no comparison, only the single-modality intervals
        nan = math.nan
        rrrc = ORTest("RRRC", nan, 0, nan, nan, nan, (), tuple(rrrc_mods))
        frrc = ORTest("FRRC", nan, 0, math.inf, nan, nan, (), tuple(frrc_mods))
        rrfc = ORTest("RRFC", nan, 0, nan, nan, nan, (), tuple(rrfc_mods))
    return ORResult(
        fom=theta, covariance=cov, covariance_method=covariance_method, design=design,
        anova=anova, components=comps, rrrc=rrrc, frrc=frrc, rrfc=rrfc, alpha=alpha,
        warnings=tuple(notes),
    )
