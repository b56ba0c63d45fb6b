"""Benchmark: 60 subgroup cells x 2000 patient-clustered bootstrap resamples at 1,000,000 predictions.

Seven families over a synthetic study (sex 2, age band 5, site 12, manufacturer 4, ethnicity 6,
sex x age band 10, site x manufacturer 21 = 60 cells), about 620,000 patients with 1-3 images.
For each family :func:`valkit.stats.fairness.bootstrap_cell_counts` draws B = 2000 resamples
(patients resampled within strata = each patient's set of (cell, outcome) pairs), then every
cell's sensitivity / specificity / PPV / NPV percentile interval and, for the one-way families,
the eight fairness gaps with their intervals are computed from the replicates.

The naive comparison loops over cells and resamples: for each cell and each resample it
draws the cell's patients with replacement within outcome strata and sums their per-patient
2x2 counts (vectorised numpy inside the loop body). It is timed for every cell on a few
resamples and extrapolated linearly to 2000 (its cost is exactly proportional to the number
of resamples); the JSON says so.

Run: ``.venv/bin/python benchmarks/subgroups_bench.py [--n 1000000] [--resamples 2000]``; prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from valkit.stats.disparity import DISPARITY_METRICS, disparity
from valkit.stats.fairness import bootstrap_cell_counts, percentile_interval, rates


def make_study(n_target: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n_patients = int(n_target / 1.6)
    k = rng.choice([1, 2, 3], n_patients, p=[0.55, 0.30, 0.15])
    pid = np.repeat(np.arange(n_patients), k)[:n_target]
    n = len(pid)
    n_patients = int(pid[-1]) + 1
    sex = rng.integers(0, 2, n_patients)[pid]
    age = rng.integers(0, 5, n_patients)[pid]
    eth = rng.integers(0, 6, n_patients)[pid]
    site = rng.integers(0, 12, n)
    # sites 0-8 have two vendors, 9-11 one: 21 site x manufacturer cells
    vendors = [(s % 4, (s + 1) % 4) if s < 9 else (s % 4,) for s in range(12)]
    pick = rng.integers(0, 2, n)
    table = np.full((12, 2), -1)
    for s, v in enumerate(vendors):
        table[s, : len(v)] = v
        if len(v) == 1:
            table[s, 1] = v[0]
    man = table[site, pick]
    y = (rng.random(n_patients) < 0.3).astype(np.int8)[pid]
    hard = man == 3
    p_pos = np.where(y == 1, np.where(hard, 0.65, 0.85), np.where(hard, 0.15, 0.10))
    pred = (rng.random(n) < p_pos).astype(np.int8)

    def combine(a: np.ndarray, b: np.ndarray, nb: int) -> np.ndarray:
        _, codes = np.unique(a * nb + b, return_inverse=True)
        return codes.reshape(-1)

    families = {
        "sex": sex, "age_band": age, "site": site, "manufacturer": man, "ethnicity": eth,
        "sex x age_band": combine(sex, age, 5), "site x manufacturer": combine(site, man, 4),
    }
    return {"y": y, "pred": pred, "pid": pid, "families": families, "n_patients": n_patients}


def valkit_run(study: dict, n_resamples: int) -> dict:
    y, pred, pid = study["y"], study["pred"], study["pid"]
    cells = 0
    out = {}
    for i, (name, codes) in enumerate(study["families"].items()):
        r = bootstrap_cell_counts(y, pred, codes, cluster=pid, strata="cell_outcome",
                                  n_resamples=n_resamples, seed=[20240101, i])
        rr = rates(r.replicates)
        intervals = {m: percentile_interval(rr[m]) for m in ("tpr", "tnr", "ppv", "npv")}
        gaps = {}
        if " x " not in name:
            gaps = {m: disparity(r.counts, r.replicates, m) for m in DISPARITY_METRICS}
        cells += r.counts.shape[0]
        out[name] = {"cells": int(r.counts.shape[0]), "types": r.n_types, "strata": r.n_strata,
                     "sens_ci_first_cell": [float(intervals["tpr"][0][0]), float(intervals["tpr"][1][0])],
                     "gaps": len(gaps)}
    return {"cells": cells, "families": out}


def naive_run(study: dict, n_resamples: int, seed: int = 1) -> tuple[int, float]:
    """Per cell, per resample: draw the cell's patients within outcome strata and sum their counts."""
    rng = np.random.default_rng(seed)
    y, pred, pid = study["y"], study["pred"], study["pid"]
    k = np.where(y == 1, np.where(pred == 1, 0, 2), np.where(pred == 1, 1, 3))
    cells = 0
    t0 = time.perf_counter()
    for codes in study["families"].values():
        for c in range(int(codes.max()) + 1):
            m = codes == c
            upid, inv = np.unique(pid[m], return_inverse=True)
            per_patient = np.zeros((len(upid), 4))
            np.add.at(per_patient, (inv, k[m]), 1)
            positive = per_patient[:, 0] + per_patient[:, 2] > 0
            strata = [np.flatnonzero(positive), np.flatnonzero(~positive)]
            for _ in range(n_resamples):
                counts = np.zeros(4)
                for s in strata:
                    if len(s):
                        counts += per_patient[s[rng.integers(0, len(s), len(s))]].sum(axis=0)
            cells += 1
    return cells, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--naive-resamples", type=int, default=3, help="resamples actually timed for the naive loop")
    args = ap.parse_args()

    t0 = time.perf_counter()
    study = make_study(args.n)
    t_data = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = valkit_run(study, args.resamples)
    t_valkit = time.perf_counter() - t0

    cells, t_naive_sub = naive_run(study, args.naive_resamples)
    t_naive = t_naive_sub * args.resamples / args.naive_resamples
    print(json.dumps({
        "subgroups_60x2000_1e6_seconds": round(t_valkit, 2),
        "subgroups_speedup_vs_naive": round(t_naive / t_valkit, 1),
        "naive_seconds_extrapolated": round(t_naive, 1),
        "naive_extrapolation": (f"naive per-cell loop timed on all {cells} cells with {args.naive_resamples} "
                                f"resamples each ({t_naive_sub:.2f} s), scaled linearly to {args.resamples}"),
        "n_predictions": int(len(study["y"])),
        "n_patients": int(study["n_patients"]),
        "n_cells": res["cells"],
        "n_resamples": args.resamples,
        "families": res["families"],
        "what_is_timed": "per family: stratified cluster bootstrap of all cells' 2x2 counts, percentile CIs for "
                         "sensitivity/specificity/PPV/NPV of every cell, 8 fairness gaps with CIs per one-way family",
        "data_generation_seconds": round(t_data, 2),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }, indent=1))


if __name__ == "__main__":
    main()
