"""Fairness gaps between the groups of each fairness family, and the protocol's fairness criteria.

Per family, fairlearn's MetricFrame disaggregates the analysed cases (and is checked equal to
valkit's own cell counts); the gaps (differences and ratios of TPR, FPR and selection rate,
equalized odds) take their intervals from the same patient-clustered bootstrap replicates as the
subgroup cells (:class:`valkit.analyses.subgroups.CellEngine`). A criterion is judged on the gap's
interval; a family with a compared group below the evidence rule is insufficient evidence.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from valkit.analyses.subgroups import SEP, CellEngine
from valkit.protocol import Protocol
from valkit.stats.fairness import DISPARITY_METRICS, disparity, rates


def _metricframe(y: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> dict[str, dict[str, float]]:
    """fairlearn's MetricFrame disaggregation (the reference implementation of by-group metrics).

    The cases are first collapsed to one row per (group, label, decision) with its count as
    ``sample_weight``: the weighted rates equal the case-level ones, and MetricFrame's cost no
    longer grows with the number of cases (it is slow on millions of rows).
    """
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    frame = pd.DataFrame({"group": groups, "y": y, "pred": pred})
    agg = frame.groupby(["group", "y", "pred"], sort=True).size().reset_index(name="w")
    w = agg["w"].to_numpy(dtype=float)

    def weighted_count(y_true: Any, y_pred: Any, sample_weight: Any) -> float:
        return float(np.sum(sample_weight))

    metrics = {"tpr": true_positive_rate, "fpr": false_positive_rate, "selection_rate": selection_rate,
               "count": weighted_count}
    mf = MetricFrame(
        metrics=metrics, y_true=agg["y"].to_numpy(), y_pred=agg["pred"].to_numpy(),
        sensitive_features=pd.Series(agg["group"].to_numpy(), name="group"),
        sample_params={k: {"sample_weight": w} for k in metrics},
    )
    by = mf.by_group
    return {str(g): {k: float(by.loc[g, k]) for k in by.columns} for g in by.index}


def _criterion_verdict(crit: Any, d: dict, blocked: list[str]) -> dict:
    out = {"metric": crit.metric, "max": crit.max, "min": crit.min}
    iv = d["interval"]
    if blocked:
        return {**out, "verdict": "INSUFFICIENT EVIDENCE",
                "basis": "groups below the evidence rule or empty: " + ", ".join(blocked)}
    if iv["low"] is None or iv["high"] is None or d["value"] is None:
        return {**out, "verdict": "INSUFFICIENT EVIDENCE", "basis": "the gap or its interval is not estimable"}
    pct = f"{round(100 * iv['confidence_level'])}%"
    if crit.max is not None:
        ok = iv["high"] <= crit.max
        basis = (f"upper {pct} bound {iv['high']:.3f} {'≤' if ok else 'above'} {crit.max:g}"
                 + ("" if ok else (" (the gap exceeds the limit)" if iv["low"] > crit.max
                                   else " (a gap above the limit cannot be excluded)")))
    else:
        ok = iv["low"] >= crit.min
        basis = (f"lower {pct} bound {iv['low']:.3f} {'≥' if ok else 'below'} {crit.min:g}"
                 + ("" if ok else (" (the ratio is below the limit)" if iv["high"] < crit.min
                                   else " (a ratio below the limit cannot be excluded)")))
    return {**out, "verdict": "PASS" if ok else "FAIL", "basis": basis}


def fairness_section(engine: CellEngine, protocol: Protocol) -> dict:
    from fairlearn import __version__ as fairlearn_version

    sg = protocol.subgroups
    fam_specs = {name: (cols, pre) for name, cols, pre in sg.families()}
    out_fams = []
    verdicts = []
    for name in sg.fairness_families():
        cols, pre = fam_specs[name]
        res = engine.family(name, cols, pre)
        fam, rows, boot = res["fam"], res["rows"], res["boot"]
        compared = [i for i, r in enumerate(rows) if sg.fairness.include_missing or "missing_value" not in r["flags"]]
        eligible = [i for i in compared if rows[i]["sufficient_evidence"]]
        blocked = [rows[i]["level"] for i in compared if not rows[i]["sufficient_evidence"]]
        r_obs = rates(boot.counts)
        groups = []
        for i in compared:
            r = rows[i]
            groups.append({"level": r["level"], "n": r["n"], "n_positive": r["n_positive"],
                           "n_negative": r["n_negative"], "confusion": r["confusion"],
                           "sufficient_evidence": r["sufficient_evidence"], "status": r["status"],
                           "tpr": _num(r_obs["tpr"][i]), "fpr": _num(r_obs["fpr"][i]),
                           "selection_rate": _num(r_obs["selection_rate"][i])})
        mask = np.isin(fam.codes, compared)
        labels = np.array([SEP.join(c) for c in fam.cells], dtype=object)[fam.codes[mask]]
        mf = _metricframe(engine.y[mask], engine.pred[mask], labels) if mask.any() else {}
        agrees = all(
            _close(mf[g["level"]][k], g[k]) for g in groups if g["level"] in mf for k in ("tpr", "fpr", "selection_rate")
        )
        gaps = {}
        for metric in DISPARITY_METRICS:
            d = disparity(boot.counts, boot.replicates, metric, groups=eligible,
                          labels=[r["level"] for r in rows]).to_dict()
            for key in ("highest", "lowest"):
                d[key] = rows[d[key]]["level"] if d[key] is not None else None
            d["groups"] = [rows[i]["level"] for i in d["groups"]]
            gaps[metric] = d
        crits = []
        for crit in sg.fairness.criteria:
            applies = crit.columns is None or name in {c if isinstance(c, str) else " x ".join(c) for c in crit.columns}
            if applies:
                v = _criterion_verdict(crit, gaps[crit.metric], blocked)
                v["exploratory"] = not pre
                crits.append(v)
                verdicts.append(v["verdict"])
        excluded = [{"level": r["level"], "reason": "missing value"} for i, r in enumerate(rows)
                    if i not in compared]
        excluded += [{"level": rows[i]["level"], "reason": rows[i]["status"].replace("_", " ")}
                     for i in compared if i not in eligible]
        out_fams.append({
            "name": name, "columns": list(cols), "prespecified": pre, "groups": groups,
            "compared": [rows[i]["level"] for i in eligible], "excluded": excluded,
            "metricframe": {"by_group": mf, "agrees_with_counts": bool(agrees)},
            "disparities": gaps, "criteria": crits, "bootstrap": boot.describe(),
        })
    if not sg.fairness.criteria:
        overall = "NO CRITERIA"
    elif "FAIL" in verdicts:
        overall = "FAIL"
    elif "INSUFFICIENT EVIDENCE" in verdicts or not verdicts:
        overall = "INSUFFICIENT EVIDENCE"
    else:
        overall = "PASS"
    return {
        "families": out_fams,
        "verdict": overall,
        "methods": {
            "disaggregation": f"fairlearn {fairlearn_version} MetricFrame (true_positive_rate, false_positive_rate, "
                              "selection_rate, count); checked equal to valkit's counts",
            "gaps": "between groups with sufficient evidence: difference = max - min, ratio = min / max; equalized "
                    "odds = worse of the TPR and FPR gaps (fairlearn conventions)",
            "intervals": "percentile, patient-clustered bootstrap stratified by group and outcome "
                         f"({engine.n_resamples} resamples, seed {engine.seed})",
            "criteria": "difference: PASS when the upper 95% bound ≤ max; ratio: PASS when the lower 95% bound "
                        "≥ min; INSUFFICIENT EVIDENCE when a compared group is empty or below the evidence rule",
            "missing_group": "included" if sg.fairness.include_missing else "reported, not compared",
        },
    }


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and b is None
    return abs(a - b) <= 1e-12
