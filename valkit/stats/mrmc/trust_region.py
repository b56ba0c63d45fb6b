"""The optimisers MRMCaov's binormal fit runs in R, re-implemented for its emulation.

- :func:`trust_region` -- Geyer's trust-region method, R package trust (CRAN 0.1-8)
  (cran/trust@59a9e43 ``R/trust.R``; Fletcher 1987 sec. 5.1, Nocedal & Wright 1999 sec. 4.2),
  default arguments iterlim = 100, fterm = mterm = sqrt(.Machine$double.eps).
- :func:`brent_fmin` -- R's ``optimize()``: Brent's (1973) localmin as ``Brent_fmin`` in
  wch/r-source ``src/library/stats/src/optimize.c``, tol = .Machine$double.eps^0.25.
- :func:`zeroin` -- R's ``uniroot()`` (which trust calls for its step length): the
  Forsythe-Malcolm-Moler zeroin as ``R_zeroin2`` in ``src/library/stats/src/zeroin.c``,
  tol = .Machine$double.eps^0.25, maxiter = 1000.

They are re-implemented rather than borrowed from scipy because the iterates must match R's
(on a fit without a finite maximum the answer is wherever the trust-region path stands after
its last iteration): scipy's ``fminbound`` runs the same fmin but takes sqrt(2.2e-16) for
sqrt(eps), stops after 500 evaluations, keeps non-finite values and breaks an x == xm tie
the other way (on the Van Dyke fits it gives the same cutoffs); ``brentq`` uses its own
tolerance (xtol + rtol |x|) and step rule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_EPS = float(np.finfo(float).eps)
_SQRT_EPS = math.sqrt(_EPS)        # R: sqrt(.Machine$double.eps), trust's fterm and mterm
_TOL_R = _EPS ** 0.25              # R: .Machine$double.eps^0.25, optimize() and uniroot() tol
_DBL_MAX = float(np.finfo(float).max)


class OptimiserError(ArithmeticError):
    """The R original would stop with an error here (non-finite start, NaN value...)."""


@dataclass(frozen=True)
class TrustResult:
    """Final iterate of :func:`trust_region` (the fields of trust's return value we use)."""

    argument: np.ndarray
    value: float
    converged: bool
    iterations: int


def brent_fmin(f, ax: float, bx: float, tol: float = _TOL_R) -> float:
    """Minimiser of ``f`` on [ax, bx] by Brent's golden-section / parabolic search, with
    R's ``optimize()`` stopping rule (tol1 = sqrt(eps)|x| + tol/3) and its replacement of a
    non-finite value by DBL_MAX.

    >>> round(brent_fmin(lambda x: (x - 0.3) ** 2, 0.0, 1.0), 4)
    0.3
    """
    def fv(x: float) -> float:
        v = float(f(x))
        return v if math.isfinite(v) else _DBL_MAX

    golden = (3.0 - math.sqrt(5.0)) * 0.5
    eps = _SQRT_EPS
    a, b = ax, bx
    v = a + golden * (b - a)
    w = x = v
    d = e = 0.0
    fx = fv(x)
    fv_, fw = fx, fx
    tol3 = tol / 3.0
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol3
        t2 = tol1 * 2.0
        if abs(x - xm) <= t2 - (b - a) * 0.5:
            return x
        p = q = r = 0.0
        if abs(e) > tol1:  # trial parabola through x, w, v
            r = (x - w) * (fx - fv_)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = (q - r) * 2.0
            if q > 0.0:
                p = -p
            else:
                q = -q
            r = e
            e = d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)  # golden section
            d = golden * e
        else:
            d = p / q  # parabolic step, kept away from the ends
            u = x + d
            if u - a < t2 or b - u < t2:
                d = tol1 if x < xm else -tol1
        if abs(d) >= tol1:
            u = x + d
        elif d > 0.0:
            u = x + tol1
        else:
            u = x - tol1
        fu = fv(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, w, x = w, x, u
            fv_, fw, fx = fw, fx, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv_ = w, fw
                w, fw = u, fu
            elif fu <= fv_ or v == x or v == w:
                v, fv_ = u, fu


def zeroin(f, ax: float, bx: float, fa: float, fb: float, tol: float = _TOL_R,
           maxiter: int = 1000) -> float:
    """Root of ``f`` in [ax, bx] (f(ax), f(bx) of opposite signs) by the Forsythe-Malcolm-
    Moler zeroin (bisection with linear / inverse quadratic interpolation), R's ``uniroot``
    defaults: tolerance 2 eps |b| + tol/2 with tol = eps^0.25.

    >>> abs(zeroin(lambda x: x * x - 2.0, 0.0, 2.0, -2.0, 2.0) - math.sqrt(2.0)) < 1e-4
    True
    """
    def fv(x: float) -> float:
        v = float(f(x))
        if math.isfinite(v):
            return v
        return -_DBL_MAX if v == -math.inf else _DBL_MAX

    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):  # b must be the best approximation
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):  # try interpolation
            cb = c - b
            if a == c:  # linear
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = fv(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def trust_region(objfun, parinit: np.ndarray, rinit: float = 1.0, rmax: float = 10.0, *,
                 iterlim: int = 100, fterm: float = _SQRT_EPS, mterm: float = _SQRT_EPS) -> TrustResult:
    """Minimise ``objfun`` (returning value, gradient, Hessian) by the trust-region method of
    the R package trust (Geyer; Fletcher 1987 sec. 5.1, Nocedal & Wright 1999 sec. 4.2).

    Each iteration solves the subproblem min g'p + p'Bp/2, |p| <= r exactly through the
    eigendecomposition of B: the Newton step when B is positive definite and the step fits,
    else p = -(B + lambda I)^{-1} g with |p| = r (lambda by ``zeroin``), or the "hard case".
    A step is taken when the actual decrease is at least 1/4 of the predicted one; r is
    quartered otherwise and doubled (up to rmax) after a very good non-Newton step. It stops
    when a step changes the value by less than ``fterm`` or predicts less than ``mterm``.

    >>> res = trust_region(lambda x: (float(x @ x), 2 * x, 2 * np.eye(2)), np.array([3.0, 4.0]))
    >>> np.round(res.argument, 12).tolist(), res.converged
    ([0.0, 0.0], True)
    """
    theta = np.array(parinit, dtype=float)
    if not np.all(np.isfinite(theta)):
        raise OptimiserError("trust: parinit not all finite")
    r = float(rinit)
    out = _checked(objfun(theta))
    accept = True
    is_terminate = False
    f = math.nan
    g = b_mat = values = vectors = gq = None
    iteration = 0
    for iteration in range(1, iterlim + 1):
        if accept:
            f, g, b_mat = out
            values, vectors = np.linalg.eigh(b_mat)
            values, vectors = values[::-1], vectors[:, ::-1]  # R's eigen(): decreasing order
            gq = vectors.T @ g
        is_newton = False
        if np.all(values > 0):
            ptry = -(vectors @ (gq / values))
            if np.linalg.norm(ptry) <= r:
                is_newton = True
        if not is_newton:
            ptry = _constrained_step(values, vectors, gq, r)
        preddiff = float(np.sum(ptry * (g + (b_mat @ ptry) / 2.0)))
        theta_try = theta + ptry
        out = _checked(objfun(theta_try))
        ftry = out[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = float(np.float64(ftry - f) / np.float64(preddiff))  # IEEE, as in R
        if ftry < math.inf:
            is_terminate = abs(ftry - f) < fterm or abs(preddiff) < mterm
        else:
            is_terminate = False
            rho = -math.inf
        if is_terminate:
            if ftry < f:
                accept = True
                theta = theta_try
        else:
            if math.isnan(rho):
                raise OptimiserError("trust: the ratio of actual to predicted decrease is NaN")
            if rho < 0.25:
                accept = False
                r = r / 4.0
            else:
                accept = True
                theta = theta_try
                if rho > 0.75 and not is_newton:
                    r = min(2.0 * r, rmax)
        if is_terminate:
            break
    final = _checked(objfun(theta))
    return TrustResult(argument=theta, value=final[0], converged=bool(is_terminate), iterations=iteration)


def _checked(out):
    value, grad, hess = out
    value = float(value)
    if math.isnan(value) or value == -math.inf:
        raise OptimiserError(f"trust: objective value {value}")
    if math.isfinite(value) and not (np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
        raise OptimiserError("trust: gradient or Hessian not finite")
    return value, np.asarray(grad, dtype=float), np.asarray(hess, dtype=float)


def _constrained_step(values: np.ndarray, vectors: np.ndarray, gq: np.ndarray, r: float) -> np.ndarray:
    """Step on the trust-region boundary (trust's non-Newton branch)."""
    beta = values - values.min()
    imin = beta == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        c1 = float(np.sum((gq[~imin] / beta[~imin]) ** 2))
    c2 = float(np.sum(gq[imin] ** 2))
    c3 = float(np.sum(gq ** 2))
    if c2 > 0 or c1 > r * r:
        beta_dn = math.sqrt(c2) / r
        beta_up = math.sqrt(c3) / r

        def fred(beep: float) -> float:
            if beep == 0:
                return -1.0 / r if c2 > 0 else math.sqrt(1.0 / c1) - 1.0 / r
            with np.errstate(divide="ignore"):
                return float(math.sqrt(1.0 / np.sum((gq / (beta + beep)) ** 2)) - 1.0 / r)

        f_up = fred(beta_up)
        if math.isnan(f_up):
            raise OptimiserError("trust: NaN in the trust-region subproblem")
        if f_up <= 0:
            root = beta_up
        else:
            f_dn = fred(beta_dn)
            if math.isnan(f_dn):
                raise OptimiserError("trust: NaN in the trust-region subproblem")
            if f_dn >= 0:
                root = beta_dn
            else:
                root = zeroin(fred, beta_dn, beta_up, f_dn, f_up)
        return -(vectors @ (gq / (beta + root)))
    # hard-hard case: the minimum-eigenvalue direction fills the rest of the radius
    with np.errstate(divide="ignore", invalid="ignore"):
        wtry = gq / beta
    wtry[imin] = 0.0
    ptry = -(vectors @ wtry)
    utry = math.sqrt(r * r - float(np.sum(ptry ** 2))) if r * r > np.sum(ptry ** 2) else 0.0
    if utry > 0:
        ptry = ptry + utry * vectors[:, np.flatnonzero(imin)[0]]
    return ptry
