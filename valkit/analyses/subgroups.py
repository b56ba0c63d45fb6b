"""Subgroup families, per-cell accuracy with intervals, and fairness gaps.

A family is one column (``sex``) or an intersection (``sex x age_band``); its cells are
the levels, always including declared-but-empty levels and a ``missing`` level for cases
without a value, so the cell n's of every family sum to the number of analysed cases.
Every cell carries its 2x2 counts; a cell below the protocol's evidence rule is flagged
``insufficient_evidence`` (the report prints its counts, not its estimate).

Fairness gaps and criteria: :mod:`valkit.analyses.fairness`.

Intervals: every cell's proportions come from :class:`valkit.analyses.estimates.ProportionEstimator`
(the same interval for the same cases, whichever family or section shows them): Wilson unless
some patient has several images in the cell (protocol ``analysis.clustering``), then the
patient-clustered bootstrap percentile interval; AUC uses DeLong, or Obuchowski's clustered
variance. Under clustering the evidence rule counts patients. The fairness gaps take their
intervals from one bootstrap plan per family (:func:`valkit.stats.fairness.bootstrap_cell_counts`,
stratified by cell and outcome), which keeps the groups' joint variation.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valkit.analyses.accuracy import auc_estimate
from valkit.analyses.estimates import ProportionEstimator, withhold_if_insufficient
from valkit.protocol import Protocol, Subgroups
from valkit.progress import Step
from valkit.stats.clustered_logit import clustered_logit_transform
from valkit.stats.fairness import bootstrap_cell_counts
from valkit.stats.heterogeneity import LogitData, logit_transform, random_effects
from valkit.stats.types import Estimate
from valkit.stats.validation import distinct, n_distinct
from valkit.study import MISSING, age_band_labels

SEP = " × "


# ----------------------------------------------------------------------------- cells of a family
def column_values(df: pd.DataFrame, col: str) -> np.ndarray | None:
    """The column as strings, with NaN / empty as ``missing``; None when the column is absent."""
    if col not in df.columns:
        return None
    v = df[col].astype(object)
    v = v.where(v.notna(), "").astype(str).str.strip()
    return v.where(~v.isin(["", "nan", "None", "NaN"]), MISSING).to_numpy(dtype=object)


def declared_levels(sg: Subgroups, col: str) -> list[str]:
    if col in sg.levels:
        return [str(x) for x in sg.levels[col]]
    if col == "age_band":
        return age_band_labels(sg.age_bands)
    return []


@dataclass(frozen=True)
class FamilyCells:
    name: str
    columns: tuple[str, ...]
    prespecified: bool
    cells: tuple[tuple[str, ...], ...]   # level tuple per cell
    codes: np.ndarray                    # cell index per case
    declared: tuple[bool, ...]
    absent_columns: tuple[str, ...]


def family_cells(df: pd.DataFrame, name: str, columns: tuple[str, ...], prespecified: bool,
                 sg: Subgroups) -> FamilyCells:
    """Cells (declared first, then observed, ``missing`` last) and each case's cell."""
    values, orders, declared_sets, absent = [], [], [], []
    for col in columns:
        v = column_values(df, col)
        if v is None:  # a column not in the data: every case is 'missing' (said so in the report)
            absent.append(col)
            v = np.full(len(df), MISSING, dtype=object)
        dec = declared_levels(sg, col)
        observed = set(pd.unique(v))
        extra = sorted(x for x in observed if x not in dec and x != MISSING)
        orders.append(dec + extra + ([MISSING] if MISSING in observed else []))
        declared_sets.append(set(dec))
        values.append(v)
    # each case's cell as one mixed-radix key of its levels' ranks: sorting keys sorts rank tuples
    key = np.zeros(len(df), dtype=np.int64)
    for v, o in zip(values, orders):
        key = key * len(o) + pd.Index(o).get_indexer(v)

    def key_of(levels: tuple[str, ...]) -> int:
        k = 0
        for lvl, o in zip(levels, orders):
            k = k * len(o) + o.index(lvl)
        return k

    def levels_of(k: int) -> tuple[str, ...]:
        out = []
        for o in reversed(orders):
            k, r = divmod(k, len(o))
            out.append(o[r])
        return tuple(reversed(out))

    cells: list[tuple[str, ...]] = []
    if all(declared_sets):  # every combination of declared levels is a declared cell, even if empty
        import itertools

        cells = list(itertools.product(*[[x for x in o if x in d] for o, d in zip(orders, declared_sets)]))
    cell_keys = [key_of(c) for c in cells]
    known = set(cell_keys)
    extra_keys = [int(k) for k in distinct(key) if int(k) not in known] if values else []
    cells += [levels_of(k) for k in extra_keys]
    cell_keys += extra_keys
    codes = pd.Index(cell_keys, dtype=np.int64).get_indexer(key).astype(np.int64) if values else \
        np.zeros(0, dtype=np.int64)
    declared = tuple(all(x in d for x, d in zip(c, declared_sets)) for c in cells)
    return FamilyCells(name, tuple(columns), prespecified, tuple(cells), codes, declared, tuple(absent))


