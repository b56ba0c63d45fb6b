"""Analyses: study table + predictions + protocol → the sections of results.json.

Every number comes from :mod:`valkit.stats`; this package only selects data, applies
the protocol's choices and records which method (and seed) produced each number.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from valkit.analyses.accuracy import accuracy_block, auc_ci_method, failures_counted_as_errors, group_rows
from valkit.analyses.calibration import calibration_block
from valkit.analyses.data_summary import (
    accountability,
    acquisition_summary,
    case_flow,
    clustering_summary,
    recorded,
    table1,
)
from valkit.analyses.deviations import case_deviations, deviations
from valkit.analyses.endpoints import judge_endpoints
from valkit.analyses.estimates import ProportionEstimator
from valkit.analyses.sample_size import sample_size_block
from valkit.analyses.sites import analyse_sites
from valkit.analyses.subgroups import CellEngine
from valkit.analyses.subgroups_and_fairness import analyse_subgroups
from valkit.analyses.truther_agreement import truther_agreement
from valkit.progress import QUIET, Progress
from valkit.protocol import Protocol
from valkit.stats.types import NotEstimableWarning


@dataclass(frozen=True)
class OperatingPointChoice:
    threshold: float
    source: str  # model_card | fixed | choose_on_test_data | external
    rule: str | None
    exploratory: bool
    note: str


def merge_predictions(table: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    merged = table.merge(predictions, on="case_id", how="left", validate="one_to_one")
    if merged["status"].isna().any():
        raise RuntimeError("a manifest row has no prediction row; the runner must account for every row")
    return merged


def patient_codes(df: pd.DataFrame) -> np.ndarray:
    """Integer patient code per row (the cluster unit)."""
    return ProportionEstimator.patient_codes(df["patient_id"])


def analyse(merged: pd.DataFrame, protocol: Protocol, op: OperatingPointChoice, *,
            progress: Progress = QUIET) -> dict:
    """Every analysis of the study table joined with its predictions (:func:`merge_predictions`).

    ``progress`` reports the two long steps (the primary analysis, the bootstrap of each subgroup family).

    Returns JSON-ready dicts for results.json.
    """
    ok = (merged["status"] == "ok").to_numpy()
    analysed = merged[ok].reset_index(drop=True)
    y = analysed["label"].to_numpy(dtype=int)
    s = analysed["score"].to_numpy(dtype=float)
    a = protocol.analysis
    seed = a.seed
    sg = protocol.subgroups
    clustering = clustering_summary(analysed)
    clustering_stated = "clustering" in a.model_fields_set
    # every proportion of every section comes from this one estimator: one interval per set of counts
    estimator = ProportionEstimator(y, (s >= op.threshold).astype(int), patient_codes(analysed),
                                    clustering=a.clustering, seed=seed, n_resamples=a.bootstrap_resamples)
    clustered = estimator.uses_clusters(np.arange(len(y)))
    with warnings.catch_warnings(), progress.task("primary analysis and endpoints"):
        # not-estimable quantities are recorded in each Estimate's warnings and shown in the report
        warnings.simplefilter("ignore", NotEstimableWarning)
        # calibration only makes sense for probabilities: a model card's scores are, external scores are
        # when the protocol's declared score range is [0, 1] (a vendor's 0-100 scores are not)
        probabilities = protocol.predictions is None or protocol.predictions.probabilities
        calibration = calibration_block(y, s) if probabilities and len(s) else None
        primary = accuracy_block(estimator, s, op.threshold, with_curve=True)
        # an excluded image is outside the intended use: neither a result nor an error of the device
        scored = (merged["status"] != "excluded").to_numpy()
        both_ways = failures_counted_as_errors(merged["label"].to_numpy(dtype=int)[scored],
                                               merged["score"].fillna(0).to_numpy(dtype=float)[scored],
                                               ok[scored], op.threshold, patient_codes(merged[scored]),
                                               clustering=a.clustering, seed=seed, n_resamples=a.bootstrap_resamples)
        endpoints = judge_endpoints(protocol.endpoints, estimator, s, clustering_stated=clustering_stated,
                                    n_resamples=a.bootstrap_resamples)
        by = {
            col: group_rows(analysed, col, estimator, op.threshold, min_positives=sg.min_positives,
                            min_negatives=sg.min_negatives)
            for col in ("site", "manufacturer") if col in analysed.columns and recorded(analysed[col])
        }
    with progress.task("bootstrap of the subgroup families (subgroups, fairness, sites)") as step:
        # subgroup cells, shared by the two sections below; each family's bootstrap advances the step
        engine = CellEngine(analysed, op.threshold, protocol, estimator=estimator, step=step)
        sections = analyse_subgroups(analysed, protocol, op.threshold, primary=primary, engine=engine)
        sections["sites_and_scanners"] = analyse_sites(analysed, protocol, op.threshold, engine=engine)
    return {
        "data": {
            "flow": case_flow(merged),
            "table1": table1(merged),
            "acquisition": acquisition_summary(merged),
            "clustering": clustering,
            "accountability": accountability(merged),
        },
        "operating_point": {
            "threshold": op.threshold, "source": op.source, "rule": op.rule,
            "exploratory": op.exploratory, "note": op.note,
        },
        "primary": primary,
        "failures_counted_as_errors": both_ways,
        "calibration": calibration,
        "endpoints": endpoints,
        "sample_size": sample_size_block(protocol.endpoints, endpoints, estimator),
        "by_site": by.get("site", []),
        "by_manufacturer": by.get("manufacturer", []),
        **sections,  # subgroups, fairness, sites_and_scanners
        "reference_agreement": truther_agreement(merged, protocol),  # None without truther_columns
        "methods": {
            "proportion_ci": "cluster_bootstrap_percentile" if clustered else "wilson",
            "auc_ci": auc_ci_method("delong", clustered),
            "clustered": clustered,
            "clustering_rule": a.clustering,
            "clustering_rule_stated": clustering_stated,
            "evidence_unit": "patients" if clustered else "images",
            "cluster_unit": "patient",
            "seed": seed,
            "bootstrap_resamples": a.bootstrap_resamples,
            "positive_rule": "score >= threshold",
        },
        "deviations": (deviations(protocol, endpoints, clustering_stated=clustering_stated)
                       + case_deviations(case_flow(merged))),
    }


__all__ = ["analyse", "merge_predictions", "OperatingPointChoice"]
