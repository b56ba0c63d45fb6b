"""One call for a whole MRMC analysis: FOM, covariance, OR (RRRC/FRRC/RRFC) and DBM.

:func:`mrmc_analysis` takes the rating array ``(T, R, C)`` and the case truth and
returns an :class:`MRMCAnalysis`, whose :meth:`~MRMCAnalysis.to_flat_dict` names every
number the way the reference tables do (``auc.reader1.mod1``,
``or.jackknife.RRRC.F``, ``dbm.MS.TR``; modalities and readers numbered from 1 in the
order of the array axes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valkit.stats.mrmc.binormal import BINORMAL_FITS, binormal_jackknife
from valkit.stats.mrmc.covariance import delong_covariance, unbiased_covariance
from valkit.stats.mrmc.dbm import DBMResult, dbm_analysis
from valkit.stats.mrmc.design import FACTORIAL, check_arrays, resolve_design
from valkit.stats.mrmc.fom import FomJackknife, auc_jackknife, binary_jackknife
from valkit.stats.mrmc.obuchowski_rockette import ORResult, ORTest, or_analysis
from valkit.stats.mrmc.options import MRMCInputError, look_up

FOMS = ("auc", "sensitivity", "specificity", "binormal")
_FOM_OPTIONS = {name: name for name in FOMS}
# option value -> label used in keys and reports
COVARIANCES = {"jackknife": "jackknife", "delong": "DeLong", "unbiased": "unbiased"}
_BINORMAL_FITS = {name: name for name in BINORMAL_FITS}


@dataclass(frozen=True)
class MRMCAnalysis:
    """Everything one MRMC analysis computed; see :func:`mrmc_analysis`."""

    jackknife: FomJackknife
    design: str
    covariance: str  # key label: "jackknife", "DeLong", "unbiased"
    obuchowski_rockette: ORResult
    dbm: DBMResult | None
    threshold: float | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fom(self) -> np.ndarray:
        """FOM table, shape (T, R)."""
        return self.jackknife.values

    @property
    def fom_name(self) -> str:
        return self.jackknife.name

    def to_flat_dict(self) -> dict[str, Any]:
        """Flat ``{key: number}``; see docs/reader-study.md for the key grammar."""
        return flat_keys(self)


def fom_jackknife(ratings: np.ndarray, truth: np.ndarray, *, fom: str, threshold: float | None,
                  binormal_fit: str = "limit") -> FomJackknife:
    """Dispatch to the FOM's jackknife (arrays already checked)."""
    name = look_up(fom, _FOM_OPTIONS, what="fom")
    if name in ("sensitivity", "specificity"):
        if threshold is None or not math.isfinite(float(threshold)):
            raise MRMCInputError(
                f"threshold: fom={name!r} needs a rating threshold (a case is called positive "
                f"when rating >= threshold), got {threshold!r}. Fix: pass threshold=3 (on the command line: --threshold 3)."
            )
        return binary_jackknife(ratings, truth, threshold=float(threshold), which=name)
    if name == "binormal":
        return binormal_jackknife(ratings, truth, fit=look_up(binormal_fit, _BINORMAL_FITS, what="binormal_fit"))
    return auc_jackknife(ratings, truth)


