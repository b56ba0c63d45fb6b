"""Fairness gaps between the groups of each fairness family, and the protocol's fairness criteria.

Per family, fairlearn's MetricFrame disaggregates the analysed cases (and is checked equal to
valkit's own cell counts); the gaps (differences and ratios of TPR, FPR and selection rate,
equalized odds) take their intervals from the same patient-clustered bootstrap replicates as the
subgroup cells (:class:`valkit.analyses.subgroups.CellEngine`). Gaps are pairwise
(:mod:`valkit.stats.disparity`) and a criterion is judged pair by pair (:func:`_criterion_verdict`):
a clear gap between two adequately sized groups fails whatever a small group does, and a small
group only stops a PASS (it is listed as not judged).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from valkit.analyses.subgroups import SEP, CellEngine
from valkit.protocol import Protocol
from valkit.stats.disparity import DISPARITY_METRICS, disparity
from valkit.stats.fairness import rates


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


_RATE_WORDS = {"tpr": "TPR", "fpr": "FPR", "selection_rate": "selection rate"}


def _limits(crit: Any) -> tuple[float, float]:
    """The band a pair's gap must lie in: ±max for a difference, [min, 1/min] for a ratio.

    A pair is oriented by the observed data (higher rate first), so its interval may reach past
    0 (or 1) when the order could be the other way round; the band is symmetric so that a gap of
    either sign counts.
    """
    if crit.max is not None:
        return -crit.max, crit.max
    return crit.min, 1 / crit.min  # the protocol requires 0 < min < 1


def _pair_text(p: dict, kind: str, iv_key: str, adjustment: dict) -> str:
    """'FPR difference M vs F = 33.4% (Bonferroni 95% CI 21.6% to 45.4%, m = 1)'."""
    iv = p[iv_key]

    def f(x: float) -> str:
        return f"{100 * x:.1f}%" if kind == "difference" else f"{x:.2f}"

    sep = " vs " if kind == "difference" else " / "
    who = f"{p['higher']}{sep}{p['lower']}" if kind == "difference" else f"{p['lower']}{sep}{p['higher']}"
    level = f"{100 * iv['confidence_level']:.4g}%"
    ci = (f"{'Bonferroni ' if iv_key == 'adjusted_interval' else ''}{level} CI {f(iv['low'])} to {f(iv['high'])}"
          + (f", m = {adjustment['n_comparisons']}" if iv_key == "adjusted_interval" else "")
          if iv["low"] is not None and iv["high"] is not None else "no interval")
    return f"{_RATE_WORDS.get(p['rate'], p['rate'])} {kind} {who} = {f(p['value'])} ({ci})"


def _criterion_verdict(crit: Any, d: dict, not_judged: list[dict]) -> dict:
    """PASS, FAIL or INSUFFICIENT EVIDENCE for one criterion, judged pair by pair.

    FAIL: some pair of adequately sized groups has its Bonferroni interval (level 1 - alpha/m over
    the m pairwise comparisons of the metric) wholly beyond the limit: the union claim "some pair
    exceeds" is then made at family-wise level alpha, whatever groups below the evidence rule do.
    PASS: every pair's unadjusted interval lies within the limit (an intersection-union test,
    Berger 1982: no adjustment needed) and no compared group is below the evidence rule (a group
    not judged could hide a gap). Otherwise INSUFFICIENT EVIDENCE. ``not_judged`` holds the cell
    rows of the compared groups below the evidence rule (named with their counts); the deciding
    pairs are recorded with the interval they were judged on.
    """
    kind = "difference" if crit.max is not None else "ratio"
    limit = crit.max if crit.max is not None else crit.min
    lo_lim, hi_lim = _limits(crit)
    pairs = d.get("pairs") or []
    adjustment = {"method": "bonferroni", "n_comparisons": d.get("n_comparisons") or 0,
                  "confidence_level": d.get("adjusted_confidence_level")}
    out = {"metric": crit.metric, "max": crit.max, "min": crit.min, "n_pairs": len(pairs),
           "adjustment": adjustment, "not_judged": [r["level"] for r in not_judged]}
    lim_text = f"{100 * limit:g}%" if kind == "difference" else f"{limit:g}"
    small = (f"; not judged (below the evidence rule): {', '.join(_with_counts(r) for r in not_judged)}"
             if not_judged else "")

    def ok(iv: dict) -> bool:
        return iv["low"] is not None and iv["high"] is not None

    def decided(p: dict, key: str) -> dict:
        return {**p, "judged_on": key}

    failing = [p for p in pairs if ok(p["adjusted_interval"])
               and (p["adjusted_interval"]["low"] > hi_lim or p["adjusted_interval"]["high"] < lo_lim)]
    if failing:
        failing.sort(key=lambda p: -p["value"] if kind == "difference" else p["value"])
        word = "above" if kind == "difference" else "below"
        basis = "; ".join(f"{_pair_text(p, kind, 'adjusted_interval', adjustment)} {word} {lim_text}"
                          for p in failing)
        return {**out, "verdict": "FAIL", "basis": basis + small,
                "deciding_pairs": [decided(p, "adjusted_interval") for p in failing]}
    if len(d.get("groups") or []) < 2 or not pairs:
        return {**out, "verdict": "INSUFFICIENT EVIDENCE", "deciding_pairs": [],
                "basis": "fewer than two groups meet the evidence rule" + small}
    open_pairs = [p for p in pairs if not ok(p["interval"])
                  or not (lo_lim <= p["interval"]["low"] and p["interval"]["high"] <= hi_lim)]
    if open_pairs:
        basis = "; ".join(_pair_text(p, kind, "interval", adjustment)
                          + (f" neither within nor wholly beyond {lim_text}" if ok(p["interval"]) else " not estimable")
                          for p in open_pairs)
        return {**out, "verdict": "INSUFFICIENT EVIDENCE", "basis": basis + small,
                "deciding_pairs": [decided(p, "interval") for p in open_pairs]}
    # every pair within: the closest to the limit is the one that decides
    closest = max(pairs, key=lambda p: max(p["interval"]["high"] - hi_lim, lo_lim - p["interval"]["low"]))
    within = f"±{lim_text}" if kind == "difference" else f"{limit:g} to {hi_lim:.3g}"
    level = f"{100 * closest['interval']['confidence_level']:.4g}%"
    basis = (f"the {level} CI of every pair lies within {within} "
             f"(closest: {_pair_text(closest, kind, 'interval', adjustment)})")
    if not_judged:
        return {**out, "verdict": "INSUFFICIENT EVIDENCE", "basis": basis + small,
                "deciding_pairs": [decided(closest, "interval")]}
    return {**out, "verdict": "PASS", "basis": basis, "deciding_pairs": [decided(closest, "interval")]}


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
        blocked = [rows[i] for i in compared if not rows[i]["sufficient_evidence"]]
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
            for p in d["pairs"]:
                p["higher"], p["lower"] = rows[p["higher"]]["level"], rows[p["lower"]]["level"]
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
            "not_judged": [rows[i]["level"] for i in compared if i not in eligible],
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
            "disaggregation": f"fairlearn {fairlearn_version} MetricFrame (its true-positive rate, "
                              "false-positive rate, selection rate and count per group); checked equal to valkit's counts",
            "gaps": "every pair of groups with sufficient evidence, ordered by the observed rates: signed difference "
                    "(higher - lower) and ratio (lower / higher), the order kept in every resample; the headline "
                    "gap is the observed largest pair (= fairlearn's max - min, min / max); equalized odds = the "
                    "worse of the TPR and FPR pairs",
            "intervals": "percentile, patient-clustered bootstrap stratified by group and outcome "
                         f"({engine.n_resamples} resamples, seed {engine.seed}); per pair an unadjusted 95% "
                         "interval and a Bonferroni interval at 1 - 0.05/m over the metric's m pairwise comparisons",
            "criteria": "FAIL when some pair's Bonferroni interval lies wholly beyond the limit (groups below the "
                        "evidence rule do not matter); PASS when every pair's 95% interval lies within the limit "
                        "(± max for differences, min to 1/min for ratios; an intersection-union test) and no "
                        "compared group is below the evidence rule; otherwise INSUFFICIENT EVIDENCE",
            "missing_group": "included" if sg.fairness.include_missing else "reported, not compared",
        },
    }


def _with_counts(row: dict) -> str:
    """'O (2/3 pos/neg)' or 'X (empty)': a group not judged, as the verdict's basis names it."""
    counts = "empty" if row["n"] == 0 else f"{row['n_positive']}/{row['n_negative']} pos/neg"
    return f"{row['level']} ({counts})"


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and b is None
    return abs(a - b) <= 1e-12
