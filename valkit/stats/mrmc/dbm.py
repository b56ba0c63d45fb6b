"""Dorfman-Berbaum-Metz (DBM) analysis: ANOVA of jackknife pseudovalues.

Dorfman, Berbaum & Metz (1992) turn each reader x modality FOM into C pseudovalues
``Y_trk = C theta_tr - (C - 1) theta_tr(k)`` and analyse them as a three-way
modality x reader x case ANOVA with one observation per cell. Hillis, Berbaum &
Metz (2008) replaced the original denominator with ``MS(T*R) + max[MS(T*C) -
MS(T*R*C), 0]`` and Satterthwaite-type ddf, which makes DBM with jackknife
pseudovalues identical to the OR RRRC test with jackknife covariances. Fully crossed
designs only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from valkit.stats.mrmc.obuchowski_rockette import Difference, _f_p, _pairs, _t_interval


@dataclass(frozen=True)
class DBMTest:
    analysis: str
    f: float
    df1: float
    ddf: float
    p_value: float
    denominator: float
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class DBMResult:
    """Pseudovalue ANOVA: mean squares, variance components and the three tests."""

    ms: dict[str, float]
    df: dict[str, int]
    components: dict[str, float]
    rrrc: DBMTest
    frrc: DBMTest
    rrfc: DBMTest


def dbm_analysis(pseudovalues: np.ndarray, n_mod: int, n_rdr: int, *, alpha: float = 0.05) -> DBMResult:
    """DBM analysis of pseudovalues of shape (C, T*R) (groups ordered g = t * R + r).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=(30, 2 * 3))
    >>> res = dbm_analysis(y, 2, 3)
    >>> sorted(res.ms)
    ['C', 'R', 'RC', 'T', 'TC', 'TR', 'TRC']
    """
    y = np.asarray(pseudovalues, dtype=float)
    n_cases = y.shape[0]
    y3 = y.reshape(n_cases, n_mod, n_rdr)  # (C, T, R) view, no copy
    t, r, c = n_mod, n_rdr, n_cases
    m_tc = y3.mean(axis=2)  # (C, T)
    m_rc = y3.mean(axis=1)  # (C, R)
    m_c = m_tc.mean(axis=1)  # (C,)
    m_tr = y3.mean(axis=0)  # (T, R)
    m_t = m_tr.mean(axis=1)
    m_r = m_tr.mean(axis=0)
    g = float(m_c.mean())
    centred = y - g
    ss = {
        "T": r * c * float(((m_t - g) ** 2).sum()),
        "R": t * c * float(((m_r - g) ** 2).sum()),
        "C": t * r * float(((m_c - g) ** 2).sum()),
        "TR": c * float(((m_tr - m_t[:, None] - m_r[None, :] + g) ** 2).sum()),
        "TC": r * float(((m_tc - m_c[:, None] - m_t[None, :] + g) ** 2).sum()),
        "RC": t * float(((m_rc - m_c[:, None] - m_r[None, :] + g) ** 2).sum()),
    }
    # the three-way residual by difference: one pass over the pseudovalues instead of a residual array
    ss["TRC"] = max(float(np.einsum("ij,ij->", centred, centred)) - sum(ss.values()), 0.0)
    df = {"T": t - 1, "R": r - 1, "C": c - 1, "TR": (t - 1) * (r - 1), "TC": (t - 1) * (c - 1),
          "RC": (r - 1) * (c - 1), "TRC": (t - 1) * (r - 1) * (c - 1)}
    ms = {k: (ss[k] / df[k] if df[k] else math.nan) for k in ss}
    comps = {
        "var_R": (ms["R"] - ms["TR"] - ms["RC"] + ms["TRC"]) / (t * c),
        "var_C": (ms["C"] - ms["TC"] - ms["RC"] + ms["TRC"]) / (t * r),
        "var_TR": (ms["TR"] - ms["TRC"]) / c,
        "var_TC": (ms["TC"] - ms["TRC"]) / r,
        "var_RC": (ms["RC"] - ms["TRC"]) / t,
        "var_TRC_error": ms["TRC"],
    }
    means = m_t

    def test(name: str, den: float, ddf: float, se_scale: float) -> DBMTest:
        f = ms["T"] / den if den > 0 else math.nan
        diffs = []
        for i, j in _pairs(t):
            est = float(means[i] - means[j])
            se = math.sqrt(2.0 * se_scale / (r * c)) if se_scale >= 0 else math.nan
            iv, st, p = _t_interval(est, se, ddf, alpha, f"DBM {name}")
            diffs.append(Difference(i, j, est, se, ddf, st, p, iv))
        return DBMTest(name, f, df["T"], ddf, _f_p(f, df["T"], ddf), den, tuple(diffs))

    den_rrrc = ms["TR"] + max(ms["TC"] - ms["TRC"], 0.0)
    ddf_rrrc = den_rrrc**2 / (ms["TR"] ** 2 / df["TR"]) if ms["TR"] > 0 else math.inf
    return DBMResult(
        ms=ms, df=df, components=comps,
        rrrc=test("RRRC", den_rrrc, ddf_rrrc, den_rrrc),
        frrc=test("FRRC", ms["TC"], df["TC"], ms["TC"]),
        rrfc=test("RRFC", ms["TR"], df["TR"], ms["TR"]),
    )

