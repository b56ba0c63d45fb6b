"""A standalone model compared with the readers, and a test-vs-reference verdict.

Model vs readers
    The model is one more "reader" whose FOM has no reader-to-reader variability: a
    fixed reader. For each modality, the differences ``D_j = theta_model - theta_j``
    over the r readers are analysed with the single-treatment Obuchowski-Rockette
    model (the approach of Hillis for standalone CAD vs radiologists, implemented as
    RJafroc's ``StSignificanceTestingCadVsRad(method = "1T-RRRC")``)::

        se^2 = MS_R(D) / r + max(Cov2_D, 0)
        df   = [MS_R(D) + r max(Cov2_D, 0)]^2 / [MS_R(D)^2 / (r - 1)]

    where ``MS_R(D)`` is the variance of the reader FOMs and ``Cov2_D`` the mean error
    covariance of two different readers' differences, from the same covariance
    estimator as the main analysis applied to the readers plus the model. FRRC (readers
    fixed: normal, ``se^2 = [Var_D + (r-1) Cov2_D] / r``) and RRFC (cases fixed:
    t on r-1 df) are reported too.
Margin verdict
    Test modality minus reference modality with its RRRC interval; *superior* when
    the lower bound exceeds 0, *non-inferior* when it exceeds ``-margin``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from valkit.stats.mrmc.covariance import delong_covariance, unbiased_covariance
from valkit.stats.mrmc.obuchowski_rockette import Difference, _sqrt_or_nan, _t_interval
from valkit.stats.mrmc.options import MRMCInputError
from valkit.stats.types import Interval


@dataclass(frozen=True)
class ModelComparison:
    """Model minus the reader average under one modality."""

    modality: int
    model_fom: float
    readers_fom: float
    rrrc: Difference
    frrc: Difference
    rrfc: Difference
    cov2_diff: float
    var_diff: float
    var_model: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class MarginVerdict:
    """Test modality vs reference modality against a non-inferiority margin."""

    test: int
    reference: int
    difference: Difference  # test - reference, RRRC
    margin: float
    p_noninferiority: float  # one-sided, H0: diff <= -margin
    superior: bool
    noninferior: bool

    @property
    def verdict(self) -> str:
        if self.superior:
            return "superior"
        if self.noninferior:
            return "non-inferior"
        return "non-inferiority not shown"


def model_vs_readers(
    ratings: np.ndarray,
    truth: np.ndarray,
    model_scores: np.ndarray,
    *,
    fom_jackknife,
    covariance: str,
    alpha: float = 0.05,
) -> tuple[ModelComparison, ...]:
    """Compare the model with the readers of each modality.

    Parameters
    ----------
    ratings : ndarray (T, R, C); truth : ndarray (C,); model_scores : ndarray (C,)
    fom_jackknife : callable
        ``f(ratings (1, G, C), truth) -> FomJackknife`` (the FOM of the main analysis).
    covariance : {"jackknife", "DeLong", "unbiased"}

    Examples
    --------
    >>> from valkit.stats.mrmc.fom import auc_jackknife
    >>> rng = np.random.default_rng(2)
    >>> truth = np.repeat([False, True], 25)
    >>> r = truth + rng.normal(size=(2, 4, 50))
    >>> out = model_vs_readers(r, truth, 2 * truth + rng.normal(size=50),
    ...                        fom_jackknife=auc_jackknife, covariance="jackknife")
    >>> len(out), bool(out[0].rrrc.interval.contains(out[0].rrrc.estimate))
    (2, True)
    """
    x = np.asarray(ratings, dtype=float)
    m = np.asarray(model_scores, dtype=float)
    if m.shape != (x.shape[2],) or not np.all(np.isfinite(m)):
        raise MRMCInputError(
            f"model_scores: expected one finite score per case ({x.shape[2]}), got shape {m.shape}."
        )
    n_mod, n_rdr, n_cases = x.shape
    out = []
    for t in range(n_mod):
        arr = np.concatenate([x[t], m[None, :]], axis=0)[None]  # (1, R+1, C)
        jk = fom_jackknife(arr, truth)
        if covariance == "jackknife":
            cov = jk.covariance()
        elif covariance == "DeLong":
            cov = delong_covariance(arr, truth)
        else:
            cov = unbiased_covariance(arr, truth)
        theta = jk.values[0]
        th_r, th_m = theta[:n_rdr], float(theta[n_rdr])
        c_rr = cov[:n_rdr, :n_rdr]
        c_rm = cov[:n_rdr, n_rdr]
        v_m = float(cov[n_rdr, n_rdr])
        # covariance matrix of D_j = theta_m - theta_j
        c_d = v_m - c_rm[:, None] - c_rm[None, :] + c_rr
        off = ~np.eye(n_rdr, dtype=bool)
        cov2_d = float(c_d[off].mean())
        var_d = float(np.diag(c_d).mean())
        ms_r = float(th_r.var(ddof=1))
        est = th_m - float(th_r.mean())
        notes: list[str] = []
        se = math.sqrt(ms_r / n_rdr + max(cov2_d, 0.0))
        df = (ms_r + n_rdr * max(cov2_d, 0.0)) ** 2 / (ms_r**2 / (n_rdr - 1)) if ms_r > 0 else math.inf
        iv, st, p = _t_interval(est, se, df, alpha, "model vs readers, 1T-RRRC (Hillis ddf)")
        rrrc = Difference(n_mod, t, est, se, df, st, p, iv)
        se_f = _sqrt_or_nan((var_d + (n_rdr - 1) * cov2_d) / n_rdr, f"model vs modality {t + 1} (FRRC)", notes)
        iv, st, p = _t_interval(est, se_f, math.inf, alpha, "model vs readers, FRRC (normal)")
        frrc = Difference(n_mod, t, est, se_f, math.inf, st, p, iv)
        se_c = math.sqrt(ms_r / n_rdr)
        iv, st, p = _t_interval(est, se_c, n_rdr - 1, alpha, "model vs readers, RRFC (t, r-1 df)")
        rrfc = Difference(n_mod, t, est, se_c, n_rdr - 1, st, p, iv)
        out.append(ModelComparison(t, th_m, float(th_r.mean()), rrrc, frrc, rrfc, cov2_d, var_d, v_m,
                                   tuple(notes)))
    return tuple(out)


def margin_verdict(difference: Difference, *, test: int, reference: int, margin: float,
                   alpha: float) -> MarginVerdict:
    """Superiority / non-inferiority verdict on the lower bound of a two-sided 1-alpha CI.

    ``difference`` must be test - reference (swap and negate beforehand if needed).

    Examples
    --------
    >>> d = Difference(0, 1, 0.02, 0.01, 20.0, 2.0, 0.06, Interval(-0.0009, 0.0409, 0.95, "x"))
    >>> v = margin_verdict(d, test=0, reference=1, margin=0.05, alpha=0.05)
    >>> v.verdict, v.superior
    ('non-inferior', False)
    """
    if not (margin >= 0 and math.isfinite(margin)):
        raise MRMCInputError(f"margin: expected a finite number >= 0 (e.g. 0.05), got {margin!r}.")
    lo = difference.interval.low
    if difference.se > 0 and not math.isnan(difference.df):
        z = (difference.estimate + margin) / difference.se
        sf = stats.norm.sf(z) if math.isinf(difference.df) else stats.t.sf(z, difference.df)
        p_ni = float(sf)
    else:
        p_ni = math.nan
    return MarginVerdict(test, reference, difference, float(margin), p_ni,
                         superior=bool(lo > 0), noninferior=bool(lo > -margin))


def negate(d: Difference) -> Difference:
    """The same comparison the other way round (j - i)."""
    iv = Interval(-d.interval.high, -d.interval.low, d.interval.confidence_level, d.interval.method)
    return Difference(d.j, d.i, -d.estimate, d.se, d.df, -d.statistic, d.p_value, iv)
