"""Benchmark: OR analysis with jackknife covariance, 20 readers x 10,000 cases x 2 modalities.

Prints one JSON object. ``or_20x10000_seconds`` is the median wall time of
:func:`valkit.stats.mrmc.mrmc_analysis` (empirical AUC, jackknife covariance, OR RRRC /
FRRC / RRFC and the DBM pseudovalue ANOVA) on continuous ratings; the 5-point-scale
variant is reported too.

The naive baseline is the straightforward per-reader loop: for each reader x modality,
leave each case out in turn and recompute the AUC (Mann-Whitney via ranks), then form the
jackknife covariance. It is far too slow to run to the end here (about 400,000 AUCs of
10,000 cases), so it is timed on the first ``NAIVE_CASES`` leave-outs of ``NAIVE_GROUPS``
groups and extrapolated linearly (each leave-out costs the same).

Usage: .venv/bin/python benchmarks/mrmc_bench.py
"""
from __future__ import annotations

import json
import platform
import statistics
import time
import warnings

import numpy as np
from scipy import stats

from valkit.stats.mrmc import mrmc_analysis
from valkit.stats.mrmc.fom import auc_jackknife
from valkit.stats.mrmc.obuchowski_rockette import or_analysis

N_MOD, N_RDR, N_CASES = 2, 20, 10_000
REPEATS = 15
NAIVE_GROUPS, NAIVE_CASES = 2, 100


def simulate(seed: int = 20261122, ordinal: bool = False):
    rng = np.random.default_rng(seed)
    truth = rng.random(N_CASES) < 0.3
    case_effect = rng.normal(size=N_CASES)
    reader_skill = rng.uniform(0.8, 1.6, size=(1, N_RDR, 1))
    mod_shift = np.array([0.0, 0.15])[:, None, None]
    x = truth * (reader_skill + mod_shift) + 0.6 * case_effect + rng.normal(size=(N_MOD, N_RDR, N_CASES))
    if ordinal:
        x = np.clip(np.round(2.5 + x), 1, 5)
    return x, truth


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def naive_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    ranks = stats.rankdata(np.concatenate([pos, neg]))
    n1, n0 = pos.size, neg.size
    return (ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def naive_leave_outs(ratings: np.ndarray, truth: np.ndarray, groups: int, cases: int) -> float:
    """Seconds for ``cases`` leave-one-out AUC refits in each of ``groups`` groups."""
    flat = ratings.reshape(-1, ratings.shape[2])
    t0 = time.perf_counter()
    for g in range(groups):
        x = flat[g]
        for k in range(cases):
            keep = np.ones(x.size, dtype=bool)
            keep[k] = False
            naive_auc(x[keep & truth], x[keep & ~truth])
    return time.perf_counter() - t0


def main() -> None:
    warnings.simplefilter("ignore")  # negative variance components of simulated data are irrelevant here
    x, truth = simulate()
    xo, truth_o = simulate(ordinal=True)
    mrmc_analysis(x, truth)  # warm-up (BLAS threads, imports)
    full = timed(lambda: mrmc_analysis(x, truth), REPEATS)
    full_ord = timed(lambda: mrmc_analysis(xo, truth_o), REPEATS)

    def or_only():
        jk = auc_jackknife(x, truth)
        or_analysis(jk.values, jk.covariance(), design="factorial", covariance_method="jackknife")

    core = timed(or_only, REPEATS)

    naive_part = naive_leave_outs(x, truth, NAIVE_GROUPS, NAIVE_CASES)
    naive_total = naive_part * (N_MOD * N_RDR * N_CASES) / (NAIVE_GROUPS * NAIVE_CASES)
    med = statistics.median(full)
    result = {
        "or_20x10000_seconds": round(med, 4),
        "or_20x10000_seconds_min": round(min(full), 4),
        "or_20x10000_seconds_ordinal_5pt": round(statistics.median(full_ord), 4),
        "or_20x10000_jackknife_and_or_only_seconds": round(statistics.median(core), 4),
        "or_speedup_vs_naive": round(naive_total / med, 1),
        "naive_seconds_extrapolated": round(naive_total, 1),
        "naive_method": (f"per-reader x modality loop, leave each case out and recompute the AUC by ranks; "
                         f"timed on {NAIVE_GROUPS} groups x {NAIVE_CASES} leave-outs and extrapolated"),
        "design": f"{N_MOD} modalities x {N_RDR} readers x {N_CASES} cases, continuous ratings",
        "repeats": REPEATS,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
