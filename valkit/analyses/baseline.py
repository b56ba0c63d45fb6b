"""Model version N against the cleared version N-1 on the same cases: the ``baseline`` block of results.json.

* **Matching.** A case is paired when the earlier run scored it (status ok) under the same
  ``case_id`` and the same image digest (``image_sha256``). A case whose image differs, or that one
  version did not score, is counted and listed, never silently paired. Both versions are judged
  against the current run's reference standard.
* **Paired comparisons** (N minus N-1): sensitivity and specificity by the paired difference
  (Newcombe 1998 method 10, or Tango's 1998 score interval) with McNemar's exact test; AUC by
  DeLong's paired test, or Obuchowski's clustered covariance when a patient has several images.
* **Subgroups.** The same comparisons in every cell of every subgroup family of the protocol.
* **Non-inferiority.** PASS for a metric when the lower bound of the two-sided interval of
  N - (N-1) is above ``-margin`` overall and in every cell of every pre-specified family (not the
  ``missing`` cell). An intersection-union test (Berger 1982): the joint claim "in every subgroup"
  is rejected unless each component is, so its error rate is at most the per-test one-sided level
  and no multiplicity adjustment applies. A cell below the evidence rule cannot show it
  (INSUFFICIENT EVIDENCE), and a criterion passes only if every component passes.
* Flips and score drift: :mod:`valkit.analyses.baseline_flips`.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from valkit import stats
from valkit.analyses.accuracy import auc_estimate
from valkit.analyses.baseline_flips import flip_analysis, score_drift
from valkit.analyses.subgroups import SEP, family_cells
from valkit.baseline_config import BaselineOptions
from valkit.baseline_source import BaselineScores
from valkit.protocol import Protocol
from valkit.results_schema import validate_block
from valkit.results_schema.baseline import Baseline
from valkit.stats.types import NotEstimableWarning
from valkit.study import MISSING

#: proportions compared, with the reference label of their denominator
PROPORTIONS = {"sensitivity": 1, "specificity": 0}
LISTED_CASES = 50  # unpaired cases listed by id in results.json (all are counted)
MULTIPLICITY = ("Intersection-union test (Berger 1982): non-inferiority is claimed only if it is shown overall and "
                "in every pre-specified subgroup, each at the one-sided level (1 - confidence level)/2; the claim "
                "that all hold has an error rate no larger than that level, so no multiplicity adjustment is made. "
                "The price is power: every subgroup must show it.")


def _digests(df: pd.DataFrame, *columns: str) -> pd.Series:
    out = pd.Series([""] * len(df), index=df.index, dtype=object)
    for col in columns:
        if col in df.columns:
            v = df[col].astype(object).where(df[col].notna(), "").astype(str)
            out = out.where(out != "", v)
    return out


def match_cases(analysed: pd.DataFrame, base: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The analysed cases paired with the earlier scores (column ``score_baseline``), and the accounting."""
    cur = analysed.assign(case_id=analysed["case_id"].astype(str), _digest=_digests(analysed, "image_sha256", "sha256"))
    b = base.assign(_bdigest=_digests(base, "image_sha256")).set_index("case_id")
    in_base = cur["case_id"].isin(b.index)
    b_status = cur["case_id"].map(b["status"]).where(in_base, "")
    b_digest = cur["case_id"].map(b["_bdigest"]).where(in_base, "")
    scored = in_base & (b_status == "ok")
    known = scored & (cur["_digest"] != "") & (b_digest != "")
    differs = known & (cur["_digest"] != b_digest)
    paired_mask = scored & ~differs
    paired = cur[paired_mask].assign(score_baseline=cur.loc[paired_mask, "case_id"].map(b["score"]).astype(float))
    base_ok = set(b.index[b["status"] == "ok"])
    accounting = {
        "current_analysed": int(len(cur)),
        "baseline_scored": len(base_ok),
        "paired": int(paired_mask.sum()),
        "not_in_baseline": int((~in_base).sum()),
        "failed_in_baseline": int((in_base & ~scored).sum()),
        "image_differs": int(differs.sum()),
        "image_differs_cases": cur.loc[differs, "case_id"].head(LISTED_CASES).tolist(),
        "not_in_baseline_cases": cur.loc[~in_base, "case_id"].head(LISTED_CASES).tolist(),
        "digest_unverified": int((paired_mask & ~known).sum()),
        "baseline_only": len(base_ok - set(cur["case_id"])),
        "reference_standard": "the current run's reference labels, for both versions",
    }
    return paired.drop(columns=["_digest"]).reset_index(drop=True), accounting


