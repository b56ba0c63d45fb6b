"""Benchmark valkit.stats against the obvious alternatives; prints one JSON object.

Run: .venv/bin/python benchmarks/stats_bench.py [--quick]

* delong_1e6_seconds: roc_auc(ci="delong") on n = 1,000,000 (best of 3, after a warm-up).
* bootstrap_speedup_vs_sklearn: patient-clustered, outcome-stratified bootstrap of the AUC,
  B = 2000, n = 100,000 images (~3 per patient), versus a loop calling
  sklearn.metrics.roc_auc_score on the *same* resamples. The sklearn loop is timed on the
  first ``sklearn_resamples_timed`` resamples and extrapolated to B; its AUCs are checked
  against valkit's for those resamples (``max_abs_diff_vs_sklearn``).
* tie_compressed_speedup_vs_sklearn: 5-point ratings, n = 1,000,000, B = 2000,
  outcome-stratified, no clusters, versus the sklearn loop on i.i.d. stratified resamples
  (timed on a subset, extrapolated). The compressed bootstrap is compared with the exact
  case-level weighted bootstrap (same data, other seed, fewer resamples): both sample the
  same bootstrap distribution, so their standard deviations and percentile limits agree
  within Monte-Carlo error (reported with a 3-sigma tolerance for the SD ratio).
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np


def _best(f, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def bench_delong(rng, n):
    import valkit.stats as vs

    y = (rng.random(n) < 0.3).astype(np.int8)
    s = rng.normal(size=n) + 1.0 * y
    vs.roc_auc(y[:1000], s[:1000])  # warm-up: scipy imports
    secs, est = _best(lambda: vs.roc_auc(y, s, ci="delong"))
    return {"delong_n": n, "delong_1e6_seconds": round(secs, 4), "delong_auc": est.value,
            "delong_ci": [est.interval.low, est.interval.high]}


def bench_cluster_bootstrap(rng, n, n_resamples, sk_subset):
    from sklearn.metrics import roc_auc_score

    from valkit.stats import bootstrap as bt
    from valkit.stats.validation import as_cluster

    n_pat = n // 3
    pid = np.sort(rng.integers(0, n_pat, n))
    sick = rng.random(n_pat) < 0.3
    y = (sick[pid] & (rng.random(n) < 0.8)).astype(np.int8)
    s = rng.normal(size=n) + 1.2 * y + 0.5 * rng.normal(size=n_pat)[pid]
    seed = 12345

    t0 = time.perf_counter()
    est = bt.bootstrap_ci("auc", y, s, cluster=pid, strata=y, n_resamples=n_resamples, seed=seed)
    valkit_secs = time.perf_counter() - t0
    _, reps, _ = bt.bootstrap_replicates("auc", y, s, cluster=pid, strata=y, n_resamples=n_resamples, seed=seed)

    # the same resamples, expanded to case indices, through sklearn
    unit = as_cluster(pid, n)
    n_units = int(unit.max()) + 1
    _, strata_codes = np.unique(y, return_inverse=True)
    plan = bt._uniform_plan(bt._unit_strata(unit, strata_codes.reshape(-1), n_units))
    order = np.argsort(unit, kind="stable")
    sizes = np.bincount(unit, minlength=n_units)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]

    def expand(mult):
        chosen = np.repeat(np.arange(n_units), mult)
        lengths = sizes[chosen]
        offsets = np.repeat(starts[chosen] - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        return order[np.arange(lengths.sum()) + offsets]

    rng_b = np.random.default_rng(seed)
    rows = []
    for _, m in bt.multiplicity_chunks(plan, rng_b, n_resamples, n):
        rows.extend(m)
        if len(rows) >= sk_subset:
            break
    rows = rows[:sk_subset]
    t0 = time.perf_counter()
    sk = []
    for row in rows:
        idx = expand(row)
        sk.append(roc_auc_score(y[idx], s[idx]))
    sk_secs = (time.perf_counter() - t0) * n_resamples / len(rows)
    return {
        "bootstrap_n": n, "bootstrap_patients": n_pat, "bootstrap_resamples": n_resamples,
        "bootstrap_valkit_seconds": round(valkit_secs, 3),
        "bootstrap_sklearn_seconds_extrapolated": round(sk_secs, 2),
        "bootstrap_sklearn_resamples_timed": len(rows),
        "bootstrap_speedup_vs_sklearn": round(sk_secs / valkit_secs, 1),
        "bootstrap_max_abs_diff_vs_sklearn": float(np.max(np.abs(np.array(sk) - reps[:len(rows)]))),
        "bootstrap_ci": [est.interval.low, est.interval.high],
    }


def bench_tie_compressed(rng, n, n_resamples, sk_subset, exact_resamples):
    from sklearn.metrics import roc_auc_score

    from valkit.stats import bootstrap as bt

    y = (rng.random(n) < 0.3).astype(np.int8)
    # 5-point ratings, cases rated higher on average
    p_neg, p_pos = [0.45, 0.25, 0.15, 0.10, 0.05], [0.05, 0.10, 0.15, 0.30, 0.40]
    s = np.where(y == 1, rng.choice(5, n, p=p_pos), rng.choice(5, n, p=p_neg)).astype(float) + 1

    t0 = time.perf_counter()
    theta, reps, _ = bt.bootstrap_replicates("auc", y, s, strata=y, n_resamples=n_resamples, seed=1)
    valkit_secs = time.perf_counter() - t0
    lo, hi = np.quantile(reps, [0.025, 0.975])

    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng_s = np.random.default_rng(2)
    t0 = time.perf_counter()
    for _ in range(sk_subset):
        idx = np.r_[pos[rng_s.integers(0, len(pos), len(pos))], neg[rng_s.integers(0, len(neg), len(neg))]]
        roc_auc_score(y[idx], s[idx])
    sk_secs = (time.perf_counter() - t0) * n_resamples / sk_subset

    # exact (uncompressed, case-level) bootstrap of the same data for the Monte-Carlo comparison
    from valkit.stats.weighted import _AucByCase

    stat = _AucByCase(y, s, np.arange(n), n)
    plan = bt._uniform_plan(bt._unit_strata(np.arange(n), y.astype(np.int64), n))
    exact = np.empty(exact_resamples)
    for start, m in bt.multiplicity_chunks(plan, np.random.default_rng(3), exact_resamples, n):
        exact[start:start + len(m)] = stat.batch(m)
    sd_c, sd_e = float(reps.std(ddof=1)), float(exact.std(ddof=1))
    tol = 3 * np.sqrt(1 / (2 * (n_resamples - 1)) + 1 / (2 * (exact_resamples - 1)))
    return {
        "tie_compressed_n": n, "tie_compressed_resamples": n_resamples,
        "tie_compressed_valkit_seconds": round(valkit_secs, 4),
        "tie_compressed_sklearn_seconds_extrapolated": round(sk_secs, 2),
        "tie_compressed_sklearn_resamples_timed": sk_subset,
        "tie_compressed_speedup_vs_sklearn": round(sk_secs / valkit_secs, 1),
        "tie_compressed_auc": theta,
        "tie_compressed_ci": [float(lo), float(hi)],
        "tie_compressed_sd": sd_c,
        "exact_bootstrap_resamples": exact_resamples,
        "exact_bootstrap_ci": [float(np.quantile(exact, 0.025)), float(np.quantile(exact, 0.975))],
        "exact_bootstrap_sd": sd_e,
        "sd_ratio_compressed_over_exact": sd_c / sd_e,
        "sd_ratio_3sigma_tolerance": float(tol),
        "tie_compressed_within_mc_error": bool(abs(sd_c / sd_e - 1) < tol
                                               and abs(float(reps.mean()) - float(exact.mean())) < 3 * sd_e
                                               * np.sqrt(1 / n_resamples + 1 / exact_resamples)),
    }


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    rng = np.random.default_rng(20261122)
    out: dict = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "numpy": np.__version__, "cpus": os.cpu_count()},
        "quick": quick,
    }
    out.update(bench_delong(rng, 100_000 if quick else 1_000_000))
    out.update(bench_cluster_bootstrap(rng, 20_000 if quick else 100_000, 200 if quick else 2000,
                                       20 if quick else 60))
    out.update(bench_tie_compressed(rng, 100_000 if quick else 1_000_000, 200 if quick else 2000,
                                    3 if quick else 8, 100 if quick else 400))
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
