"""Random-effects meta-analysis across sites and scanners: pooled estimate, Q, I², tau².

Each site (or scanner manufacturer, or model) is treated as a "study" with its own
estimate ``y_i`` and sampling variance ``v_i`` (for a proportion: the logit and its
delta-method variance, see :func:`logit_transform`). The random-effects model is
``y_i = mu + u_i + e_i`` with ``u_i ~ N(0, tau^2)`` and ``e_i ~ N(0, v_i)``.

Heterogeneity (Higgins & Thompson 2002):

* Cochran's ``Q = sum w_i (y_i - mu_FE)^2`` with ``w_i = 1/v_i``; under homogeneity
  ``Q ~ chi2(k - 1)``.
* ``I^2 = max(0, (Q - df) / Q)``: the share of the variability due to real differences
  between sites rather than chance; ``H^2 = Q / df``.
* ``tau^2``: the between-site variance, by one of :data:`TAU2_METHODS`

  ``dl``   DerSimonian & Laird (1986) one-step moment estimator (statsmodels ``"dl"``);
  ``pm``   Paule & Mandel (1982) moment estimator: generalised Q = k - 1 (as statsmodels ``"pm"``);
  ``reml`` restricted maximum likelihood (Viechtbauer 2005), root of the REML score.

  All three are truncated at 0. The pooled estimate uses weights ``1 / (v_i + tau^2)``
  and a Wald interval; the prediction interval for a new site uses ``t(k - 2)``
  (Higgins, Thompson & Spiegelhalter 2009).

Influence: leave-one-out pooled estimates, and studentized deleted residuals
``(y_i - mu_(-i)) / sqrt(v_i + tau^2_(-i) + se(mu_(-i))^2)`` (Viechtbauer & Cheung 2010;
metafor's ``rstudent``), which say *which* site or scanner departs from the others.

References: DerSimonian R, Laird N (1986) Control Clin Trials 7:177-188; DerSimonian R,
Kacker R (2007) Contemp Clin Trials 28:105-114; Higgins JPT, Thompson SG (2002) Stat Med
21:1539-1558; Viechtbauer W (2005) J Educ Behav Stat 30:261-293; Viechtbauer W, Cheung MW-L
(2010) Res Synth Methods 1:112-125.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from valkit.stats.types import Estimate, Interval, _clean
from valkit.stats.validation import StatsInputError, check_confidence_level, look_up_option, not_estimable


# ----------------------------------------------------------------------------- tau^2 estimators
def _tau2_statsmodels(method_re: str) -> Callable[[np.ndarray, np.ndarray], float]:
    def fit(y: np.ndarray, v: np.ndarray) -> float:
        from statsmodels.stats.meta_analysis import combine_effects

        # Only tau^2 is taken from statsmodels (Q, I^2 are computed here). Its RE step runs with an
        # untruncated DL tau^2, and its I^2 = 1 - 1/H^2 overflows when the effects are (nearly) equal.
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            tau2 = float(combine_effects(y, v, method_re=method_re).tau2)
        return max(tau2, 0.0)  # statsmodels' DL is not truncated; a variance cannot be negative

    return fit


def _tau2_reml(y: np.ndarray, v: np.ndarray) -> float:
    """Root of the REML score ``-sum w + sum w^2 / sum w + sum w^2 e^2`` (0 if negative at 0)."""
    from scipy.optimize import brentq

    def score(t2: float) -> float:
        w = 1.0 / (v + t2)
        mu = np.dot(w, y) / w.sum()
        return float(-w.sum() + np.dot(w, w) / w.sum() + np.dot(w * w, (y - mu) ** 2))

    if score(0.0) <= 0:
        return 0.0
    hi = max(float(np.var(y)), float(v.max()), 1e-8)
    while score(hi) > 0:
        hi *= 4.0
        if hi > 1e12:  # pragma: no cover - pathological input
            raise StatsInputError("REML tau^2 did not converge: the effects are too dispersed for a finite root.")
    return float(brentq(score, 0.0, hi, xtol=1e-14, rtol=1e-13, maxiter=500))


def _tau2_pm(y: np.ndarray, v: np.ndarray) -> float:
    """Paule-Mandel: the tau^2 at which the generalised Q equals k - 1 (0 if Q(0) <= k - 1).

    Solved by bracketing (Q is decreasing in tau^2). statsmodels' Newton iteration gives the
    same root when it converges, but returns 0 when a step overshoots the root.
    """
    from scipy.optimize import brentq

    df = y.size - 1

    def excess(t2: float) -> float:
        w = 1.0 / (v + t2)
        mu = np.dot(w, y) / w.sum()
        return float(np.dot(w, (y - mu) ** 2) - df)

    if excess(0.0) <= 0:
        return 0.0
    hi = max(float(np.var(y)), float(v.max()), 1e-8)
    while excess(hi) > 0:
        hi *= 4.0
    return float(brentq(excess, 0.0, hi, xtol=1e-14, rtol=1e-13, maxiter=500))


TAU2_METHODS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "dl": _tau2_statsmodels("dl"),
    "pm": _tau2_pm,
    "reml": _tau2_reml,
}


# ----------------------------------------------------------------------------- result type
@dataclass(frozen=True)
class MetaAnalysis:
    """A random-effects pooled estimate with its heterogeneity statistics (effect scale).

    ``i2`` is Higgins & Thompson's ``(Q - df) / Q`` (truncated at 0); ``i2_model`` is
    ``tau^2 / (tau^2 + s^2)`` with the "typical" within-site variance ``s^2`` (what metafor
    prints as I^2; equal to ``i2`` for DerSimonian-Laird).
    """

    k: int
    estimate: float
    se: float
    interval: Interval
    tau2: float
    tau2_method: str
    q: float
    df: int
    p_value: float
    i2: float
    h2: float
    i2_model: float
    fixed_estimate: float
    fixed_se: float
    prediction_interval: Interval | None
    weights: tuple[float, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2) if math.isfinite(self.tau2) else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = _clean({k: getattr(self, k) for k in self.__dataclass_fields__})
        d["interval"] = self.interval.to_dict()
        d["prediction_interval"] = self.prediction_interval.to_dict() if self.prediction_interval else None
        d["tau"] = _clean(self.tau)
        return d


def _as_effects(effects: Any, variances: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(effects, dtype=float).reshape(-1)
    v = np.asarray(variances, dtype=float).reshape(-1)
    if y.shape != v.shape:
        raise StatsInputError(f"effects has {y.size} values but variances has {v.size}; give one of each per site.")
    if y.size == 0:
        raise StatsInputError("effects: no sites given; a meta-analysis needs at least one estimate.")
    if not (np.isfinite(y).all() and np.isfinite(v).all()):
        raise StatsInputError("effects/variances: every value must be finite (apply a continuity correction first).")
    if (v <= 0).any():
        raise StatsInputError("variances: every sampling variance must be > 0.")
    return y, v


def random_effects(effects: Any, variances: Any, *, method: str = "reml",
                   confidence_level: float = 0.95) -> MetaAnalysis:
    """Random-effects pooled estimate, Cochran's Q, I², H² and tau².

    Parameters
    ----------
    effects, variances : arrays, one entry per site (effect scale, e.g. logits)
    method : {"reml", "pm", "dl"}
        tau² estimator (see the module docstring).
    confidence_level : float

    Returns
    -------
    MetaAnalysis
        With one site: the site itself, Q = 0, df = 0, p-value and I² ``nan`` (warning
        ``single_site``).

    Examples
    --------
    DerSimonian & Kacker (2007), Tables 3-4: the CLASP trials (log odds ratios).

    >>> ai, n1 = np.array([5, 5, 12, 69, 9, 313]), np.array([156, 303, 565, 1570, 103, 4659])
    >>> ci, n2 = np.array([8, 17, 9, 94, 11, 352]), np.array([74, 303, 477, 1565, 105, 4650])
    >>> y = np.log(ai * (n2 - ci) / ((n1 - ai) * ci))
    >>> v = 1 / ai + 1 / (n1 - ai) + 1 / ci + 1 / (n2 - ci)
    >>> m = random_effects(y, v, method="dl")
    >>> round(m.tau, 4), round(m.estimate, 4), round(m.se, 4)
    (0.2323, -0.324, 0.154)
    """
    fit = look_up_option(method, TAU2_METHODS, what="method")
    cl = check_confidence_level(confidence_level)
    y, v = _as_effects(effects, variances)
    from scipy.stats import chi2, norm
    from scipy.stats import t as t_dist

    k = int(y.size)
    z = float(norm.ppf(0.5 + cl / 2))
    w = 1.0 / v
    mu_fe = float(np.dot(w, y) / w.sum())
    se_fe = math.sqrt(1.0 / w.sum())
    q = float(np.dot(w, (y - mu_fe) ** 2))
    df = k - 1
    warns: list[str] = []
    if k == 1:
        warns.append(not_estimable("single_site", "heterogeneity needs at least two sites; only one was given."))
        tau2 = 0.0
        p, i2, h2, i2_model = math.nan, math.nan, math.nan, math.nan
    else:
        tau2 = float(fit(y, v))
        p = float(chi2.sf(q, df))
        h2 = q / df
        i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
        s2 = df * w.sum() / (w.sum() ** 2 - np.dot(w, w))
        i2_model = tau2 / (tau2 + s2)
    wr = 1.0 / (v + tau2)
    mu = float(np.dot(wr, y) / wr.sum())
    se = math.sqrt(1.0 / wr.sum())
    pi = None
    if k >= 3:
        tq = float(t_dist.ppf(0.5 + cl / 2, k - 2))
        half = tq * math.sqrt(tau2 + se**2)
        pi = Interval(mu - half, mu + half, cl, f"t(k-2) prediction, tau2 {method}")
    return MetaAnalysis(
        k=k, estimate=mu, se=se, interval=Interval(mu - z * se, mu + z * se, cl, f"wald_random_effects_{method}"),
        tau2=tau2, tau2_method=method, q=q, df=df, p_value=p, i2=i2, h2=h2, i2_model=i2_model,
        fixed_estimate=mu_fe, fixed_se=se_fe, prediction_interval=pi,
        weights=tuple(float(x) for x in wr / wr.sum()), warnings=tuple(warns),
    )


def leave_one_out(effects: Any, variances: Any, *, method: str = "reml",
                  confidence_level: float = 0.95) -> tuple[MetaAnalysis, ...]:
    """The random-effects analysis repeated with each site left out (tau² re-estimated).

    Shows whether one site drives the pooled estimate or the heterogeneity. Needs k >= 2.

    >>> fits = leave_one_out([0.1, 0.2, 0.9], [0.01, 0.01, 0.01], method="dl")
    >>> [round(f.estimate, 2) for f in fits]
    [0.55, 0.5, 0.15]
    """
    y, v = _as_effects(effects, variances)
    if y.size < 2:
        raise StatsInputError("leave_one_out: needs at least two sites (leaving one out of one leaves nothing).")
    keep = ~np.eye(y.size, dtype=bool)
    return tuple(random_effects(y[m], v[m], method=method, confidence_level=confidence_level) for m in keep)


@dataclass(frozen=True)
class DeletedResidual:
    """Studentized deleted residual of one site: does it depart from the pooled others?"""

    z: float
    p_value: float
    estimate_without: float


def deleted_residuals(effects: Any, variances: Any, *, method: str = "reml") -> tuple[DeletedResidual, ...]:
    """Studentized deleted residuals (metafor's ``rstudent`` for ``rma.uni``), two-sided normal p.

    ``z_i = (y_i - mu_(-i)) / sqrt(v_i + tau^2_(-i) + se(mu_(-i))^2)`` where ``(-i)`` is
    the random-effects fit without site ``i``. Needs k >= 2 (k >= 3 to be informative).

    >>> r = deleted_residuals([0.1, 0.12, 0.09, 0.6], [0.002, 0.002, 0.002, 0.002], method="dl")
    >>> [round(x.z, 1) for x in r][-1] > 3
    True
    """
    from scipy.stats import norm

    y, v = _as_effects(effects, variances)
    fits = leave_one_out(y, v, method=method)
    out = []
    for i, f in enumerate(fits):
        z = (y[i] - f.estimate) / math.sqrt(v[i] + f.tau2 + f.se**2)
        out.append(DeletedResidual(float(z), float(2 * norm.sf(abs(z))), f.estimate))
    return tuple(out)


# ----------------------------------------------------------------------------- proportions
@dataclass(frozen=True)
class LogitData:
    """Per-site logits and variances; ``corrected`` marks sites given a continuity correction.

    ``method`` names the variance: ``"binomial"`` (:func:`logit_transform`) or
    ``"cluster_robust_patient"`` (:func:`valkit.stats.clustered_logit.clustered_logit_transform`,
    which also fills ``design_effect`` and ``n_clusters`` per site).
    """

    effects: np.ndarray
    variances: np.ndarray
    corrected: np.ndarray
    correction: float
    method: str = "binomial"
    design_effect: np.ndarray | None = None
    n_clusters: np.ndarray | None = None


def logit_transform(events: Any, totals: Any, *, correction: float = 0.5) -> LogitData:
    """``logit(x / n)`` with variance ``1/x + 1/(n - x)``; ``correction`` added to x and n - x when either is 0.

    The 0.5 (Haldane-Anscombe) correction is the usual choice in diagnostic-accuracy
    meta-analysis (e.g. Cochrane DTA handbook, Reitsma et al. 2005) so that a site with
    100% sensitivity still contributes. Every total must be > 0 (drop empty sites first).

    >>> d = logit_transform([9, 10], [10, 10])
    >>> np.round(d.effects, 4).tolist(), d.corrected.tolist()
    ([2.1972, 3.0445], [False, True])
    """
    x = np.asarray(events, dtype=float).reshape(-1)
    n = np.asarray(totals, dtype=float).reshape(-1)
    if x.shape != n.shape:
        raise StatsInputError(f"events has {x.size} values but totals has {n.size}; give one pair per site.")
    if (n <= 0).any() or (x < 0).any() or (x > n).any():
        raise StatsInputError("events/totals: need 0 <= events <= totals and totals > 0 for every site "
                              "(leave out sites with no cases and list them as not estimable).")
    corrected = (x == 0) | (x == n)
    a = np.where(corrected, x + correction, x)
    b = np.where(corrected, n - x + correction, n - x)
    if correction <= 0 and corrected.any():
        raise StatsInputError("correction: a site has 0 events or 0 non-events; the logit needs correction > 0.")
    return LogitData(np.log(a / b), 1.0 / a + 1.0 / b, corrected, float(correction))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@dataclass(frozen=True)
class PooledProportion:
    """A random-effects pooled proportion (logit scale, back-transformed) with diagnostics."""

    estimate: Estimate
    meta: MetaAnalysis
    prediction_interval: Interval | None
    corrected: tuple[bool, ...]
    leave_one_out: tuple[Estimate, ...]
    leave_one_out_meta: tuple[MetaAnalysis, ...]
    residuals: tuple[DeletedResidual, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate.to_dict(),
            "meta": self.meta.to_dict(),
            "prediction_interval": self.prediction_interval.to_dict() if self.prediction_interval else None,
            "corrected": list(self.corrected),
            "leave_one_out": [e.to_dict() for e in self.leave_one_out],
            "residuals": [_clean(r.__dict__) for r in self.residuals],
        }


def _back(iv: Interval | None, method: str) -> Interval | None:
    if iv is None:
        return None
    return Interval(_expit(iv.low), _expit(iv.high), iv.confidence_level, method)


def pooled_proportion(events: Any, totals: Any, *, method: str = "reml", confidence_level: float = 0.95,
                      correction: float = 0.5, variances: Any = None) -> PooledProportion:
    """Random-effects pooled proportion (e.g. sensitivity across sites) on the logit scale.

    Parameters
    ----------
    events, totals : arrays of counts, one per site (e.g. TP and TP + FN); totals > 0
    method : {"reml", "pm", "dl"}
    confidence_level : float
    correction : float
        Added to both cells of a site with 0 events or 0 non-events.
    variances : array, optional
        Sampling variances of the site logits to use instead of the binomial
        ``1/x + 1/(n - x)``: when patients contribute several images, the cluster-robust ones of
        :func:`valkit.stats.clustered_logit.clustered_logit_transform` (same events and totals).
        Q, I², tau², the leave-one-out fits and the deleted residuals all use them.

    Returns
    -------
    PooledProportion
        ``estimate`` is ``expit(mu)`` with the back-transformed Wald interval; its
        ``numerator``/``denominator`` are the summed counts. Leave-one-out estimates and
        deleted residuals are included when there are at least 3 sites.

    Examples
    --------
    >>> r = pooled_proportion([45, 40, 30], [50, 50, 50], method="dl")
    >>> round(r.estimate.value, 3), round(r.meta.i2, 3), r.estimate.method
    (0.782, 0.831, 'random_effects_logit_dl')
    """
    x = np.asarray(events, dtype=float).reshape(-1)
    n = np.asarray(totals, dtype=float).reshape(-1)
    d = logit_transform(x, n, correction=correction)
    if variances is not None:
        v = np.asarray(variances, dtype=float).reshape(-1)
        if v.shape != x.shape:
            raise StatsInputError(f"variances has {v.size} values but events has {x.size}; give one per site "
                                  "(e.g. clustered_logit_transform(...).variances).")
        d = LogitData(d.effects, v, d.corrected, d.correction, method="given")
    meta = random_effects(d.effects, d.variances, method=method, confidence_level=confidence_level)
    label = f"random_effects_logit_{method}"
    est = Estimate(_expit(meta.estimate), _back(meta.interval, label), int(n.sum()), float(x.sum()),
                   float(n.sum()), label, meta.warnings)
    loo: tuple[Estimate, ...] = ()
    loo_meta: tuple[MetaAnalysis, ...] = ()
    res: tuple[DeletedResidual, ...] = ()
    if x.size >= 3:
        loo_meta = leave_one_out(d.effects, d.variances, method=method, confidence_level=confidence_level)
        loo = tuple(
            Estimate(_expit(m.estimate), _back(m.interval, label), int(n.sum() - n[i]), float(x.sum() - x[i]),
                     float(n.sum() - n[i]), label)
            for i, m in enumerate(loo_meta)
        )
        res = deleted_residuals(d.effects, d.variances, method=method)
    return PooledProportion(est, meta, _back(meta.prediction_interval, label),
                            tuple(bool(c) for c in d.corrected), loo, loo_meta, res)


__all__ = [
    "TAU2_METHODS", "DeletedResidual", "LogitData", "MetaAnalysis", "PooledProportion", "deleted_residuals",
    "leave_one_out", "logit_transform", "pooled_proportion", "random_effects",
]