# ----------------------------------------------------------------------------- per-cell results
def _family_seed(seed: int, name: str) -> list[int]:
    return [int(seed), zlib.crc32(name.encode())]


def cell_rows(fam: FamilyCells, s: np.ndarray, estimator: ProportionEstimator, sg: Subgroups, *,
              cl: float = 0.95) -> list[dict]:
    """One dict per cell: counts, flags, status and estimates (results.json rows).

    The proportions come from ``estimator`` (one interval per case set, whichever family asks);
    the evidence rule counts patients when the cell is clustered."""
    rows = []
    order = np.argsort(fam.codes, kind="stable")
    bounds = np.searchsorted(fam.codes[order], np.arange(len(fam.cells) + 1))
    for i, levels in enumerate(fam.cells):
        idx = order[bounds[i]:bounds[i + 1]]
        cs = estimator.estimate(idx, confidence_level=cl)
        n, n_pos, n_neg = cs.n, cs.n_positive, cs.n_negative
        flags = []
        if n == 0:
            flags.append("empty")
        elif n_pos == 0 or n_neg == 0:
            flags.append("one_class")
        enough = cs.evidence(min_positives=sg.min_positives, min_negatives=sg.min_negatives)
        if not enough:
            flags.append("insufficient_evidence")
        if MISSING in levels:
            flags.append("missing_value")
        if any(lvl != MISSING and declared_levels(sg, c) and lvl not in declared_levels(sg, c)
               for c, lvl in zip(fam.columns, levels)):
            flags.append("undeclared_level")
        if cs.clustered:
            flags.append("clustered")
        y = estimator.y[idx]
        auc = auc_estimate(y, s[idx], estimator.patient[idx] if cs.clustered else None, confidence_level=cl) \
            if n_pos and n_neg else Estimate(math.nan, None, n, None, None, None,
                                             ("not_estimable: AUC needs positives and negatives.",))
        rows.append(withhold_if_insufficient({
            "level": SEP.join(levels),
            "levels": dict(zip(fam.columns, levels)),
            "n": n, "n_patients": cs.n_patients, "n_positive": n_pos, "n_negative": n_neg,
            "n_positive_patients": cs.n_positive_patients, "n_negative_patients": cs.n_negative_patients,
            "confusion": dict(cs.confusion),
            "status": "empty" if n == 0 else ("estimated" if enough else "insufficient_evidence"),
            "declared": bool(fam.declared[i]),
            "sufficient_evidence": bool(enough),
            "flags": flags,
            **{k: v.to_dict() for k, v in cs.estimates.items() if k != "accuracy"},
            "auc": auc.to_dict(),
        }, enough))
    return rows


