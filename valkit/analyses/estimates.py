"""One set of counts, one interval: every proportion the report prints is computed here.

Overall accuracy, the endpoints, the per-site tables, the subgroup cells and the site /
scanner cells all ask :class:`ProportionEstimator` for the estimates of a *case set* (the
analysed cases of a cell). The answer depends on the case set only, never on which section
asked: the bootstrap seed is derived from the analysis seed and a digest of the case set, and
each answer is cached. Two cells with the same cases (a scanner found at one site only, a
scanner with one model) therefore print the same interval everywhere.

Clustering (protocol ``analysis.clustering``):

``auto`` (default)
    A case set in which some patient has several images gets the patient-clustered bootstrap
    (percentile; patients resampled within outcome strata); otherwise the protocol's method.
``patient``
    Always the patient-clustered bootstrap, even when every patient has one image.
``none``
    Images are treated as independent (the protocol's method on image counts); the report
    states this as a limitation when patients have several images.

Under clustering the evidence rule counts *patients*: a cell needs ``min_positives``
patients with a positive image and ``min_negatives`` patients with a negative image. A
clustered interval is never printed with zero width: when the bootstrap has no spread
(0 or n of n, or every patient with the same proportion), the Wilson interval on the
patients is used instead (:func:`valkit.stats.wilson_patients_interval`), with a warning.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from valkit import stats
from valkit.stats.fairness import bootstrap_cell_counts, percentile_interval
from valkit.stats.types import Estimate, Interval
from valkit.stats.validation import distinct, n_distinct

CLUSTERING_RULES = ("auto", "patient", "none")


def clustering_applies(rule: str, n_patients: int, n_cases: int) -> bool:
    """Whether ``n_cases`` from ``n_patients`` patients get patient-clustered methods under the protocol's
    ``analysis.clustering`` rule: ``none`` never, ``patient`` always, ``auto`` when some patient has several
    of the cases. Without cases (or patient ids), never.

    >>> clustering_applies("auto", 3, 4), clustering_applies("auto", 4, 4), clustering_applies("patient", 4, 4)
    (True, False, True)
    >>> clustering_applies("none", 3, 4)
    False
    """
    if rule == "none" or n_patients == 0 or n_cases == 0:
        return False
    return rule == "patient" or n_patients < n_cases
PROPORTIONS = ("sensitivity", "specificity", "ppv", "npv", "accuracy")
#: counts (TP, FP, FN, TN) columns of each proportion's numerator and denominator
_PARTS = {
    "sensitivity": ((0,), (0, 2)), "specificity": ((3,), (3, 1)), "ppv": ((0,), (0, 1)),
    "npv": ((3,), (3, 2)), "accuracy": ((0, 3), (0, 1, 2, 3)),
}
#: which cases form each proportion's denominator, from (y, pred)
DENOMINATOR_CASES = {
    "sensitivity": lambda y, p: y == 1, "specificity": lambda y, p: y == 0,
    "ppv": lambda y, p: p == 1, "npv": lambda y, p: p == 0, "accuracy": lambda y, p: np.ones(len(y), bool),
}
BOUNDARY_NOTE = ("boundary: every case has the same outcome, so the patient-clustered bootstrap has no spread; "
                 "Wilson interval with one observation per patient instead (conservative)")
DEGENERATE_NOTE = ("degenerate: every patient has the same proportion, so the patient-clustered bootstrap has no "
                   "spread; Wilson interval with one observation per patient instead (conservative)")
CLUSTER_METHOD = "cluster_bootstrap_percentile"


@dataclass(frozen=True)
class CaseSetEstimates:
    """The proportions of one case set, with the counts the evidence rule looks at."""

    estimates: dict[str, Estimate]
    confusion: dict[str, int]
    n: int
    n_patients: int
    n_positive: int
    n_negative: int
    n_positive_patients: int
    n_negative_patients: int
    clustered: bool

    def evidence(self, *, min_positives: int, min_negatives: int) -> bool:
        """The evidence rule: patients under clustering, images otherwise (equal with one image each)."""
        pos, neg = ((self.n_positive_patients, self.n_negative_patients) if self.clustered
                    else (self.n_positive, self.n_negative))
        return pos >= min_positives and neg >= min_negatives


def _canonical(index: Any) -> np.ndarray:
    """Sorted distinct int64 positions (a no-op check for the already sorted positions of a cell)."""
    idx = np.asarray(index, dtype=np.int64).reshape(-1)
    if idx.size > 1 and not bool((idx[1:] > idx[:-1]).all()):
        idx = distinct(idx)
    return idx


def _digest_canonical(idx: np.ndarray) -> int:
    return int.from_bytes(hashlib.sha256(np.ascontiguousarray(idx, dtype=np.int64).tobytes()).digest()[:8], "little")


def case_set_digest(index: np.ndarray) -> int:
    """A 64-bit digest of a set of case positions: equal sets, equal digests (and bootstrap seeds)."""
    return _digest_canonical(_canonical(index))


class ProportionEstimator:
    """Proportion estimates for any subset of the analysed cases, computed once per case set.

    Parameters
    ----------
    y, pred : arrays of {0, 1}, one per analysed case
    patient : int codes, one per case (the cluster unit)
    clustering : {"auto", "patient", "none"}
    seed, n_resamples : the protocol's analysis settings
    """

    def __init__(self, y: Any, pred: Any, patient: Any, *, clustering: str = "auto", seed: int = 0,
                 n_resamples: int = 2000):
        if clustering not in CLUSTERING_RULES:
            raise ValueError(f"clustering: unknown rule {clustering!r}; valid: {', '.join(CLUSTERING_RULES)}")
        self.y = np.asarray(y, dtype=np.int64)
        self.pred = np.asarray(pred, dtype=np.int64)
        self.patient = np.asarray(patient, dtype=np.int64)
        self.clustering = clustering
        self.seed = int(seed)
        self.n_resamples = int(n_resamples)
        self._cache: dict[tuple, CaseSetEstimates] = {}

    @staticmethod
    def patient_codes(patient_ids: Any) -> np.ndarray:
        """Integer code per case of its patient id, in the sorted order of the ids (the cluster unit)."""
        codes, _ = pd.factorize(pd.Series(np.asarray(patient_ids)).astype(str), sort=True)
        return codes.astype(np.int64)

    def uses_clusters(self, index: np.ndarray) -> bool:
        """Whether a case set gets patient-clustered methods under the protocol's rule."""
        return clustering_applies(self.clustering, n_distinct(self.patient[index]) if len(index) else 0, len(index))

    def estimate(self, index: Any = None, *, ci: str = "wilson", confidence_level: float = 0.95) -> CaseSetEstimates:
        """Estimates of the cases at ``index`` (positions; a boolean mask works too; None = all)."""
        idx = np.arange(len(self.y)) if index is None else np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = _canonical(idx)
        digest = _digest_canonical(idx)
        key = (digest, len(idx), ci, float(confidence_level))
        if key not in self._cache:
            self._cache[key] = self._compute(idx, digest, ci, confidence_level)
        return self._cache[key]

    def _compute(self, idx: np.ndarray, digest: int, ci: str, cl: float) -> CaseSetEstimates:
        y, pred, pat = self.y[idx], self.pred[idx], self.patient[idx]
        c = stats.confusion_counts(y, pred) if len(idx) else stats.ConfusionCounts(0, 0, 0, 0)
        counts = np.array([c.tp, c.fp, c.fn, c.tn], dtype=np.int64)
        clustered = self.uses_clusters(idx)
        plain = {
            "sensitivity": stats.sensitivity_from_counts(c.tp, c.fn, ci=ci, confidence_level=cl),
            "specificity": stats.specificity_from_counts(c.tn, c.fp, ci=ci, confidence_level=cl),
            "ppv": stats.ppv_from_counts(c.tp, c.fp, ci=ci, confidence_level=cl),
            "npv": stats.npv_from_counts(c.tn, c.fn, ci=ci, confidence_level=cl),
            "accuracy": stats.accuracy_from_counts(c.tp, c.fp, c.fn, c.tn, ci=ci, confidence_level=cl),
        }
        est = plain if not clustered else self._clustered(plain, counts, y, pred, pat, digest, cl)
        return CaseSetEstimates(
            estimates=est, confusion=c.to_dict(),
            n=int(len(idx)), n_patients=n_distinct(pat),
            n_positive=int(c.tp + c.fn), n_negative=int(c.fp + c.tn),
            n_positive_patients=n_distinct(pat[y == 1]), n_negative_patients=n_distinct(pat[y == 0]),
            clustered=clustered,
        )

    def _clustered(self, plain: dict[str, Estimate], counts: np.ndarray, y: np.ndarray, pred: np.ndarray,
                   pat: np.ndarray, digest: int, cl: float) -> dict[str, Estimate]:
        boot = bootstrap_cell_counts(y, pred, np.zeros(len(y), dtype=np.int64), n_cells=1, cluster=pat,
                                     strata="cell_outcome", n_resamples=self.n_resamples,
                                     seed=[self.seed, digest])
        reps = boot.replicates[:, 0, :].astype(float)
        out = {}
        for metric, (num_cols, den_cols) in _PARTS.items():
            num, den = int(counts[list(num_cols)].sum()), int(counts[list(den_cols)].sum())
            e = plain[metric]
            if den == 0:
                out[metric] = dataclasses.replace(e, interval=Interval(math.nan, math.nan, cl, CLUSTER_METHOD),
                                                  method=CLUSTER_METHOD)
                continue
            in_den = DENOMINATOR_CASES[metric](y, pred)
            n_pat = n_distinct(pat[in_den])
            if num in (0, den):  # every resample gives the same proportion
                out[metric] = self._fallback(e, num, den, n_pat, cl, BOUNDARY_NOTE)
                continue
            r_num, r_den = reps[:, list(num_cols)].sum(axis=1), reps[:, list(den_cols)].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.where(r_den > 0, r_num / np.where(r_den > 0, r_den, 1), np.nan)
            lo, hi, used = percentile_interval(r[:, None], confidence_level=cl)
            lo_, hi_ = float(lo[0]), float(hi[0])
            if not (math.isfinite(lo_) and math.isfinite(hi_)) or hi_ - lo_ <= 1e-12:
                out[metric] = self._fallback(e, num, den, n_pat, cl, DEGENERATE_NOTE)
                continue
            warns = e.warnings
            if used[0] < len(r):
                warns += (f"undefined_resamples: {len(r) - int(used[0])} of {len(r)} resamples had no cases "
                          "for this proportion and were dropped.",)
            out[metric] = dataclasses.replace(e, interval=Interval(lo_, hi_, cl, CLUSTER_METHOD),
                                              method=CLUSTER_METHOD, warnings=warns)
        return out

    @staticmethod
    def _fallback(e: Estimate, num: int, den: int, n_pat: int, cl: float, note: str) -> Estimate:
        iv = stats.wilson_patients_interval(num, den, n_pat, confidence_level=cl)
        return dataclasses.replace(e, interval=iv, method=iv.method, warnings=e.warnings + (note,))


def withhold_if_insufficient(block: dict, sufficient: bool) -> dict:
    """Mark every estimate of a row below its evidence rule, so the report prints its counts only.

    The estimates stay in results.json (an archive keeps everything); each one gets
    ``insufficient_evidence: true``, and the renderer shows "insufficient evidence" with the
    counts instead of a value and interval that look precise.

    >>> withhold_if_insufficient({"n": 3, "sensitivity": {"value": 0.5, "interval": None}}, False)
    {'n': 3, 'sensitivity': {'value': 0.5, 'interval': None, 'insufficient_evidence': True}}
    """
    if not sufficient:
        for key, v in block.items():
            if isinstance(v, dict) and "value" in v and "interval" in v:
                block[key] = {**v, "insufficient_evidence": True}
    return block


__all__ = ["BOUNDARY_NOTE", "withhold_if_insufficient", "CLUSTERING_RULES", "CaseSetEstimates", "DENOMINATOR_CASES", "ProportionEstimator",
           "case_set_digest", "clustering_applies"]