def mrmc_analysis(
    ratings,
    truth,
    *,
    fom: str = "auc",
    threshold: float | None = None,
    covariance: str = "jackknife",
    design: str = "auto",
    alpha: float = 0.05,
    frrc_truncate: bool = True,
    ddf: str = "hillis",
    binormal_fit: str = "limit",
) -> MRMCAnalysis:
    """Multi-reader multi-case analysis of a rating array.

    Parameters
    ----------
    ratings : array_like, shape (T, R, C)
        Rating of case c by reader r under modality t; ``nan`` where not read
        (only in the nested designs). Higher = more likely positive.
    truth : array_like, shape (C,)
        1 for a positive (diseased) case, 0 for a negative one.
    fom : {"auc", "sensitivity", "specificity", "binormal"}
        Figure of merit: empirical (trapezoidal) AUC, sensitivity or specificity of the
        rule ``rating >= threshold``, or the binormal maximum-likelihood AUC.
    threshold : float, optional
        Required for sensitivity and specificity.
    covariance : {"jackknife", "delong", "unbiased"}
        Estimator of the FOM error covariance (DeLong and unbiased: empirical AUC only).
    design : {"auto", "factorial", "cases_nested_in_reader", "cases_nested_in_modality"}
        "auto" reads the design off the pattern of missing ratings.
    alpha : float
        Two-sided level; intervals are 1 - alpha.
    frrc_truncate, ddf
        Convention options, see :func:`~valkit.stats.mrmc.obuchowski_rockette.or_analysis`.
    binormal_fit : {"limit", "mrmcaov"}
        fom="binormal" only. "limit" (default): maximum-likelihood fit, and the limit of
        the AUC where the likelihood has no finite maximum (b -> 0 or infinity).
        "mrmcaov": MRMCaov's fitting procedure emulated step for step, whose AUC on such
        a boundary fit is where its trust-region optimiser stops; reproduces MRMCaov's
        published binormal analyses. See :func:`~valkit.stats.mrmc.binormal.binormal_jackknife`.

    Returns
    -------
    MRMCAnalysis

    Examples
    --------
    Four readers of differing skill, two modalities, 40 cases:

    >>> rng = np.random.default_rng(0)
    >>> truth = np.repeat([0, 1], 20)
    >>> skill = rng.uniform(0.5, 3, size=(1, 4, 1)) * rng.uniform(0.7, 1.3, size=(2, 4, 1))
    >>> ratings = truth * skill + rng.normal(size=(2, 4, 40))
    >>> res = mrmc_analysis(ratings, truth)
    >>> res.fom.shape, res.design
    ((2, 4), 'factorial')
    >>> flat = res.to_flat_dict()
    >>> 0 <= flat["or.jackknife.RRRC.p"] <= 1
    True
    """
    r, t = check_arrays(ratings, truth)
    if not 0 < float(alpha) < 1:
        raise MRMCInputError(f"alpha: expected a number strictly between 0 and 1, got {alpha!r}.")
    if r.shape[1] < 2:
        raise MRMCInputError(
            f"ratings: an MRMC analysis needs at least 2 readers per modality, got {r.shape[1]}. "
            "Fix: add readers, or analyse the single reader with a DeLong test instead."
        )
    des = resolve_design(~np.isnan(r), design)
    cov_label = look_up(covariance, COVARIANCES, what="covariance")
    look_up(binormal_fit, _BINORMAL_FITS, what="binormal_fit")
    if cov_label != "jackknife" and fom != "auc":
        raise MRMCInputError(
            f"covariance: {covariance!r} applies to the empirical AUC only (fom='auc'); "
            f"got fom={fom!r}. Fix: use covariance='jackknife' (for a sensitivity or specificity "
            "it equals the unbiased binomial covariance)."
        )
    jk = fom_jackknife(r, t, fom=fom, threshold=threshold, binormal_fit=binormal_fit)
    if cov_label == "jackknife":
        cov = jk.covariance()
    elif cov_label == "DeLong":
        cov = delong_covariance(r, t)
    else:
        cov = unbiased_covariance(r, t)
    res = or_analysis(jk.values, cov, design=des, covariance_method=cov_label, alpha=alpha,
                      frrc_truncate=frrc_truncate, ddf=ddf)
    dbm = None
    if des == FACTORIAL and r.shape[0] >= 2:
        dbm = dbm_analysis(jk.pseudovalues(), r.shape[0], r.shape[1], alpha=alpha)
    return MRMCAnalysis(
        jackknife=jk, design=des, covariance=cov_label, obuchowski_rockette=res, dbm=dbm,
        threshold=None if threshold is None else float(threshold), warnings=jk.notes + res.warnings,
    )


def _diff_key(i: int, j: int, n_mod: int) -> str:
    return "diff" if n_mod == 2 else f"diff.{i + 1}-{j + 1}"


