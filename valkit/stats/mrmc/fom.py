"""Figures of merit (FOM) of every reader x modality, with their jackknife.

Each FOM function returns a :class:`FomJackknife`: the FOM of each reader under each
modality, plus the change in it when each case in turn is left out. Everything the
Obuchowski-Rockette and DBM analyses need (jackknife covariances, pseudovalues)
follows from those two arrays.

Empirical AUC
    The trapezoidal area = Mann-Whitney U / (n1 n0), ties counted one half. Its
    leave-one-case-out values need no refitting: with the DeLong placement values
    (structural components) ``V10_i`` of positive case i and ``V01_j`` of negative
    case j, ``AUC_(i) = (n1 AUC - V10_i) / (n1 - 1)`` and
    ``AUC_(j) = (n0 AUC - V01_j) / (n0 - 1)``. All placement values of a reader come
    from one sort, so the whole jackknife is O(C log C) per reader x modality.
Sensitivity / specificity at a threshold
    A case is called positive when ``rating >= threshold``. The jackknife runs over
    the cases of the relevant truth class only (positives for sensitivity), as in
    MRMCaov's ``binary_sens``; it equals the unbiased binomial covariance.
Binormal AUC
    ``Phi(a / sqrt(1 + b^2))`` of the maximum-likelihood binormal fit (Dorfman & Alf
    1969) to the ordinal ratings; see :mod:`valkit.stats.mrmc.binormal`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from valkit.stats.mrmc.options import MRMCInputError


@dataclass(frozen=True)
class FomJackknife:
    """FOM estimates and their leave-one-case-out changes.

    Attributes
    ----------
    values : ndarray, shape (T, R)
        FOM of reader r under modality t.
    deviations : ndarray, shape (n, T*R)
        ``theta_(k) - theta`` for jackknife case k and group g = t * R + r; zero where
        case k was not read by that group (it cannot change that FOM).
    n_jackknife : int
        Number of cases the jackknife leaves out in turn (all cases for AUC, the
        positives for sensitivity, the negatives for specificity).
    case_index : ndarray, shape (n,)
        Index (into the case axis of the ratings) of each jackknife case.
    name : str
        Key prefix of the FOM ("auc", "sens.ge3", "binormal", ...).
    notes : tuple of str
        Remarks on the estimation (e.g. binormal fits without a finite maximum).
    """

    values: np.ndarray
    deviations: np.ndarray
    n_jackknife: int
    case_index: np.ndarray
    name: str
    notes: tuple[str, ...] = ()

    def pseudovalues(self) -> np.ndarray:
        """DBM pseudovalues ``n theta - (n - 1) theta_(k)``, shape (n, T*R)."""
        n = self.n_jackknife
        return self.values.reshape(1, -1) - (n - 1) * self.deviations

    def covariance(self) -> np.ndarray:
        """Jackknife covariance ``(n-1)/n sum_k d_k d_k'`` of the T*R FOMs.

        The mean of the leave-one-out values equals the estimate for the AUC and for
        proportions, so centring on ``theta`` is the textbook centring on their mean.
        """
        d = self.deviations - self.deviations.mean(axis=0, keepdims=True)
        n = self.n_jackknife
        # einsum rather than BLAS: a (C x G)'(C x G) product is small, and a multithreaded
        # BLAS call is slowed 10-100x on a loaded machine by threads waiting for a core
        return (n - 1) / n * np.einsum("ki,kj->ij", d, d)


def placement_values(ratings: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DeLong placement values of every group in one pass.

    Parameters
    ----------
    ratings : ndarray, shape (G, C)
        Ratings of G reader x modality groups on the same C cases (no nan).
    truth : ndarray of bool, shape (C,)

    Returns
    -------
    auc : ndarray (G,)
    v10 : ndarray (G, n1)
        For each positive case, the fraction of negatives rated below it (ties 1/2).
    v01 : ndarray (G, n0)
        For each negative case, the fraction of positives rated above it (ties 1/2).

    Examples
    --------
    >>> auc, v10, v01 = placement_values(np.array([[1., 2., 2., 3.]]), np.array([0, 0, 1, 1], bool))
    >>> float(auc[0]), v10.tolist(), v01.tolist()
    (0.875, [[0.75, 1.0]], [[1.0, 0.75]])
    """
    x = np.asarray(ratings, dtype=float)
    t = np.asarray(truth, dtype=bool)
    n1 = int(t.sum())
    n0 = t.size - n1
    placement = _placements(x, t, n1, n0)
    v10, v01 = placement[:, t], placement[:, ~t]
    auc = v10.mean(axis=1) if n1 else np.full(x.shape[0], np.nan)
    return auc, v10, v01