class CellEngine:
    """Builds (and caches) a family's cells, bootstrap and rows for one analysed table."""

    def __init__(self, analysed: pd.DataFrame, threshold: float, protocol: Protocol, *,
                 estimator: ProportionEstimator | None = None, step: Step | None = None):
        self.df = analysed.reset_index(drop=True)
        self.sg = protocol.subgroups
        self.seed = protocol.analysis.seed
        self.n_resamples = protocol.analysis.bootstrap_resamples
        self.y = self.df["label"].to_numpy(dtype=int)
        self.s = self.df["score"].to_numpy(dtype=float)
        self.pred = (self.s >= threshold).astype(int)
        self.patient_code = ProportionEstimator.patient_codes(self.df["patient_id"])
        self.estimator = estimator or ProportionEstimator(
            self.y, self.pred, self.patient_code, clustering=protocol.analysis.clustering, seed=self.seed,
            n_resamples=self.n_resamples)
        self._cache: dict[str, dict] = {}
        self._step = step  # advanced once per family bootstrapped (valkit.progress)

    def family(self, name: str, columns: tuple[str, ...], prespecified: bool) -> dict:
        if name in self._cache:
            return self._cache[name]
        fam = family_cells(self.df, name, columns, prespecified, self.sg)
        boot = bootstrap_cell_counts(self.y, self.pred, fam.codes, n_cells=len(fam.cells),
                                     cluster=None if self.estimator.clustering == "none" else self.patient_code,
                                     strata="cell_outcome",
                                     n_resamples=self.n_resamples, seed=_family_seed(self.seed, name))
        rows = cell_rows(fam, self.s, self.estimator, self.sg)
        out = {"fam": fam, "boot": boot, "rows": rows}
        self._cache[name] = out
        if self._step is not None:
            self._step.advance()
        return out


# ----------------------------------------------------------------------------- logits of pooled cells
VARIANCE_RULE = ("binomial logit variance 1/x + 1/(n-x) when every patient has one image in the compared cells; "
                 "when some patient has several, the patient-clustered (Rao-Scott 1992) variance: sandwich variance "
                 "of the ratio estimator, design effect floored at 1 (never narrower than binomial), each patient "
                 "counted once at 0% or 100%")
_DENOMINATOR = {"sensitivity": (1, 1), "specificity": (0, 0)}  # (label of the denominator images, event prediction)


def compared_cells(rows: list[dict]) -> list[int]:
    """Indices of the cells that are pooled or compared: sufficient evidence and a recorded value."""
    return [i for i, r in enumerate(rows) if r["sufficient_evidence"] and "missing_value" not in r["flags"]]


def cell_logits(engine: CellEngine, fam: FamilyCells, rows: list[dict], cells: list[int], metric: str) -> LogitData:
    """Logits of ``metric`` in ``cells`` (in that order), with the variance the clustering rule asks for.

    Binomial variances (``logit_transform``) unless some patient has several images in one of
    these cells (their ``clustered`` flag, the rule that switches the proportion intervals to the
    cluster bootstrap); then Rao-Scott patient-clustered ones (``clustered_logit_transform``).
    ``LogitData.method`` says which.
    """
    label, event = _DENOMINATOR[metric]
    where = np.full(len(fam.cells), -1, dtype=np.int64)
    where[cells] = np.arange(len(cells))
    sel = (engine.y == label) & (where[fam.codes] >= 0)
    level = where[fam.codes[sel]]
    hit = (engine.pred[sel] == event).astype(float)
    if any("clustered" in rows[i]["flags"] for i in cells):
        return clustered_logit_transform(hit, level, engine.patient_code[sel], n_levels=len(cells))
    return logit_transform(np.bincount(level, weights=hit, minlength=len(cells)),
                           np.bincount(level, minlength=len(cells)))


# ----------------------------------------------------------------------------- subgroups section
def _difference_tests(engine: CellEngine, fam: FamilyCells, rows: list[dict]) -> dict[str, dict]:
    """Test for subgroup differences: Cochran's Q across sufficient cells (logit scale), with
    patient-clustered variances when patients have several images in these cells."""
    out = {}
    use = compared_cells(rows)
    for metric in _DENOMINATOR:
        if len(use) < 2:
            out[metric] = {"q": None, "df": None, "p_value": None, "k": len(use),
                           "note": "fewer than two cells with sufficient evidence"}
            continue
        d = cell_logits(engine, fam, rows, use, metric)
        m = random_effects(d.effects, d.variances, method="dl")
        out[metric] = {"q": m.q, "df": m.df, "p_value": m.p_value, "k": m.k, "i2": m.i2, "variance": d.method}
    return out