def _units(idx_cases: np.ndarray, patient: np.ndarray) -> tuple[int, bool]:
    """Evidence units among cases: patients when some patient has several images, else images."""
    clustered = stats.has_clusters(patient[idx_cases])
    return (len(np.unique(patient[idx_cases])) if clustered else len(idx_cases)), clustered


def _ni_block(lower: float, upper: float, margin: float, statistic: float, p: float, method: str) -> dict:
    if not (math.isfinite(lower) and math.isfinite(upper)):
        verdict, finding = "NOT ESTIMABLE", "not estimable"
    elif lower > -margin:
        verdict, finding = "PASS", "non-inferior"
    else:
        verdict = "FAIL"
        finding = "inferior (whole interval below -margin)" if upper < -margin else "not shown non-inferior"
    return {"margin": margin, "statistic": statistic, "p_value": p, "method": method, "bound": lower,
            "verdict": verdict, "finding": finding}


def compare_proportion(metric: str, y: np.ndarray, call_base: np.ndarray, call_cur: np.ndarray,
                       patient: np.ndarray, *, opts: BaselineOptions, min_count: int) -> dict:
    """N - (N-1) for sensitivity or specificity on paired cases."""
    cl, margin = opts.confidence_level, (opts.non_inferiority.margin if opts.non_inferiority else None)
    keep = np.flatnonzero(y == PROPORTIONS[metric])
    ok_b, ok_c = call_base[keep] == y[keep], call_cur[keep] == y[keep]
    e, f = int(np.sum(ok_b & ok_c)), int(np.sum(ok_c & ~ok_b))  # f: only the new version right
    g = int(np.sum(ok_b & ~ok_c))
    n = len(keep)
    h = n - e - f - g
    units, clustered = _units(keep, patient)
    deff, effective = 1.0, (e, f, g, h)
    if clustered:  # pairs of one patient are correlated: Rao-Scott effective counts (valkit.stats.clustered_paired)
        from valkit.stats.clustered_paired import clustered_paired_difference

        cp = clustered_paired_difference(ok_c, ok_b, patient[keep], interval=opts.interval, confidence_level=cl)
        diff, deff, effective = cp.estimate, cp.design_effect, cp.effective_counts
    elif opts.interval == "tango":
        diff = stats.tango_score_interval(f, g, n, confidence_level=cl)
    else:
        diff = stats.paired_proportion_difference_from_counts(e, f, g, h, confidence_level=cl)
    out = {
        "metric": metric, "n": n, "evidence_units": units, "clustered": clustered,
        "sufficient_evidence": units >= min_count,
        "baseline": stats.proportion(int(ok_b.sum()), n, confidence_level=cl, name=metric).to_dict(),
        "current": stats.proportion(int(ok_c.sum()), n, confidence_level=cl, name=metric).to_dict(),
        "difference": diff.to_dict(),
        "discordant": {"current_only": f, "baseline_only": g},
        "design_effect": deff,  # > 1: patients' pairs are correlated; intervals and tests use counts / deff
        "test": stats.mcnemar_from_counts(f, g).to_dict(),
        "non_inferiority": None,
    }
    if margin is not None:
        ee, ff, gg, hh = effective
        z, p = stats.tango_score_test(ff, gg, ee + ff + gg + hh, delta0=-margin)
        out["non_inferiority"] = _ni_block(diff.interval.low, diff.interval.high, margin, z, p, "tango_score_test")
    return out