def _placements(x: np.ndarray, t: np.ndarray, n1: int, n0: int) -> np.ndarray:
    """Placement value of every case (V10 for positives, V01 for negatives), shape (G, C)."""
    codes = _integer_codes(x)
    if codes is not None:
        return _placements_by_counting(codes, t, n1, n0)
    return _placements_by_sorting(x, t, n1, n0)


def _integer_codes(x: np.ndarray, max_levels: int = 4096) -> np.ndarray | None:
    """Ratings as small non-negative integer codes when they are integers on a short scale."""
    lo, hi = x.min(), x.max()
    if not (hi - lo < max_levels) or not np.array_equal(x, np.floor(x)):
        return None
    return (x - lo).astype(np.intp)


def _placements_by_counting(codes: np.ndarray, t: np.ndarray, n1: int, n0: int):
    """Ordinal ratings: per-level class counts, no sort (O(G C))."""
    g = codes.shape[0]
    k = int(codes.max()) + 1
    offs = (np.arange(g) * k)[:, None]
    pos_n = np.bincount((codes[:, t] + offs).ravel(), minlength=g * k).reshape(g, k)
    neg_n = np.bincount((codes[:, ~t] + offs).ravel(), minlength=g * k).reshape(g, k)
    neg_below = np.cumsum(neg_n, axis=1) - neg_n
    pos_above = n1 - np.cumsum(pos_n, axis=1)
    v10_level = (neg_below + 0.5 * neg_n) / max(n0, 1)
    v01_level = (pos_above + 0.5 * pos_n) / max(n1, 1)
    level = np.where(t[None, :], 0, k) + codes  # positives look up v10, negatives v01
    return np.take_along_axis(np.concatenate([v10_level, v01_level], axis=1), level, axis=1)


def _placements_by_sorting(x: np.ndarray, t: np.ndarray, n1: int, n0: int):
    """Continuous ratings: one sort per group, tie groups handled with mid-counts."""
    g, c = x.shape
    order = np.argsort(x, axis=1)
    xs = np.take_along_axis(x, order, axis=1)
    pos = t[order]  # (G, C) positive flag in sorted order
    new = np.empty((g, c), dtype=bool)
    new[:, 0] = True
    np.not_equal(xs[:, 1:], xs[:, :-1], out=new[:, 1:])
    pos_below_incl = np.cumsum(pos, axis=1)
    if new.all():  # no ties: ranks are positions
        position = np.arange(c)[None, :]
        pos_below = pos_below_incl - pos
        neg_below = position - pos_below
        placement_sorted = np.where(pos, neg_below / max(n0, 1), (n1 - pos_below) / max(n1, 1))
    else:
        flat_new = new.ravel()
        gid = np.cumsum(flat_new) - 1  # tie-group id, unique across rows
        pos_f = pos.ravel().astype(np.float64)
        pos_in = np.bincount(gid, weights=pos_f)
        size = np.bincount(gid)
        neg_in = size - pos_in
        cum_pos = pos_below_incl.ravel() - pos_f
        starts = np.flatnonzero(flat_new)
        pos_below = cum_pos[starts]
        neg_below = (starts % c) - pos_below
        placement_sorted = np.where(
            pos.ravel(),
            (neg_below[gid] + 0.5 * neg_in[gid]) / max(n0, 1),
            ((n1 - pos_below - pos_in)[gid] + 0.5 * pos_in[gid]) / max(n1, 1),
        ).reshape(g, c)
    placement = np.empty_like(placement_sorted, dtype=float)
    np.put_along_axis(placement, order, placement_sorted, axis=1)
    return placement


def _check_classes(truth: np.ndarray, where: str) -> None:
    n1 = int(truth.sum())
    n0 = truth.size - n1
    if n1 < 2 or n0 < 2:
        raise MRMCInputError(
            f"{where}: the AUC and its jackknife need at least 2 positive and 2 negative cases; "
            f"found {n1} positive and {n0} negative. Fix: add cases of the missing class."
        )


