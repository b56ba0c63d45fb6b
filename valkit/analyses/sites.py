"""Sites and scanners: per-level 2x2 tables, random-effects pooling, heterogeneity, leave-one-out.

For each heterogeneity column (site, manufacturer, model by default) the levels with
sufficient evidence are pooled on the logit scale (:mod:`valkit.stats.heterogeneity`),
separately for sensitivity and specificity. When some patient has several images in the pooled
levels, every level's logit variance (and so Q, I², tau², the pooled interval, leave-one-out and
the deleted residuals) is the patient-clustered Rao-Scott one
(:func:`valkit.stats.clustered_logit.clustered_logit_transform`), else the binomial one; each
test records which (``variance``). The verdict per column and metric:

* ``insufficient evidence``: fewer than two levels meet the evidence rule;
* ``heterogeneous``: Cochran's Q test rejects at ``alpha`` after Holm (or BH) adjustment
  across every test in this section (``adjustment`` names that family); the levels whose
  studentized deleted residual is significant (Bonferroni within the column) are named as
  departing from the others;
* ``no evidence of heterogeneity``: otherwise, and then no level is named (with few levels the
  Q test has little power; I² and tau² are printed beside it).

Every sentence also gives the lowest and highest estimates among the pooled levels and the
levels not compared, so that a reader can check the named levels against the table.
"""
from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from valkit.analyses.data_summary import recorded
from valkit.analyses.subgroups import (SEP, VARIANCE_RULE, CellEngine, FamilyCells, cell_logits, compared_cells,
                                       multiplicity_name)
from valkit.protocol import Protocol
from valkit.stats.heterogeneity import pooled_proportion, random_effects
from valkit.stats.multiplicity import adjust_p_values
from valkit.stats.types import NotEstimableWarning

METRICS = {"sensitivity": ("tp", "fn"), "specificity": ("tn", "fp")}

#: the protocol's tau2_method in words (the methods text of results.json)
TAU2_METHOD_NAMES = {"reml": "restricted maximum likelihood (REML)", "pm": "Paule–Mandel (PM)",
                     "dl": "DerSimonian–Laird (DL)"}


def _pool(engine: CellEngine, fam: FamilyCells, rows: list[dict], metric: str, method: str, alpha: float) -> dict:
    num_key, other_key = METRICS[metric]
    idx = compared_cells(rows)
    use = [rows[i] for i in idx]
    excluded = [{"level": r["level"], "reason": "missing value" if "missing_value" in r["flags"]
                 else r["status"].replace("_", " ")} for i, r in enumerate(rows) if i not in idx]
    base: dict[str, Any] = {"metric": metric, "method": method, "levels": [r["level"] for r in use],
                            "excluded": excluded, "k": len(use)}
    if len(use) < 2:
        return {**base, "pooled": None, "verdict": "insufficient evidence",
                "note": "fewer than two levels with sufficient evidence: nothing to pool or compare"}
    x = [r["confusion"][num_key] for r in use]
    n = [r["confusion"][num_key] + r["confusion"][other_key] for r in use]
    d = cell_logits(engine, fam, rows, idx, metric)
    pooled = pooled_proportion(x, n, method=method, variances=d.variances)
    by_method = {}
    for m in ("dl", "pm", "reml"):
        fit = random_effects(d.effects, d.variances, method=m)
        by_method[m] = {"tau2": fit.tau2, "estimate": _expit(fit.estimate),
                        "interval": [_expit(fit.interval.low), _expit(fit.interval.high)], "i2_model": fit.i2_model}
    meta = pooled.meta
    rates = [a / b for a, b in zip(x, n)]
    out = {
        **base,
        "variance": d.method,
        "design_effect": (dict(zip(base["levels"], (float(v) for v in d.design_effect)))
                          if d.design_effect is not None else None),
        "range": {side: {"levels": [lvl for lvl, r in zip(base["levels"], rates) if r == pick(rates)],
                         "value": pick(rates)} for side, pick in (("lowest", min), ("highest", max))},
        "pooled": pooled.estimate.to_dict(),
        "prediction_interval": pooled.prediction_interval.to_dict() if pooled.prediction_interval else None,
        "fixed_effect": _expit(meta.fixed_estimate),
        "q": meta.q, "df": meta.df, "p_value": meta.p_value, "i2": meta.i2, "h2": meta.h2, "tau2": meta.tau2,
        "tau": meta.tau, "i2_model": meta.i2_model, "weights": dict(zip(base["levels"], meta.weights)),
        "continuity_corrected": [lvl for lvl, c in zip(base["levels"], pooled.corrected) if c],
        "by_tau2_method": by_method,
        "leave_one_out": [
            {"left_out": lvl, "pooled": e.to_dict(), "tau2": m.tau2, "i2": m.i2, "q": m.q, "p_value": m.p_value}
            for lvl, e, m in zip(base["levels"], pooled.leave_one_out, pooled.leave_one_out_meta)
        ],
        "residuals": [],
    }
    k = len(pooled.residuals)
    out["residuals"] = [  # Bonferroni within the column: is this level unlike the pooled others?
        {"level": lvl, "z": r.z, "p_value": r.p_value, "p_adjusted": min(1.0, k * r.p_value),
         "adjustment": f"Bonferroni over the {k} levels of this column",
         "direction": "lower" if r.z < 0 else "higher", "departs": bool(k * r.p_value < alpha)}
        for lvl, r in zip(base["levels"], pooled.residuals)
    ]
    return out


