"""Binormal ROC curve fitted by maximum likelihood to ordinal ratings (Dorfman & Alf 1969).

The latent decision variable is N(0, 1) for negative cases and N(a/b, 1/b^2) for
positive ones; K ordered rating categories are cut by K-1 thresholds c_1 < ... < c_{K-1},
so FPR(c) = Phi(-c), TPR(c) = Phi(a - b c) and AUC = Phi(a / sqrt(1 + b^2)).

Fitting details (chosen to reproduce MRMCaov's ``binormal_auc``):

- adjacent categories holding cases of one truth class only are merged (this leaves
  the maximum-likelihood a and b unchanged and keeps every threshold identifiable);
- when the empirical ROC has no interior operating point the curve is degenerate and
  the AUC is set without fitting: 0.5 with fewer than one threshold, 1 when every
  operating point has FPR = 0 or TPR = 1, 0 when every one has FPR = 1 or TPR = 0.

Continuous ratings are treated as ordinal with one category per distinct value, which
is slow and ill-conditioned for many distinct values; bin them first (or use the
empirical AUC).

The jackknife refits the curve with each case left out. Cases with the same rating
and truth give the same fit, so a reader x modality needs at most 2K refits.

Two fitting conventions (``binormal_jackknife(..., fit=...)``, ``binormal_fit=`` in
:func:`~valkit.stats.mrmc.mrmc_analysis`): "limit" (default) is the fit above, with the
limit AUC where the likelihood has no finite maximum; "mrmcaov" emulates MRMCaov's own
procedure (:mod:`valkit.stats.mrmc.binormal_mrmcaov`), whose AUC on such a fit is where
its optimiser stops, to reproduce MRMCaov's published binormal analyses.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import optimize, special

from valkit.stats.mrmc.binormal_fit import BinormalFit
from valkit.stats.mrmc.binormal_mrmcaov import fit_binormal_mrmcaov
from valkit.stats.mrmc.fom import FomJackknife
from valkit.stats.mrmc.options import MRMCInputError
from valkit.stats.mrmc.trust_region import OptimiserError
from valkit.stats.types import NotEstimableWarning

_SQRT2PI = math.sqrt(2.0 * math.pi)
MAX_CATEGORIES = 100


def _pdf(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.exp(-0.5 * x * x) / _SQRT2PI
    return np.where(np.isfinite(x), out, 0.0)


def _interval_prob(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Phi(hi) - Phi(lo) without cancellation in the upper tail."""
    upper = lo > 0
    return np.where(upper, special.ndtr(-lo) - special.ndtr(-hi), special.ndtr(hi) - special.ndtr(lo))