def auc_jackknife(ratings: np.ndarray, truth: np.ndarray) -> FomJackknife:
    """Empirical (trapezoidal / Wilcoxon) AUC of every reader x modality, with its jackknife.

    Parameters
    ----------
    ratings : ndarray, shape (T, R, C)
        ``nan`` marks a case not read by that reader under that modality.
    truth : ndarray of bool, shape (C,)

    Examples
    --------
    >>> r = np.array([[[1., 2., 3., 4.]], [[1., 3., 2., 4.]]])
    >>> jk = auc_jackknife(r, np.array([0, 0, 1, 1], bool))
    >>> jk.values.ravel().tolist()
    [1.0, 0.75]
    """
    x = np.asarray(ratings, dtype=float)
    t = np.asarray(truth, dtype=bool)
    n_mod, n_rdr, n_cases = x.shape
    flat = x.reshape(n_mod * n_rdr, n_cases)
    read = ~np.isnan(flat)
    dev = np.zeros((n_cases, flat.shape[0]))
    values = np.empty(flat.shape[0])
    if read.all():
        _check_classes(t, "truth")
        n1 = int(t.sum())
        n0 = n_cases - n1
        placement = _placements(flat, t, n1, n0)
        auc = np.einsum("gc,c->g", placement, t.astype(float)) / n1
        values[:] = auc
        # AUC_(k) - AUC = (AUC - V_k) / (n_class - 1), one pass in (G, C) layout then one transpose
        scale = np.where(t, 1.0 / (n1 - 1), 1.0 / (n0 - 1))
        dev = np.ascontiguousarray(((auc[:, None] - placement) * scale).T)
    else:
        for gi in range(flat.shape[0]):
            m = read[gi]
            tg = t[m]
            _check_classes(tg, f"reader x modality group {gi}")
            auc, v10, v01 = placement_values(flat[gi, m][None, :], tg)
            values[gi] = auc[0]
            n1 = int(tg.sum())
            n0 = tg.size - n1
            d = np.empty(tg.size)
            d[tg] = (auc[0] - v10[0]) / (n1 - 1)
            d[~tg] = (auc[0] - v01[0]) / (n0 - 1)
            dev[m, gi] = d
    return FomJackknife(
        values=values.reshape(n_mod, n_rdr),
        deviations=dev,
        n_jackknife=n_cases,
        case_index=np.arange(n_cases),
        name="auc",
    )


def threshold_tag(threshold: float) -> str:
    """Key fragment for a threshold: ``3 -> 'ge3'``, ``0.5 -> 'ge0.5'``.

    >>> threshold_tag(3.0), threshold_tag(0.5), threshold_tag(-1)
    ('ge3', 'ge0.5', 'ge-1')
    """
    return f"ge{float(threshold):g}"


def binary_jackknife(
    ratings: np.ndarray, truth: np.ndarray, *, threshold: float, which: str
) -> FomJackknife:
    """Sensitivity or specificity of the rule ``rating >= threshold``, with its jackknife.

    Parameters
    ----------
    which : {"sensitivity", "specificity"}

    Examples
    --------
    >>> r = np.array([[[1., 3., 3., 4.]], [[1., 2., 2., 4.]]])
    >>> jk = binary_jackknife(r, np.array([0, 0, 1, 1], bool), threshold=3, which="sensitivity")
    >>> jk.values.ravel().tolist(), jk.name
    ([1.0, 0.5], 'sens.ge3')
    """
    x = np.asarray(ratings, dtype=float)
    t = np.asarray(truth, dtype=bool)
    n_mod, n_rdr, _ = x.shape
    if which == "sensitivity":
        keep, prefix = t, "sens"
    elif which == "specificity":
        keep, prefix = ~t, "spec"
    else:  # pragma: no cover - callers dispatch through a dict
        raise MRMCInputError(f"which: expected 'sensitivity' or 'specificity', got {which!r}.")
    idx = np.flatnonzero(keep)
    sub = x[:, :, idx].reshape(n_mod * n_rdr, idx.size)
    read = ~np.isnan(sub)
    hits = np.where(read, (sub >= threshold) if which == "sensitivity" else (sub < threshold), False)
    n_g = read.sum(axis=1)
    if np.any(n_g < 2):
        cls = "positive" if which == "sensitivity" else "negative"
        raise MRMCInputError(
            f"truth: {which} needs at least 2 {cls} cases read by every reader under every "
            f"modality; found {int(n_g.min())}. Fix: add {cls} cases."
        )
    values = hits.sum(axis=1) / n_g
    dev = np.where(read, (values[:, None] - hits) / (n_g[:, None] - 1), 0.0).T
    return FomJackknife(
        values=values.reshape(n_mod, n_rdr),
        deviations=dev,
        n_jackknife=int(idx.size),
        case_index=idx,
        name=f"{prefix}.{threshold_tag(threshold)}",
    )