def _expit(v: float) -> float:
    import math

    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


def _verdict(test: dict, alpha: float) -> None:
    """Verdict, named levels and the sentence for one column and metric.

    A level is named only when the column is heterogeneous (adjusted Q p < alpha) and its
    studentized deleted residual is significant (Bonferroni within the column): *departing*.
    When the column is heterogeneous but no level departs on its own, no single level is
    singled out (the residual weighs a level by its precision, so the "largest residual" need
    not be the level a reader sees as most extreme); the text states that and gives the lowest
    and highest estimates among the pooled levels, which a reader can check against the table,
    and lists the levels not compared (excluded from pooling).
    """
    if test.get("pooled") is None:
        return
    p_adj = test["p_adjusted"]
    heterogeneous = p_adj < alpha
    test["verdict"] = "heterogeneous" if heterogeneous else "no evidence of heterogeneity"
    departing = [r for r in test["residuals"] if r["departs"]] if heterogeneous else []
    test["flagged_levels"] = [{"level": r["level"], "direction": r["direction"], "z": r["z"],
                               "p_adjusted": r["p_adjusted"], "significant": True} for r in departing]
    i2 = test["i2"]
    low_power = " (few levels: the Q test has little power)" if test["k"] < 5 else ""
    family = f" ({test['adjustment']})" if test.get("adjustment") else ""
    test["text"] = (f"{test['metric']}: {test['verdict']}, Q = {test['q']:.2f} on {test['df']} df, "
                    f"adjusted p = {p_adj:.3g}{family}, I² = {100 * i2:.0f}%, "
                    f"tau² = {test['tau2']:.3g}{low_power}")
    test["flagged_summary"] = flagged_text(test["flagged_levels"])
    test["text"] += flagged_text(test["flagged_levels"], prefix="; ")
    if not heterogeneous:
        test["text"] += "; no level is named as departing (the column is not heterogeneous)"
    elif not departing:
        test["text"] += (f"; no single level departs significantly from the others (studentized deleted residuals, "
                         f"Bonferroni over {test['k']} levels): the differences are spread across levels")
    test["comparison_summary"] = comparison_text(test)
    if test["comparison_summary"]:
        test["text"] += "; " + test["comparison_summary"]


def comparison_text(test: dict) -> str:
    """The pooled levels' extremes and the levels not compared, so the verdict can be checked.

    >>> comparison_text({"k": 3, "range": {"lowest": {"levels": ["A"], "value": 0.41},
    ...                  "highest": {"levels": ["B", "C"], "value": 0.9}},
    ...                  "excluded": [{"level": "D", "reason": "insufficient evidence"}]})
    'estimates of the 3 pooled levels range from 41% (A) to 90% (B, C); not compared: D (insufficient evidence)'
    """
    rng = test.get("range") or {}
    lo, hi = rng.get("lowest") or {}, rng.get("highest") or {}
    out = (f"estimates of the {test['k']} pooled levels range from {100 * lo['value']:.0f}% "
           f"({', '.join(lo['levels'])}) to {100 * hi['value']:.0f}% ({', '.join(hi['levels'])})") if lo and hi else ""
    if test.get("excluded"):
        out += ("; " if out else "") + "not compared: " + ", ".join(
            f"{e['level']} ({e['reason']})" for e in test["excluded"])
    return out


def flagged_text(flagged: list[dict], *, prefix: str = "") -> str:
    """'departing: A (lower)' for the levels whose deleted residual is significant; '' when none.

    >>> flagged_text([{"level": "A", "direction": "lower", "p_adjusted": 0.001, "significant": True}])
    'departing: A (lower)'
    >>> flagged_text([])
    ''
    """
    sig = [f for f in flagged if f.get("significant", True)]
    if not sig:
        return ""
    return prefix + "departing: " + ", ".join(f"{f['level']} ({f['direction']})" for f in sig)


