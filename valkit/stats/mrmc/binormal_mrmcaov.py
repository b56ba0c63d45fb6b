"""MRMCaov's binormal fitting procedure, step for step (``binormal_fit="mrmcaov"``).

valkit's default binormal fit (:func:`valkit.stats.mrmc.binormal.fit_binormal_counts`)
finds the maximum-likelihood estimate and, when the likelihood has no finite maximum
(b -> 0 or infinity), reports the limit of the AUC. MRMCaov reports wherever its
optimiser stops instead, so on such a boundary fit the two differ (by ~3e-5 in AUC on the
Van Dyke data). This module emulates MRMCaov's procedure so that its published numbers
can be reproduced to their last digit. When a finite MLE exists both give the MLE (to the
optimiser's tolerance, ~1e-7 in AUC).

Sources (read, then re-implemented in Python; the maths and the sequence of steps are
the same, the code is not a transliteration):

- MRMCaov, brian-j-smith/MRMCaov@82553ce (same as @deebe77 apart from a warning)
  ``R/binormal_params.R``: ``binormal_params``, ``binormal_inits``, ``get_emp_points``,
  ``binormal_cutoffs_uni``, ``get_next_bound``, ``get_next_cutoff``, ``binormal_objfun``,
  ``binormal_mle`` (``method = "trust"``); ``R/roc.R`` (``roc_counts(collapse = TRUE)``,
  ``empirical_curve``); ``R/utils.R`` @deebe77 (``is_approx = isTRUE(all.equal(x, y))``).
- the R package trust (``trust(objfun, parinit, 1, 10)``: rinit = 1, rmax = 10, iterlim =
  100, fterm = mterm = sqrt(.Machine$double.eps)) and R's ``optimize``, re-implemented in
  :mod:`valkit.stats.mrmc.trust_region` (sources there).

The procedure (counts of negative and positive cases per distinct rating, ascending):

1. Initial a, b: least squares of qnorm(TPR) on qnorm(FPR) through the finite points of the
   empirical ROC curve and the points 1/3 and 2/3 along each of its segments (interpolated
   once by FPR and once by TPR); fewer than two distinct ratings, or no interior operating
   point, give AUC 0.5, 1 or 0 without fitting.
2. Categories are collapsed (runs of three or more cumulative counts that do not change
   lose their inner members).
3. Initial cutoffs, one at a time from the lowest: with a, b fixed, bracket the maximum of
   the two-category likelihood (``get_next_bound``) and maximise it by Brent's fmin.
4. Trust-region iterations on (a, b, cutoffs), untransformed; the "Hessian" is the expected
   information N * sum_k (dp_k)(dp_k)^T / p_k that MRMCaov codes, probabilities floored at
   1e-10, and a point with b <= 0 or unordered cutoffs has log-likelihood -Inf.

The AUC is Phi(a / sqrt(1 + b^2)) at the final iterate.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from valkit.stats.mrmc.binormal_fit import BinormalFit
from valkit.stats.mrmc.trust_region import OptimiserError, brent_fmin, trust_region

_ALL_EQUAL_TOL = math.sqrt(float(np.finfo(float).eps))  # all.equal.numeric's tolerance, 1.49e-8
_P_MIN = 1e-10                     # binormal_probs(min = 1e-10)
_LOGLIK_MIN_UNI = -1e100           # binormal_objfun's default loglik_min (cutoff initialisation)


class MRMCaovFitError(OptimiserError):
    """MRMCaov's procedure itself would stop with an error on these counts."""


def is_approx(x: float, y: float) -> bool:
    """``isTRUE(all.equal(x, y))`` for two scalars: relative difference <= sqrt(eps) (1.49e-8),
    absolute when |x| <= sqrt(eps).

    >>> is_approx(1.0, 1.0 + 1e-9), is_approx(1.0, 1.0 + 1e-7), is_approx(0.0, 1e-9)
    (True, False, True)
    """
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if x == y:
        return True
    diff = abs(x - y)
    scale = abs(x)
    if math.isfinite(scale) and scale > _ALL_EQUAL_TOL:
        diff /= scale
    return not math.isnan(diff) and diff <= _ALL_EQUAL_TOL