def _put_test(out: dict[str, Any], prefix: str, test: ORTest, n_mod: int, stat_name: str) -> None:
    if n_mod >= 2:
        out[f"{prefix}.{stat_name}"] = test.statistic
        out[f"{prefix}.df1"] = test.df1
        if stat_name == "F":
            out[f"{prefix}.ddf"] = test.df2  # inf (JSON null) when MS(T*R) = 0
        out[f"{prefix}.p"] = test.p_value
        out[f"{prefix}.denominator"] = test.denominator
    for d in test.differences:
        k = f"{prefix}.{_diff_key(d.i, d.j, n_mod)}"
        out[k] = d.estimate
        out[f"{k}.se"] = d.se
        out[f"{k}.{'z' if math.isinf(d.df) else 't'}"] = d.statistic
        out[f"{k}.p"] = d.p_value
        out[f"{k}.ci_lower"] = d.interval.low
        out[f"{k}.ci_upper"] = d.interval.high
    for m in test.modalities:
        k = f"{prefix}.mod{m.modality + 1}"
        out[f"{k}.estimate"] = m.estimate
        out[f"{k}.se"] = m.se
        if test.analysis != "FRRC":
            out[f"{k}.df"] = m.df
        out[f"{k}.ci_lower"] = m.interval.low
        out[f"{k}.ci_upper"] = m.interval.high
    for rd in test.readers:
        k = f"{prefix}.reader{rd.reader + 1}" + ("" if n_mod == 2 else f".{rd.i + 1}-{rd.j + 1}")
        out[f"{k}.diff"] = rd.estimate
        out[f"{k}.se"] = rd.se
        out[f"{k}.z"] = rd.statistic
        out[f"{k}.p"] = rd.p_value
        out[f"{k}.ci_lower"] = rd.interval.low
        out[f"{k}.ci_upper"] = rd.interval.high
        out[f"{k}.var_error"] = rd.var_error
        out[f"{k}.cov1"] = rd.cov1
        out[f"{k}.var_diff"] = 2.0 * (rd.var_error - rd.cov1)  # may be negative (unbiased); reported as is


def flat_keys(res: MRMCAnalysis) -> dict[str, Any]:
    """The flat key -> value dict of an :class:`MRMCAnalysis`."""
    tag = res.fom_name
    theta = res.fom
    n_mod, n_rdr = theta.shape
    out: dict[str, Any] = {}
    for t in range(n_mod):
        for r in range(n_rdr):
            out[f"{tag}.reader{r + 1}.mod{t + 1}"] = float(theta[t, r])
    for t in range(n_mod):
        out[f"{tag}.mean.mod{t + 1}"] = float(theta[t].mean())
        out[f"{tag}.mod{t + 1}"] = float(theta[t].mean())
    for i in range(n_mod):
        for j in range(i + 1, n_mod):
            out[f"{tag}.diff.{i + 1}-{j + 1}"] = float(theta[i].mean() - theta[j].mean())
    orr = res.obuchowski_rockette
    base = ("or" if tag == "auc" else tag) + f".{res.covariance}"
    c = orr.components
    for name in ("var_R", "var_TR", "cov1", "cov2", "cov3", "var_error"):
        out[f"{base}.{name}"] = getattr(c, name)
    for name, v in c.correlations().items():
        out[f"{base}.corr{name[-1]}"] = v
    a = orr.anova
    out[f"{base}.MS.T"], out[f"{base}.MS.R"], out[f"{base}.MS.TR"] = a.ms_t, a.ms_r, a.ms_tr
    for t in range(n_mod):
        out[f"{base}.mod{t + 1}.cov2"] = orr.rrrc.modalities[t].cov2
        out[f"{base}.mod{t + 1}.var_error"] = orr.frrc.modalities[t].var_error
        out[f"{base}.mod{t + 1}.MS.R"] = orr.rrrc.modalities[t].ms_r
    _put_test(out, f"{base}.RRRC", orr.rrrc, n_mod, "F")
    _put_test(out, f"{base}.FRRC", orr.frrc, n_mod, "X2")
    _put_test(out, f"{base}.RRFC", orr.rrfc, n_mod, "F")
    if res.dbm is not None:
        d = res.dbm
        dbase = "dbm" if tag == "auc" else f"{tag}.dbm"
        for k, v in d.ms.items():
            out[f"{dbase}.MS.{k}"] = v
        for k, v in d.df.items():
            out[f"{dbase}.df.{k}"] = v
        for k, v in d.components.items():
            out[f"{dbase}.{k}"] = v
        for test in (d.rrrc, d.frrc, d.rrfc):
            p = f"{dbase}.{test.analysis}"
            out[f"{p}.F"], out[f"{p}.df1"], out[f"{p}.ddf"] = test.f, test.df1, test.ddf
            out[f"{p}.p"], out[f"{p}.denominator"] = test.p_value, test.denominator
            for df_ in test.differences:
                k = f"{p}.{_diff_key(df_.i, df_.j, n_mod)}"
                out[k], out[f"{k}.se"], out[f"{k}.t"], out[f"{k}.p"] = df_.estimate, df_.se, df_.statistic, df_.p_value
                out[f"{k}.ci_lower"], out[f"{k}.ci_upper"] = df_.interval.low, df_.interval.high
    return {k: (float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v) for k, v in out.items()}