def collapse_counts(neg: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop empty categories and merge adjacent ones that hold a single truth class.

    >>> collapse_counts(np.array([3, 2, 0, 1, 0]), np.array([0, 0, 0, 2, 4]))
    (array([5, 1, 0]), array([0, 2, 4]))
    """
    keep = (neg + pos) > 0
    neg, pos = list(neg[keep]), list(pos[keep])
    out_n, out_p = [neg[0]], [pos[0]]
    for n, p in zip(neg[1:], pos[1:]):
        pure_prev = "n" if out_p[-1] == 0 else ("p" if out_n[-1] == 0 else "")
        pure_now = "n" if p == 0 else ("p" if n == 0 else "")
        if pure_prev and pure_prev == pure_now:
            out_n[-1] += n
            out_p[-1] += p
        else:
            out_n.append(n)
            out_p.append(p)
    return np.asarray(out_n), np.asarray(out_p)


def _degenerate_auc(neg: np.ndarray, pos: np.ndarray) -> float | None:
    n0, n1 = neg.sum(), pos.sum()
    if neg.size < 2:
        return 0.5
    fpr = neg[::-1].cumsum()[::-1][1:] / n0  # call positive above category k
    tpr = pos[::-1].cumsum()[::-1][1:] / n1
    if np.all((fpr == 0) | (tpr == 1)):
        return 1.0
    if np.all((fpr == 1) | (tpr == 0)):
        return 0.0
    return None


def _unpack(x: np.ndarray) -> tuple[float, float, np.ndarray]:
    a, b = x[0], math.exp(x[1])
    c = x[2] + np.concatenate(([0.0], np.cumsum(np.exp(x[3:]))))
    return a, b, c


def _negloglik_grad(x: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> tuple[float, np.ndarray]:
    a, b, c = _unpack(x)
    cc = np.concatenate(([-np.inf], c, [np.inf]))
    zp = b * cc - a
    p = np.maximum(_interval_prob(cc[:-1], cc[1:]), 1e-300)
    q = np.maximum(_interval_prob(zp[:-1], zp[1:]), 1e-300)
    ll = float(neg @ np.log(p) + pos @ np.log(q))
    phi_c = _pdf(cc)
    phi_z = _pdf(zp)
    wn = neg / p
    wp = pos / q
    # d ll / d c_m for the K-1 finite cutoffs
    d_c = phi_c[1:-1] * (wn[:-1] - wn[1:]) + b * phi_z[1:-1] * (wp[:-1] - wp[1:])
    d_a = float(-(wp * (phi_z[1:] - phi_z[:-1])).sum())
    czphi = np.where(np.isfinite(cc), np.nan_to_num(cc) * phi_z, 0.0)
    d_b = float((wp * (czphi[1:] - czphi[:-1])).sum())
    grad = np.empty_like(x)
    grad[0] = d_a
    grad[1] = d_b * b
    tail = np.cumsum(d_c[::-1])[::-1]  # sum_{m >= l} d ll / d c_m
    grad[2] = tail[0]
    grad[3:] = np.exp(x[3:]) * tail[1:]
    return -ll, -grad


def _start(neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    n0, n1 = neg.sum(), pos.sum()
    fpr = neg[::-1].cumsum()[::-1][1:] / n0
    tpr = pos[::-1].cumsum()[::-1][1:] / n1
    ok = (fpr > 0) & (fpr < 1) & (tpr > 0) & (tpr < 1)
    a, b = 1.0, 1.0
    if ok.sum() >= 2:
        xs, ys = special.ndtri(fpr[ok]), special.ndtri(tpr[ok])
        slope, icpt = np.polyfit(xs, ys, 1)
        if slope > 0.05:
            a, b = float(icpt), float(slope)
    elif ok.sum() == 1:
        a = float(special.ndtri(tpr[ok][0]) - special.ndtri(fpr[ok][0]))
    # thresholds from the pooled cumulative distribution of both classes on the latent scale
    cum0 = np.clip(1 - fpr, 0.5 / n0, 1 - 0.5 / n0)
    c = special.ndtri(cum0)
    c = np.maximum.accumulate(c)
    inc = np.maximum(np.diff(c), 1e-2)
    return np.concatenate(([a, math.log(b), c[0]], np.log(inc)))


def fit_binormal_counts(neg: np.ndarray, pos: np.ndarray) -> BinormalFit:
    """Binormal MLE from category counts (ascending rating order).

    Examples
    --------
    Counts proportional to the category probabilities of a = 1, b = 0.8, cutoffs
    (-0.5, 0.3, 1.0) give back those parameters, and AUC = Phi(1 / sqrt(1.64)):

    >>> from scipy.special import ndtr
    >>> cuts = np.array([-np.inf, -0.5, 0.3, 1.0, np.inf])
    >>> fit = fit_binormal_counts(1e4 * np.diff(ndtr(cuts)), 1e4 * np.diff(ndtr(0.8 * cuts - 1.0)))
    >>> round(fit.a, 6), round(fit.b, 6), round(fit.auc, 6), fit.converged
    (1.0, 0.8, 0.78256, True)
    """
    neg, pos = collapse_counts(np.asarray(neg, dtype=float), np.asarray(pos, dtype=float))
    deg = _degenerate_auc(neg, pos)
    if deg is not None:
        a = {0.5: 0.0, 1.0: math.inf, 0.0: -math.inf}[deg]
        return BinormalFit(a, 1.0, (), deg, True, True)
    x0 = _start(neg, pos)
    res = optimize.minimize(_negloglik_grad, x0, args=(neg, pos), jac=True, method="BFGS",
                            options={"gtol": 1e-10, "maxiter": 5000})
    x = res.x
    # polish with Newton steps on a finite-difference Hessian of the analytic gradient
    for _ in range(20):
        f0, g0 = _negloglik_grad(x, neg, pos)
        h = np.empty((x.size, x.size))
        eps = 1e-6
        for k in range(x.size):
            e = np.zeros_like(x)
            e[k] = eps
            h[:, k] = (_negloglik_grad(x + e, neg, pos)[1] - _negloglik_grad(x - e, neg, pos)[1]) / (2 * eps)
        h = 0.5 * (h + h.T)
        try:
            step = np.linalg.solve(h, g0)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        xn = x - step
        if _negloglik_grad(xn, neg, pos)[0] > f0 + 1e-12:
            break
        x = xn
        if np.max(np.abs(step)) < 1e-12:
            break
    a, b, c = _unpack(x)
    g = _negloglik_grad(x, neg, pos)[1]
    converged = bool(np.max(np.abs(g)) < 1e-6)
    auc = float(special.ndtr(a / math.sqrt(1.0 + b * b)))
    return BinormalFit(float(a), float(b), tuple(float(v) for v in c), auc, False, converged)


def _counts(x: np.ndarray, t: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.searchsorted(levels, x)
    k = levels.size
    return (np.bincount(idx[~t], minlength=k).astype(float), np.bincount(idx[t], minlength=k).astype(float))


BINORMAL_FITS = ("limit", "mrmcaov")


def _fit_auc(neg: np.ndarray, pos: np.ndarray, convention: str) -> tuple[float, bool, bool]:
    """(AUC, converged, boundary) of one fit under a fitting convention."""
    if convention == "mrmcaov":
        try:
            fit = fit_binormal_mrmcaov(neg, pos)
        except OptimiserError as exc:
            raise MRMCInputError(
                f"binormal_fit='mrmcaov': MRMCaov's fitting procedure fails on these ratings ({exc}). "
                "Fix: use binormal_fit='limit' (valkit's maximum-likelihood fit).") from None
        # trust stopping at its iteration limit is MRMCaov's answer too, so it is not flagged
        return fit.auc, True, fit.boundary
    fit = fit_binormal_counts(neg, pos)
    return fit.auc, fit.converged, fit.boundary


def binormal_jackknife(ratings: np.ndarray, truth: np.ndarray, *, fit: str = "limit") -> FomJackknife:
    """Binormal AUC of every reader x modality with its leave-one-case-out refits.

    Parameters
    ----------
    ratings : ndarray, shape (T, R, C)
        Ordinal ratings (``nan`` where not read).
    truth : ndarray of bool, shape (C,)
    fit : {"limit", "mrmcaov"}
        Fitting convention. "limit": valkit's maximum-likelihood fit; where the
        likelihood has no finite maximum (b -> 0 or infinity) the AUC is its limit.
        "mrmcaov": MRMCaov's procedure emulated step for step
        (:mod:`valkit.stats.mrmc.binormal_mrmcaov`): its starting values and trust-region
        optimiser, whose stopping point is the AUC of a boundary fit. Both agree (to the
        optimiser's tolerance, ~1e-7 in AUC) where a finite maximum exists.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> truth = np.repeat([False, True], 30)
    >>> r = np.clip(np.round(2.5 + truth + rng.normal(size=(2, 2, 60))), 1, 5)
    >>> jk = binormal_jackknife(r, truth)
    >>> jk.values.shape, jk.name
    ((2, 2), 'binormal')
    >>> bool(np.allclose(binormal_jackknife(r, truth, fit="mrmcaov").values, jk.values, atol=1e-5))
    True
    """
    if fit not in BINORMAL_FITS:
        raise MRMCInputError(f"binormal_fit: unknown option {fit!r}. Valid: {', '.join(BINORMAL_FITS)}.")
    x = np.asarray(ratings, dtype=float)
    t = np.asarray(truth, dtype=bool)
    n_mod, n_rdr, n_cases = x.shape
    flat = x.reshape(n_mod * n_rdr, n_cases)
    values = np.empty(flat.shape[0])
    loo = np.zeros((n_cases, flat.shape[0]))
    notes: list[int] = []
    boundary: set[str] = set()
    for g in range(flat.shape[0]):
        read = ~np.isnan(flat[g])
        xg, tg = flat[g, read], t[read]
        if tg.sum() < 2 or (~tg).sum() < 2:
            raise MRMCInputError(
                "truth: the binormal AUC needs at least 2 positive and 2 negative cases per reader "
                "x modality. Fix: add cases of the missing class."
            )
        levels = np.unique(xg)
        neg, pos = _counts(xg, tg, levels)
        n_cat = collapse_counts(neg, pos)[0].size
        if n_cat > MAX_CATEGORIES:
            raise MRMCInputError(
                f"fom='binormal': modality {g // n_rdr + 1}, reader {g % n_rdr + 1} has {n_cat} distinct "
                "rating categories; "
                f"the ordinal binormal fit takes at most {MAX_CATEGORIES}. Fix: bin continuous ratings (and "
                "model scores) onto a rating scale, or use fom='auc'.")
        full_auc, full_ok, full_boundary = _fit_auc(neg, pos, fit)
        if not full_ok:
            notes.append(g)
        if full_boundary:
            boundary.add(f"modality {g // n_rdr + 1}, reader {g % n_rdr + 1}")
        values[g] = full_auc
        cache: dict[tuple[int, bool], float] = {}
        cat = np.searchsorted(levels, xg)
        out = np.empty(xg.size)
        for i, (k, is_pos) in enumerate(zip(cat, tg)):
            key = (int(k), bool(is_pos))
            if key not in cache:
                n2, p2 = neg.copy(), pos.copy()
                (p2 if is_pos else n2)[k] -= 1
                auc, ok, at_boundary = _fit_auc(n2, p2, fit)
                if not ok:
                    notes.append(g)
                if at_boundary:
                    case_no = int(np.flatnonzero(read)[i]) + 1
                    boundary.add(f"modality {g // n_rdr + 1}, reader {g % n_rdr + 1}, leaving out case "
                                 f"#{case_no} (and any case of the same rating and truth)")
                cache[key] = auc
            out[i] = cache[key]
        loo[read, g] = out
        loo[~read, g] = full_auc
    if notes:
        warnings.warn(
            f"binormal fit did not converge for reader x modality group(s) {sorted(set(notes))}; "
            "their AUC is the last iterate",
            NotEstimableWarning, stacklevel=2,
        )
    dev = loo - values[None, :]
    used = ("the AUC used is the limit (MRMCaov reports wherever its optimiser stops; "
            "binormal_fit='mrmcaov' emulates that)" if fit == "limit" else
            "the AUC used is where MRMCaov's optimiser stops (binormal_fit='mrmcaov'; "
            "binormal_fit='limit' gives the limit)")
    remarks = tuple(
        f"binormal fit has no finite maximum-likelihood estimate (b -> 0 or infinity) for {where}; {used}"
        for where in sorted(boundary))
    return FomJackknife(values=values.reshape(n_mod, n_rdr), deviations=dev, n_jackknife=n_cases,
                        case_index=np.arange(n_cases), name="binormal", notes=remarks)