def _probs(upper_tail: np.ndarray) -> np.ndarray:
    """Category probabilities from P(X > c_k) at the ordered cutoffs, floored at 1e-10."""
    cum = np.concatenate(([1.0], upper_tail, [0.0]))
    return np.maximum(-np.diff(cum), _P_MIN)


def binormal_objective(x: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Negative log-likelihood, its gradient and MRMCaov's expected-information "Hessian"
    at x = (a, b, c_1, ..., c_{K-1}) (untransformed); value +inf outside b > 0, c increasing.

    With cutoff 0, a = b = 1: P(neg > 0) = 1/2 and P(pos > 0) = Phi(1), so the value is
    -(10 log 0.5 + 2 log Phi(-1) + 8 log Phi(1)); the gradient is that of the value:

    >>> neg, pos, x = np.array([6.0, 4.0]), np.array([2.0, 8.0]), np.array([1.0, 1.0, 0.0])
    >>> v, g, h = binormal_objective(x, neg, pos)
    >>> round(v, 6), round(-(10 * math.log(0.5) + 2 * math.log(special.ndtr(-1.0)) + 8 * math.log(special.ndtr(1.0))), 6)
    (11.995545, 11.995545)
    >>> fd = [(binormal_objective(x + e, neg, pos)[0] - binormal_objective(x - e, neg, pos)[0]) / 2e-6
    ...       for e in 1e-6 * np.eye(3)]
    >>> bool(np.allclose(g, fd, atol=1e-6)), bool(np.all(np.linalg.eigvalsh(h) >= 0))
    (True, True)
    >>> binormal_objective(np.array([1.0, -0.1, 0.0]), neg, pos)[0]  # b <= 0: outside the support
    inf
    """
    a, b, cut = float(x[0]), float(x[1]), np.asarray(x[2:], dtype=float)
    n = x.size
    if not (b > 0 and np.all(np.diff(cut) > 0)):
        return math.inf, np.zeros(n), np.zeros((n, n))
    p = _probs(special.ndtr(-cut))
    z = a - b * cut
    q = _probs(special.ndtr(z))
    loglik = float(neg @ np.log(p) + pos @ np.log(q))
    dfpr_dcut = -_dnorm(cut)
    dtpr_da = _dnorm(z)
    dtpr_db = dtpr_da * -cut
    dtpr_dcut = dtpr_da * -b
    wn = -neg[:-1] / p[:-1] + neg[1:] / p[1:]
    wp = -pos[:-1] / q[:-1] + pos[1:] / q[1:]
    grad = np.concatenate(([wp @ dtpr_da, wp @ dtpr_db], wn * dfpr_dcut + wp * dtpr_dcut))
    hess = _info(neg.sum(), p, None, None, dfpr_dcut) + _info(pos.sum(), q, dtpr_da, dtpr_db, dtpr_dcut)
    return -loglik, -grad, hess


def _dnorm(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _info(total: float, probs: np.ndarray, d_a, d_b, d_cut: np.ndarray) -> np.ndarray:
    """N sum_k J_k J_k^T / p_k with J the Jacobian of the category probabilities."""
    m = d_cut.size
    jac = np.zeros((m + 1, m + 2))
    if d_a is not None:
        jac[:, 0] = np.concatenate(([0.0], d_a)) - np.concatenate((d_a, [0.0]))
        jac[:, 1] = np.concatenate(([0.0], d_b)) - np.concatenate((d_b, [0.0]))
    idx = np.arange(m)
    jac[idx, idx + 2] = -d_cut
    jac[idx + 1, idx + 2] = d_cut
    return (jac.T * (total / probs)) @ jac


def _loglik_two(cutoff: float, a: float, b: float, neg2: np.ndarray, pos2: np.ndarray) -> float:
    """binormal_loglik with (a, b) fixed, one cutoff, two categories (loglik_min -1e100)."""
    if not b > 0:
        return _LOGLIK_MIN_UNI
    p = _probs(special.ndtr(-np.array([cutoff])))
    q = _probs(special.ndtr(np.array([a - b * cutoff])))
    return max(float(neg2 @ np.log(p) + pos2 @ np.log(q)), _LOGLIK_MIN_UNI)


def _next_bound(x: float, scale: float, loglik2, maxiter: int = 500) -> float:
    """MRMCaov's get_next_bound with finc(x, s, i) = x + s (1 + log i)."""
    def finc(v: float, it: int) -> float:
        return v + scale * (1.0 + math.log(it))

    ll = loglik2(x)
    old_bound = x + scale
    away = True
    old_ll = math.nan
    for it in range(1, maxiter + 1):
        old_ll = loglik2(old_bound)
        if old_ll > ll:
            break
        if is_approx(old_ll, ll) and away:
            old_bound = finc(old_bound, it)
        else:
            old_bound = (old_bound + x) / 2.0
            if is_approx(old_bound, x):
                break
            away = False
    bound = old_bound
    for it in range(1, maxiter + 1):
        bound = finc(old_bound, it)
        ll = loglik2(bound)
        if ll < old_ll:
            break
        old_bound, old_ll = bound, ll
    return bound


def initial_cutoffs(a: float, b: float, neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """MRMCaov's "uni" initial cutoffs: each maximises the two-category likelihood of
    (categories <= k, categories > k) with a, b fixed, searched upwards from the previous one."""
    cum_n, cum_p = np.cumsum(neg), np.cumsum(pos)
    tot_n, tot_p = cum_n[-1], cum_p[-1]
    out = np.empty(neg.size - 1)
    lower = max(-5.0, (a - 5.0) / b)
    scale = 1.0 / b if b > 1 else 1.0
    for k in range(out.size):
        neg2 = np.array([cum_n[k], tot_n - cum_n[k]])
        pos2 = np.array([cum_p[k], tot_p - cum_p[k]])

        def loglik2(c: float, neg2=neg2, pos2=pos2) -> float:
            return _loglik_two(c, a, b, neg2, pos2)

        upper = _next_bound(lower, scale, loglik2)
        lo, hi = min(lower, upper), max(lower, upper)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise MRMCaovFitError(f"optimize: invalid interval ({lo}, {hi})")
        lower = brent_fmin(lambda c: -loglik2(c), lo, hi)
        out[k] = lower
    return out


def roc_counts_collapsed(neg: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MRMCaov's ``roc_counts(collapse = TRUE)``: a category is dropped (its counts move to
    the next one) when its cumulative count of positives, or of negatives, also occurs both
    before and after it. Unlike valkit's :func:`~valkit.stats.mrmc.binormal.collapse_counts`,
    this keeps the first of a leading run of single-class categories separate.

    >>> roc_counts_collapsed(np.array([3, 2, 4, 1, 0]), np.array([0, 0, 0, 2, 4]))
    (array([3, 6, 1, 0]), array([0, 0, 2, 4]))
    """
    cn, cp = np.cumsum(neg), np.cumsum(pos)

    def inner(c: np.ndarray) -> np.ndarray:
        vals = c.tolist()
        return np.array([v in vals[:i] and v in vals[i + 1:] for i, v in enumerate(vals)], dtype=bool)

    keep = ~(inner(cp) | inner(cn))
    cn, cp = cn[keep], cp[keep]
    return np.diff(cn, prepend=0), np.diff(cp, prepend=0)


def _emp_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """get_emp_points: the points 1/3 and 2/3 along each segment after sorting by (x, y)."""
    order = np.lexsort((y, x))
    xs, ys = x[order], y[order]
    props = 1.0 - np.arange(1, 3) / 3.0
    # R: c(x[-1] - outer(diff(x), props)): all segments at props[0], then at props[1]
    px = (xs[1:, None] - np.diff(xs)[:, None] * props[None, :]).ravel(order="F")
    py = (ys[1:, None] - np.diff(ys)[:, None] * props[None, :]).ravel(order="F")
    return px, py


def initial_ab(neg: np.ndarray, pos: np.ndarray) -> tuple[float, float, bool]:
    """MRMCaov's binormal_inits: (a, b, optimise?) from the uncollapsed counts.

    Without an interior empirical point, a is 0, inf or -inf (AUC 0.5, 1, 0) and no fit is made.
    """
    fpr = np.concatenate((np.cumsum(neg[::-1])[::-1] / neg.sum(), [0.0]))
    tpr = np.concatenate((np.cumsum(pos[::-1])[::-1] / pos.sum(), [0.0]))
    x, y = special.ndtri(fpr), special.ndtri(tpr)
    if x.size <= 2:
        return 0.0, 1.0, False
    if np.all((x == -np.inf) | (y == np.inf)):
        return math.inf, 1.0, False
    if np.all((x == np.inf) | (y == -np.inf)):
        return -math.inf, 1.0, False
    fx, fy = _emp_points(fpr, tpr)
    ty, tx = _emp_points(tpr, fpr)
    new = np.column_stack((np.concatenate((fx, tx)), np.concatenate((fy, ty))))
    _, first = np.unique(new, axis=0, return_index=True)
    new = new[np.sort(first)]
    xs = np.concatenate((x, special.ndtri(new[:, 0])))
    ys = np.concatenate((y, special.ndtri(new[:, 1])))
    keep = np.isfinite(xs) & np.isfinite(ys)
    if np.ptp(xs[keep]) == 0:
        b = 1e4
        ind = int(np.flatnonzero(ys == np.inf)[0])
        return float(-xs[ind] * b), b, True
    design = np.column_stack((np.ones(int(keep.sum())), xs[keep]))
    coef = np.linalg.lstsq(design, ys[keep], rcond=None)[0]
    return float(coef[0]), float(coef[1]), True


def fit_binormal_mrmcaov(neg, pos) -> BinormalFit:
    """Binormal fit by MRMCaov's procedure from counts per rating (ascending order).

    Raises :class:`~valkit.stats.mrmc.trust_region.OptimiserError` (or its subclass
    :class:`MRMCaovFitError`) where MRMCaov itself would stop with an error.

    Examples
    --------
    When a finite MLE exists this is the MLE (here the exact category probabilities of
    a = 1, b = 0.8, cutoffs (-0.5, 0.3, 1.0)):

    >>> cuts = np.array([-np.inf, -0.5, 0.3, 1.0, np.inf])
    >>> fit = fit_binormal_mrmcaov(1e4 * np.diff(special.ndtr(cuts)),
    ...                            1e4 * np.diff(special.ndtr(0.8 * cuts - 1.0)))
    >>> round(fit.a, 5), round(fit.b, 5), round(fit.auc, 5), fit.converged
    (1.0, 0.8, 0.78256, True)
    """
    neg = np.asarray(neg, dtype=float)
    pos = np.asarray(pos, dtype=float)
    present = (neg + pos) > 0
    neg, pos = neg[present], pos[present]
    a, b, optimise = initial_ab(neg, pos)
    if not optimise:
        auc = float(special.ndtr(a / math.sqrt(1.0 + b * b)))
        return BinormalFit(a, b, (), auc, True, True, 0)
    cn, cp = roc_counts_collapsed(neg, pos)
    cut0 = initial_cutoffs(a, b, cn, cp)
    res = trust_region(lambda x: binormal_objective(x, cn, cp), np.concatenate(([a, b], cut0)), 1.0, 10.0)
    a, b = float(res.argument[0]), float(res.argument[1])
    auc = float(special.ndtr(a / math.sqrt(1.0 + b * b)))
    return BinormalFit(a, b, tuple(float(c) for c in res.argument[2:]), auc, False, res.converged, res.iterations)