def _margins_consistent(fam: FamilyCells, rows: list[dict], one_way: dict[str, list[dict]]) -> bool | None:
    """Intersection cells summed over the other columns equal the one-way cells."""
    if len(fam.columns) < 2:
        return None
    for col in fam.columns:
        if col not in one_way:
            continue
        total: dict[str, np.ndarray] = {}
        for r in rows:
            lvl = r["levels"][col]
            total[lvl] = total.get(lvl, 0) + np.array([r["confusion"][k] for k in ("tp", "fp", "fn", "tn")])
        for r in one_way[col]:
            got = total.get(r["level"], np.zeros(4, dtype=int))
            if not np.array_equal(got, [r["confusion"][k] for k in ("tp", "fp", "fn", "tn")]):
                return False
    return True


def missing_demographics(df: pd.DataFrame, columns: list[str]) -> dict:
    """Per column: how many analysed cases have no value; and a sentence for the report."""
    n = len(df)
    pid = df["patient_id"].astype(str).to_numpy() if "patient_id" in df.columns else None
    per: dict[str, dict] = {}
    parts = []
    for col in columns:
        v = column_values(df, col)
        if v is None:
            per[col] = {"recorded": False, "n_missing": n, "fraction_missing": 1.0 if n else None,
                        "n_missing_patients": n_distinct(pid) if pid is not None else None}
            parts.append(f"{col} was not recorded at all, so no analysis by {col} is possible")
            continue
        k = int((v == MISSING).sum())
        per[col] = {"recorded": True, "n_missing": k, "fraction_missing": k / n if n else None,
                    "n_missing_patients": n_distinct(pid[v == MISSING]) if pid is not None else None}
        if k:
            parts.append(f"{col} is missing for {k} of {n} cases ({100 * k / n:.1f}%)")
    if parts:
        text = ("; ".join(parts).capitalize() + ". Cases without a value are reported as a separate 'missing' group and "
                "left out of the fairness comparisons. Estimates for the recorded groups assume that whether a value "
                "was recorded is unrelated to the model's performance, which this study cannot verify.")
    else:
        text = "Every analysed case has a recorded value for every subgroup column."
    return {"by_column": per, "statement": text, "n_cases": n,
            "n_patients": n_distinct(pid) if pid is not None else None}


def _worst(families: list[dict]) -> dict | None:
    """Worst pre-specified cell with sufficient evidence: lowest lower bound of sensitivity / specificity."""
    best: dict | None = None
    for fam in families:
        if not fam["prespecified"]:
            continue
        for r in fam["cells"]:
            if not r["sufficient_evidence"] or "missing_value" in r["flags"]:
                continue
            for metric in ("sensitivity", "specificity"):
                iv = r[metric].get("interval") or {}
                low = iv.get("low")
                if low is not None and (best is None or low < best["lower_bound"]):
                    best = {"family": fam["name"], "level": r["level"], "metric": metric,
                            "estimate": r[metric]["value"], "lower_bound": low, "interval": iv,
                            "numerator": r[metric].get("numerator"), "n": r[metric].get("denominator")}
    return best


def _goals(protocol: Protocol) -> dict[str, float]:
    return {e.metric: e.goal for e in protocol.endpoints if e.goal is not None and e.primary}


