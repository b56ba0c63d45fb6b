"""Which cases changed call between the cleared version and the new one, and how the scores moved.

* **Flips.** On the paired cases, a flip is a case whose call (score >= the version's own
  threshold) differs between the versions. Each flip either *became correct* (a false negative
  or false positive of N-1 that N gets right) or *became wrong*; counted overall and in every
  cell of every subgroup family. Every flip is written to flips.csv; results.json lists the
  first :data:`LISTED_FLIPS` (those that became wrong first).
* **Drift.** The new scores against the earlier ones on the same cases: population stability
  index (10 equal-count bins of the earlier scores) and the two-sample KS test
  (:mod:`valkit.stats.drift`, descriptive: the samples are the same cases, not independent).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from valkit import stats
from valkit.analyses.subgroups import SEP, family_cells
from valkit.protocol import Subgroups

LISTED_FLIPS = 200
FLIP_COLUMNS = ("case_id", "patient_id", "label", "score_baseline", "score_current", "call_baseline",
                "call_current", "change")


def _counts(label: np.ndarray, call_b: np.ndarray, call_c: np.ndarray) -> dict:
    changed = call_b != call_c
    right_now = call_c == label
    return {"n": int(len(label)), "changed": int(changed.sum()),
            "became_correct": int((changed & right_now).sum()), "became_wrong": int((changed & ~right_now).sum()),
            "to_positive": int((changed & (call_c == 1)).sum()), "to_negative": int((changed & (call_c == 0)).sum())}


def flip_analysis(paired: pd.DataFrame, threshold_baseline: float, threshold_current: float,
                  sg: Subgroups) -> tuple[dict, pd.DataFrame]:
    """Counts of changed calls, overall and by subgroup cell, and the table of every flip."""
    y = paired["label"].to_numpy(dtype=int)
    call_b = (paired["score_baseline"].to_numpy(float) >= threshold_baseline).astype(int)
    call_c = (paired["score"].to_numpy(float) >= threshold_current).astype(int)
    by_subgroup = []
    for name, cols, prespecified in sg.families():
        fam = family_cells(paired, name, cols, prespecified, sg)
        for i, levels in enumerate(fam.cells):
            idx = np.flatnonzero(fam.codes == i)
            by_subgroup.append({"family": name, "level": SEP.join(levels), "prespecified": prespecified,
                                **_counts(y[idx], call_b[idx], call_c[idx])})
    changed = call_b != call_c
    table = pd.DataFrame({
        "case_id": paired["case_id"].astype(str), "patient_id": paired["patient_id"].astype(str), "label": y,
        "score_baseline": paired["score_baseline"].to_numpy(float), "score_current": paired["score"].to_numpy(float),
        "call_baseline": call_b, "call_current": call_c,
        "change": np.where(call_c == y, "became correct", "became wrong"),
    })[changed]
    extra = [c for _, cols, _ in sg.families() for c in cols if c in paired.columns and c not in table.columns]
    table = pd.concat([table, paired.loc[changed, list(dict.fromkeys(extra))].astype(str)], axis=1)
    table = table.sort_values(["change", "case_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    listed = table.head(LISTED_FLIPS)
    return {
        "threshold_baseline": threshold_baseline, "threshold_current": threshold_current,
        **_counts(y, call_b, call_c),
        "by_subgroup": by_subgroup,
        "file": "flips.csv",
        "listed": int(len(listed)),
        "cases": [{k: (r[k].item() if hasattr(r[k], "item") else r[k]) for k in FLIP_COLUMNS}
                  for _, r in listed.iterrows()],
    }, table


def score_drift(s_baseline: np.ndarray, s_current: np.ndarray) -> dict:
    """PSI and KS of the new scores against the earlier ones, with the mean of each."""
    psi = stats.population_stability_index(s_baseline, s_current)
    ks = stats.ks_two_sample(s_baseline, s_current)
    return {
        "n": int(len(s_current)),
        "mean_baseline": float(np.mean(s_baseline)) if len(s_baseline) else None,
        "mean_current": float(np.mean(s_current)) if len(s_current) else None,
        "psi": psi.to_dict(),
        "ks": ks.to_dict(),
        "note": ("PSI over 10 equal-count bins of the earlier version's scores (empty bins floored at 1e-4); "
                 "below 0.10 no material shift, 0.10-0.25 moderate, above 0.25 major. The KS p-value assumes "
                 "independent samples; on the same cases it is conservative: read it as descriptive."),
    }


__all__ = ["FLIP_COLUMNS", "LISTED_FLIPS", "flip_analysis", "score_drift"]