def compare_auc(y: np.ndarray, s_base: np.ndarray, s_cur: np.ndarray, patient: np.ndarray, *,
                opts: BaselineOptions, min_positives: int, min_negatives: int) -> dict:
    """AUC(N) - AUC(N-1) on paired cases: DeLong's paired test, clustered by patient when needed."""
    from scipy.stats import norm

    cl, margin = opts.confidence_level, (opts.non_inferiority.margin if opts.non_inferiority else None)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    units_pos, _ = _units(pos, patient)
    units_neg, _ = _units(neg, patient)
    clustered = stats.has_clusters(patient)
    cluster = patient if clustered else None
    if len(pos) and len(neg):
        test = stats.clustered_delong_test(y, s_cur, s_base, cluster=patient, confidence_level=cl) if clustered \
            else stats.delong_test(y, s_cur, s_base, confidence_level=cl)
        base_est, cur_est = (auc_estimate(y, s, cluster, confidence_level=cl) for s in (s_base, s_cur))
    else:
        nan_iv = stats.Interval(math.nan, math.nan, cl, "delong_paired")
        test = stats.TestResult(math.nan, math.nan, math.nan, nan_iv, "delong_paired", None,
                                ("not_estimable: AUC needs positives and negatives.",))
        base_est = cur_est = stats.Estimate(math.nan, None, len(y), None, None, None,
                                            ("not_estimable: AUC needs positives and negatives.",))
    iv = test.interval
    out = {
        "metric": "auc", "n": int(len(y)), "evidence_units": min(units_pos, units_neg), "clustered": clustered,
        "sufficient_evidence": units_pos >= min_positives and units_neg >= min_negatives,
        "baseline": base_est.to_dict(), "current": cur_est.to_dict(),
        "difference": {"value": test.difference, "interval": iv.to_dict() if iv else None, "n": int(len(y)),
                       "numerator": None, "denominator": None, "method": test.method, "warnings": list(test.warnings)},
        "discordant": None,
        "test": test.to_dict(),
        "non_inferiority": None,
    }
    if margin is not None:
        q = float(norm.ppf(0.5 + cl / 2))
        se = (iv.high - iv.low) / (2 * q) if iv is not None and math.isfinite(iv.high - iv.low) else math.nan
        z = (test.difference + margin) / se if se and math.isfinite(se) and se > 0 else math.nan
        p = float(norm.sf(z)) if math.isfinite(z) else math.nan
        out["non_inferiority"] = _ni_block(iv.low, iv.high, margin, z, p, f"{test.method}_noninferiority")
    return out


def _compare_all(y, s_base, s_cur, t_base, t_cur, patient, metrics, opts: BaselineOptions, sg) -> dict:
    call_b, call_c = (s_base >= t_base).astype(int), (s_cur >= t_cur).astype(int)
    out = {}
    for m in metrics:
        if m == "auc":
            out[m] = compare_auc(y, s_base, s_cur, patient, opts=opts, min_positives=sg.min_positives,
                                 min_negatives=sg.min_negatives)
        else:
            out[m] = compare_proportion(m, y, call_b, call_c, patient, opts=opts,
                                        min_count=sg.min_positives if m == "sensitivity" else sg.min_negatives)
    return out


def _component_verdict(comp: dict) -> str:
    if not comp["sufficient_evidence"]:
        return "INSUFFICIENT EVIDENCE"
    return comp["non_inferiority"]["verdict"]