def subgroups_section(engine: CellEngine, protocol: Protocol, primary: dict | None = None) -> dict:
    sg = protocol.subgroups
    fams = []
    one_way: dict[str, list[dict]] = {}
    for name, cols, pre in sg.families():
        res = engine.family(name, cols, pre)
        if len(cols) == 1:
            one_way[cols[0]] = res["rows"]
    for name, cols, pre in sg.families():
        res = engine.family(name, cols, pre)
        fam, rows = res["fam"], res["rows"]
        fams.append({
            "name": name, "columns": list(cols), "kind": "one_way" if len(cols) == 1 else "intersection",
            "prespecified": pre, "absent_columns": list(fam.absent_columns),
            "n_cells": len(rows), "n_sum": int(sum(r["n"] for r in rows)),
            "n_insufficient": sum(1 for r in rows if r["status"] == "insufficient_evidence"),
            "n_empty": sum(1 for r in rows if r["status"] == "empty"),
            "margins_consistent": _margins_consistent(fam, rows, one_way),
            "difference_tests": _difference_tests(engine, fam, rows),
            "bootstrap": res["boot"].describe(),
            "cells": rows,
        })
    _adjust_difference_tests(fams, sg.heterogeneity.multiplicity)
    demo_cols = list(dict.fromkeys(c for _, cols, _ in sg.families() for c in cols))
    overall = None
    if primary is not None:
        overall = {k: primary.get(k) for k in ("sensitivity", "specificity", "ppv", "npv", "auc")}
    return {
        "evidence_rule": {
            "min_positives": sg.min_positives, "min_negatives": sg.min_negatives,
            "unit": "patients" if engine.estimator.uses_clusters(np.arange(len(engine.y))) else "images",
            "text": (f"a cell needs at least {sg.min_positives} patients with a positive image and "
                     f"{sg.min_negatives} with a negative image (patients, not images, because some patients have "
                     "several images); below that it is reported as insufficient evidence with its counts only"
                     if engine.estimator.uses_clusters(np.arange(len(engine.y))) else
                     f"a cell needs at least {sg.min_positives} positive and {sg.min_negatives} negative cases; "
                     "below that it is reported as insufficient evidence with its counts only"),
        },
        "n_total": int(len(engine.df)),
        "n_patients": n_distinct(engine.patient_code),
        "families": fams,
        "missing_demographics": missing_demographics(engine.df, demo_cols),
        "worst_prespecified": _worst(fams),
        "overall": overall,
        "goals": _goals(protocol),
        "methods": {
            "proportion_ci": "wilson; cluster_bootstrap_percentile in cells where a patient has several images "
                             f"(clustering rule: {engine.estimator.clustering}); one interval per set of cases, "
                             "shared by every section",
            "auc_ci": "delong; clustered (Obuchowski 1997) in cells where a patient has several images",
            "bootstrap": "cells: patients of the cell resampled within outcome strata, seeded by the analysis seed "
                         "and a digest of the cell's cases; fairness gaps: one plan per family, patients resampled "
                         "within strata = each patient's set of (cell, outcome) pairs",
            "n_resamples": engine.n_resamples, "seed": engine.seed,
            "family_seed": "numpy default_rng([seed, crc32(family name)])",
            "difference_test": "Cochran's Q across cells with sufficient evidence, logit scale; "
                               f"{multiplicity_name(sg.heterogeneity.multiplicity)}-adjusted over the difference "
                               "tests of the pre-specified families, and separately over those of the exploratory "
                               "families (each p_adjusted says which)",
            "difference_test_variance": VARIANCE_RULE,
            "confidence_level": 0.95,
        },
    }


MULTIPLICITY_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


def multiplicity_name(method: str) -> str:
    return MULTIPLICITY_NAMES.get(method, method)


def _adjust_difference_tests(fams: list[dict], method: str) -> None:
    """Adjust within the pre-specified and within the exploratory families; each test records its
    family (``adjustment``) so that every adjusted p printed can say what it was adjusted over."""
    from valkit.stats.multiplicity import adjust_p_values

    for pre in (True, False):
        slots = [(f, m) for f in fams if f["prespecified"] is pre
                 for m, t in f["difference_tests"].items() if t.get("p_value") is not None]
        adj = adjust_p_values([f["difference_tests"][m]["p_value"] for f, m in slots], method=method)
        kind = "pre-specified" if pre else "exploratory"
        for (f, m), p in zip(slots, adj.adjusted):
            f["difference_tests"][m]["p_adjusted"] = p
            f["difference_tests"][m]["adjustment"] = (
                f"{multiplicity_name(method)} over {len(slots)} difference tests: {kind} subgroup families "
                "× sensitivity/specificity")


__all__ = ["CellEngine", "cell_logits", "compared_cells", "family_cells", "missing_demographics",
           "multiplicity_name", "subgroups_section"]
