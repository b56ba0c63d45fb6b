"""Covariance matrices of the reader x modality AUCs (the OR error covariance).

``jackknife``
    ``(n-1)/n sum_k (theta_(k) - mean)(theta_(k) - mean)'`` over left-out cases; any FOM,
    any design. For nested designs the sum runs over all cases of the study, a case
    not read by a group leaving its FOM unchanged (MRMCaov's convention).
``delong``
    DeLong, DeLong & Clarke-Pearson (1988): ``S10 / n1 + S01 / n0`` from the placement
    values; empirical AUC, fully crossed designs.
``unbiased``
    The U-statistic estimator of Gallas, Pennello & Myers (2007) (iMRMC, MRMCaov's
    ``unbiased``); empirical AUC, any design. It is unbiased but not constrained to be
    positive definite: a variance of a difference can come out negative. Exact in
    O(n1 n0 G^2) in general, O(G^2 (C + K^3)) for integer ratings on a scale of K <= 64 levels.

Groups are ordered g = t * R + r (modality-major), as in :class:`FomJackknife`.
"""
from __future__ import annotations

import numpy as np

from valkit.stats.mrmc.fom import placement_values
from valkit.stats.mrmc.options import MRMCInputError


def delong_covariance(ratings: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """DeLong covariance of the T*R empirical AUCs (fully crossed designs only).

    Examples
    --------
    >>> r = np.array([[[1., 2., 3., 4., 2.]], [[1., 3., 2., 4., 5.]]])
    >>> cov = delong_covariance(r, np.array([0, 0, 1, 1, 1], bool))
    >>> cov.shape, bool(np.allclose(cov, cov.T))
    ((2, 2), True)
    """
    x = np.asarray(ratings, dtype=float)
    t = np.asarray(truth, dtype=bool)
    n_mod, n_rdr, n_cases = x.shape
    if np.isnan(x).any():
        raise MRMCInputError(
            "covariance: 'delong' needs a fully crossed design (every reader reads every case "
            "under every modality). Fix: use covariance='jackknife' or 'unbiased' for nested designs."
        )
    auc, v10, v01 = placement_values(x.reshape(n_mod * n_rdr, n_cases), t)
    n1, n0 = v10.shape[1], v01.shape[1]
    d10 = v10 - auc[:, None]
    d01 = v01 - auc[:, None]
    s10 = d10 @ d10.T / (n1 - 1)
    s01 = d01 @ d01.T / (n0 - 1)
    return s10 / n1 + s01 / n0


def _psi_sums(pos: np.ndarray, neg: np.ndarray, pos_read: np.ndarray, neg_read: np.ndarray,
              chunk: int) -> np.ndarray:
    """sum_ij psi_ijg psi_ijh over positive i and negative j read by both g and h.

    Computed in blocks of positives so memory stays O(chunk * n0 * G); the flop count is
    O(n1 n0 G^2), the price of the exact U-statistic.
    """
    n_groups = pos.shape[0]
    out = np.zeros((n_groups, n_groups))
    for start in range(0, pos.shape[1], chunk):
        p = pos[:, start:start + chunk]  # (G, b)
        pr = pos_read[:, start:start + chunk]
        psi = 0.5 * (np.sign(p[:, :, None] - neg[:, None, :]) + 1.0)  # (G, b, n0)
        psi *= pr[:, :, None] & neg_read[:, None, :]
        flat = psi.reshape(n_groups, -1)
        out += flat @ flat.T
    return out


def _psi_sums_ordinal(pos_codes: np.ndarray, neg_codes: np.ndarray, pos_read: np.ndarray,
                      neg_read: np.ndarray, k: int) -> np.ndarray:
    """The same sums for ratings on a K-level scale, from joint rating histograms.

    sum_ij psi(a_i, c_j) psi(b_i, d_j) = sum_ab P[a, b] (Psi N Psi')[a, b], with P (N) the joint
    histogram of the two groups' ratings over shared positives (negatives): O(G^2 (C + K^3)).
    """
    n_groups = pos_codes.shape[0]
    lv = np.arange(k)
    kernel = (lv[:, None] > lv[None, :]) + 0.5 * (lv[:, None] == lv[None, :])
    offs = (np.arange(n_groups) * k * k)[:, None]
    out = np.empty((n_groups, n_groups))
    for g in range(n_groups):
        wp = (pos_read[g][None, :] & pos_read).ravel().astype(float)
        wn = (neg_read[g][None, :] & neg_read).ravel().astype(float)
        hp = np.bincount((pos_codes[g][None, :] * k + pos_codes + offs).ravel(), weights=wp,
                         minlength=n_groups * k * k).reshape(n_groups, k, k)
        hn = np.bincount((neg_codes[g][None, :] * k + neg_codes + offs).ravel(), weights=wn,
                         minlength=n_groups * k * k).reshape(n_groups, k, k)
        smooth = np.einsum("ac,hcd,bd->hab", kernel, hn, kernel)
        out[g] = np.einsum("hab,hab->h", hp, smooth)
    return out


def unbiased_covariance(ratings: np.ndarray, truth: np.ndarray, *, chunk_cells: int = 4_000_000
                        ) -> np.ndarray:
    """Gallas (2007) U-statistic covariance of the T*R empirical AUCs; any design.

    For groups g, h with ``n1g, n0g`` positives/negatives and ``n1s, n0s`` shared
    ones, with ``S`` the sum of all kernel values psi, ``P_i`` (``N_j``) the row (column)
    sums of positive i (negative j)::

        delta = n1g n0g n1h n0h / (n1g n0g n1h n0h - n1g n0s n1h - n0g n1s n0h + n1s n0s)
        cov = [(1 - delta) S_g S_h + delta (sum_i P_ig P_ih + sum_j N_jg N_jh
               - sum_ij psi_ijg psi_ijh)] / (n1g n0g n1h n0h)

    Examples
    --------
    >>> r = np.array([[[1., 2., 3., 4., 2.]], [[1., 3., 2., 4., 5.]]])
    >>> cov = unbiased_covariance(r, np.array([0, 0, 1, 1, 1], bool))
    >>> bool(np.allclose(cov, cov.T))
    True
    """
    x = np.asarray(ratings, dtype=float)
    t = np.asarray(truth, dtype=bool)
    n_mod, n_rdr, n_cases = x.shape
    flat = x.reshape(n_mod * n_rdr, n_cases)
    read = ~np.isnan(flat)
    pos, neg = np.nan_to_num(flat[:, t]), np.nan_to_num(flat[:, ~t])
    pos_read, neg_read = read[:, t], read[:, ~t]
    n1g = pos_read.sum(axis=1).astype(float)
    n0g = neg_read.sum(axis=1).astype(float)
    if np.any(n1g < 2) or np.any(n0g < 2):
        raise MRMCInputError(
            "truth: the unbiased covariance needs at least 2 positive and 2 negative cases per "
            "reader x modality. Fix: add cases of the missing class."
        )
    # row / column sums of psi, zero for unread cases
    row = np.zeros(pos.shape)
    col = np.zeros(neg.shape)
    for gi in range(flat.shape[0]):
        pm, nm = pos_read[gi], neg_read[gi]
        if pm.all() and nm.all():
            _, v10, v01 = placement_values(flat[gi][None, :], t)
        else:
            tg = t[read[gi]]
            _, v10, v01 = placement_values(flat[gi, read[gi]][None, :], tg)
        row[gi, pm] = v10[0] * n0g[gi]
        col[gi, nm] = v01[0] * n1g[gi]
    total = row.sum(axis=1)
    n1s = pos_read.astype(float) @ pos_read.T.astype(float)
    n0s = neg_read.astype(float) @ neg_read.T.astype(float)
    finite = flat[read]
    lo = finite.min()
    if finite.max() - lo < 64 and np.array_equal(finite, np.floor(finite)):  # a rating scale
        codes = np.where(read, np.nan_to_num(flat - lo), 0).astype(np.intp)
        psi2 = _psi_sums_ordinal(codes[:, t], codes[:, ~t], pos_read, neg_read, int(finite.max() - lo) + 1)
    else:
        chunk = max(1, chunk_cells // max(1, neg.shape[1] * flat.shape[0]))
        psi2 = _psi_sums(pos, neg, pos_read, neg_read, chunk)
    pairs_g = n1g * n0g
    nxny = np.outer(pairs_g, pairs_g)
    denom = nxny - np.outer(n1g, n1g) * n0s - np.outer(n0g, n0g) * n1s + n1s * n0s
    delta = nxny / denom
    num = (1.0 - delta) * np.outer(total, total) + delta * (row @ row.T + col @ col.T - psi2)
    return num / nxny