def non_inferiority_criteria(overall: dict, families: list[dict], opts: BaselineOptions) -> dict | None:
    """One criterion per metric: overall and every gating subgroup cell must show non-inferiority."""
    ni = opts.non_inferiority
    if ni is None:
        return None
    criteria = []
    for m in ni.metrics:
        parts = [("overall", None, None, overall[m])]
        if ni.subgroups == "prespecified":
            parts += [(f"{fam['name']} = {cell['level']}", fam["name"], cell["level"], cell["comparisons"][m])
                      for fam in families for cell in fam["cells"] if cell["gating"]]
        rows = [{"where": where, "family": fam, "level": level, "verdict": _component_verdict(c),
                 "finding": c["non_inferiority"]["finding"] if c["sufficient_evidence"] else "below the evidence rule",
                 "difference": c["difference"]["value"], "bound": c["non_inferiority"]["bound"]}
                for where, fam, level, c in parts]
        verdicts = {r["verdict"] for r in rows}
        verdict = "PASS" if verdicts == {"PASS"} else ("FAIL" if "FAIL" in verdicts else "INSUFFICIENT EVIDENCE")
        criteria.append({"metric": m, "verdict": verdict, "n_components": len(rows),
                         "n_passed": sum(r["verdict"] == "PASS" for r in rows),
                         "not_passed": [r for r in rows if r["verdict"] != "PASS"]})
    verdicts = {c["verdict"] for c in criteria}
    pct = f"{opts.confidence_level:.0%}"
    scope = "overall and in every pre-specified subgroup" if ni.subgroups == "prespecified" else "overall"
    return {
        "margin": ni.margin, "metrics": list(ni.metrics), "subgroups": ni.subgroups,
        "statement": (f"The new version is non-inferior to {opts.label} by {ni.margin:g} in "
                      f"{', '.join(ni.metrics)} {scope}: the lower bound of each two-sided {pct} interval of "
                      f"N - (N-1) is above -{ni.margin:g}."),
        "multiplicity": MULTIPLICITY,
        "criteria": criteria,
        "verdict": "PASS" if verdicts == {"PASS"} else ("FAIL" if "FAIL" in verdicts else "INSUFFICIENT EVIDENCE"),
    }


def compare_with_baseline(merged: pd.DataFrame, protocol: Protocol, threshold: float,
                          base: BaselineScores) -> tuple[Baseline, pd.DataFrame]:
    """The ``baseline`` block of results.json (validated here), and the table of cases whose call changed
    (flips.csv)."""
    opts = protocol.baseline
    assert opts is not None
    sg = protocol.subgroups
    analysed = merged[merged["status"] == "ok"]
    paired, accounting = match_cases(analysed, base.predictions)
    y = paired["label"].to_numpy(dtype=int)
    s_cur, s_base = paired["score"].to_numpy(float), paired["score_baseline"].to_numpy(float)
    _, patient = np.unique(paired["patient_id"].astype(str).to_numpy(), return_inverse=True)
    patient = patient.reshape(-1).astype(np.int64)
    ni_metrics = list(opts.non_inferiority.metrics) if opts.non_inferiority else []
    metrics = ["sensitivity", "specificity"] + (["auc"] if "auc" in ni_metrics else [])
    args = (base.threshold, threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)  # recorded in each result's warnings
        overall = _compare_all(y, s_base, s_cur, *args, patient, ["sensitivity", "specificity", "auc"], opts, sg)
        families = []
        for name, cols, prespecified in sg.families():
            fam = family_cells(paired, name, cols, prespecified, sg)
            cells = []
            for i, levels in enumerate(fam.cells):
                idx = np.flatnonzero(fam.codes == i)
                cells.append({
                    "level": SEP.join(levels), "levels": dict(zip(fam.columns, levels)), "n": int(len(idx)),
                    "n_positive": int(y[idx].sum()), "n_negative": int(len(idx) - y[idx].sum()),
                    "gating": bool(prespecified and MISSING not in levels and opts.non_inferiority is not None
                                   and opts.non_inferiority.subgroups == "prespecified"),
                    "comparisons": _compare_all(y[idx], s_base[idx], s_cur[idx], *args, patient[idx], metrics,
                                                opts, sg),
                })
            families.append({"name": name, "columns": list(cols), "prespecified": prespecified, "cells": cells})
        drift = score_drift(s_base, s_cur)
    flips, flips_table = flip_analysis(paired, base.threshold, threshold, sg)
    block = {
        "version": base.identity(),
        "current_threshold": threshold,
        "interval": opts.interval,
        "confidence_level": opts.confidence_level,
        "matching": accounting,
        "overall": overall,
        "subgroups": families,
        "non_inferiority": non_inferiority_criteria(overall, families, opts),
        "flips": flips,
        "drift": drift,
    }
    return validate_block(Baseline, block, path="baseline"), flips_table


__all__ = ["MULTIPLICITY", "compare_auc", "compare_proportion", "compare_with_baseline", "match_cases",
           "non_inferiority_criteria"]
