"""Direct O(n^2) transcriptions of the published formulas, used only as test oracles."""
import numpy as np


def psi_matrix(y, s):
    y, s = np.asarray(y), np.asarray(s, float)
    x, z = s[y == 1], s[y == 0]
    return (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])


def delong_naive(y, *scores):
    """DeLong et al. (1988) eq. 4-5 straight from the psi kernel."""
    psis = [psi_matrix(y, s) for s in scores]
    aucs = np.array([p.mean() for p in psis])
    v10 = np.stack([p.mean(axis=1) for p in psis])
    v01 = np.stack([p.mean(axis=0) for p in psis])
    m, n = v10.shape[1], v01.shape[1]
    return aucs, np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n


def obuchowski_naive(y, s, cluster):
    """Obuchowski (1997) variance, written from the paper's definitions with explicit loops over clusters."""
    y, s, cluster = np.asarray(y), np.asarray(s, float), np.asarray(cluster)
    ids = np.unique(cluster)
    pos, neg = s[y == 1], s[y == 0]
    n1, n0 = len(pos), len(neg)
    theta = psi_matrix(y, s).mean()
    v10, v01, m_i, n_i = [], [], [], []
    for c in ids:
        xs = s[(cluster == c) & (y == 1)]
        ys = s[(cluster == c) & (y == 0)]
        v10.append(sum(((x > neg) + 0.5 * (x == neg)).sum() for x in xs) / n0)
        v01.append(sum(((pos > v) + 0.5 * (pos == v)).sum() for v in ys) / n1)
        m_i.append(len(xs))
        n_i.append(len(ys))
    v10, v01, m_i, n_i = map(np.array, (v10, v01, m_i, n_i))
    i10, i01, i = (m_i > 0).sum(), (n_i > 0).sum(), len(ids)
    s10 = i10 / ((i10 - 1) * n1) * np.sum((v10 - m_i * theta) ** 2)
    s01 = i01 / ((i01 - 1) * n0) * np.sum((v01 - n_i * theta) ** 2)
    s11 = i / (i - 1) * np.sum((v10 - m_i * theta) * (v01 - n_i * theta))
    return theta, s10 / n1 + s01 / n0 + 2 * s11 / (n1 * n0)