def sites_section(engine: CellEngine, protocol: Protocol) -> dict:
    h = protocol.subgroups.heterogeneity
    fams = []
    # the default columns (site, manufacturer, model) only when the data record them; columns the
    # protocol names itself are always analysed (an absent one is reported as such)
    explicit = "columns" in h.model_fields_set
    for col in h.columns:
        if not explicit and (col not in engine.df.columns or not recorded(engine.df[col])):
            continue
        present = col in engine.df.columns
        res = engine.family(col, (col,), True)
        rows, fam_cells = res["rows"], res["fam"]
        fam: dict[str, Any] = {
            "name": col, "column": col, "present": present, "n_levels": len(rows),
            "n_sum": int(sum(r["n"] for r in rows)), "cells": rows, "bootstrap": res["boot"].describe(),
            "tests": {m: _pool(engine, fam_cells, rows, m, h.tau2_method, h.alpha) for m in METRICS},
        }
        fams.append(fam)
    slots = [(f, m) for f in fams for m, t in f["tests"].items() if t.get("pooled") is not None]
    adj = adjust_p_values([f["tests"][m]["p_value"] for f, m in slots], method=h.multiplicity, alpha=h.alpha)
    columns = sorted({f["name"] for f, _ in slots}, key=[f["name"] for f in fams].index)
    adjustment = (f"{multiplicity_name(h.multiplicity)} over {len(slots)} tests: Cochran's Q of every column in this "
                  f"section ({', '.join(columns)}) × sensitivity/specificity")
    for (f, m), p in zip(slots, adj.adjusted):
        f["tests"][m]["p_adjusted"] = p
        f["tests"][m]["adjustment"] = adjustment
        _verdict(f["tests"][m], h.alpha)
    for f in fams:
        verdicts = {m: t["verdict"] for m, t in f["tests"].items()}
        f["verdict"] = ("heterogeneous" if "heterogeneous" in verdicts.values() else
                        "insufficient evidence" if all(v == "insufficient evidence" for v in verdicts.values())
                        else "no evidence of heterogeneity")
        f["flagged_levels"] = sorted({fl["level"] for t in f["tests"].values() for fl in t.get("flagged_levels", [])})
    return {
        "families": fams,
        "combinations": _combinations(engine),
        "multiplicity": {"method": h.multiplicity, "alpha": h.alpha, "n_tests": len(slots),
                         "family": "every Cochran's Q test in this section (columns x sensitivity/specificity)",
                         "label": adjustment if slots else None},
        "methods": {
            "pooling": f"random effects on the logit scale, between-level variance tau² by "
                       f"{TAU2_METHOD_NAMES.get(h.tau2_method, h.tau2_method)} (all three estimators shown); Wald "
                       "interval; prediction interval from the t distribution with k − 2 degrees of freedom "
                       "(k levels)",
            "heterogeneity": "Cochran's Q (chi-squared, k-1 df), I² = (Q-df)/Q (Higgins & Thompson 2002), tau²",
            "variance": "level logit variances for Q, I², tau², pooling, leave-one-out and residuals: " + VARIANCE_RULE
                        + " (each test's 'variance' says which was used)",
            "continuity_correction": "0.5 added to both cells of a level with 0 or 100% (Haldane-Anscombe)",
            "levels_pooled": "levels meeting the evidence rule; 'missing' and insufficient levels listed as excluded",
            "influence": "leave-one-level-out pooled estimates; studentized deleted residuals (metafor rstudent), "
                         "Bonferroni-adjusted within each column; a level is named only when its column is "
                         "heterogeneous: as departing when its residual is significant, else the largest |residual| "
                         "as most different; the lowest and highest pooled estimates and the levels not compared "
                         "are listed beside it",
            "software": "statsmodels.stats.meta_analysis.combine_effects (DL, PM); REML by valkit (root of the "
                        "REML score), checked against metafor",
        },
    }


def _combinations(engine: CellEngine) -> list[dict]:
    """Site x manufacturer x model counts: which scanners each site contributed."""
    df = engine.df
    cols = [c for c in ("site", "manufacturer", "model") if c in df.columns and recorded(df[c])]
    if not cols:
        return []
    g = df.assign(_pos=df["label"] == 1).groupby(cols, dropna=False, sort=True)
    return [{**dict(zip(cols, (str(k) for k in (key if isinstance(key, tuple) else (key,))))),
             "level": SEP.join(str(k) for k in (key if isinstance(key, tuple) else (key,))),
             "n": int(len(grp)), "n_positive": int(grp["_pos"].sum())} for key, grp in g]


def analyse_sites(analysed: pd.DataFrame, protocol: Protocol, threshold: float, *,
                  engine: CellEngine | None = None) -> dict:
    """The ``sites_and_scanners`` section of results.json."""
    engine = engine or CellEngine(analysed, threshold, protocol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        return sites_section(engine, protocol)


__all__ = ["analyse_sites", "sites_section"]
