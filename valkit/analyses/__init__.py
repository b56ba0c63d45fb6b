"""Analyses: study table + predictions + protocol → the sections of results.json.

:func:`analyse` returns a frozen :class:`~valkit.results_schema.analyses.StudyAnalyses`: each
block is validated against its model where it is made, so a misspelt key fails here.

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
    DEMOGRAPHIC_COLUMNS,
    accountability,
    acquisition_dates,
    acquisition_summary,
    case_flow,
    clustering_summary,
    recorded,
    sites_summary,
    table1,
    table1_totals,
)
from valkit.analyses.deviations import case_deviations, deviations
from valkit.analyses.endpoints import judge_endpoints
from valkit.analyses.estimates import ProportionEstimator
from valkit.analyses.indeterminate import indeterminate_counted_both_ways
from valkit.analyses.sample_size import sample_size_block
from valkit.analyses.score_distribution import score_histogram
from valkit.analyses.secondary import secondary_results
from valkit.analyses.sites import analyse_sites
from valkit.analyses.subgroups import CellEngine, missing_demographics
from valkit.analyses.subgroups_and_fairness import analyse_subgroups
from valkit.analyses.truther_agreement import truther_agreement
from valkit.progress import QUIET, Progress
from valkit.protocol import Protocol
from valkit.results_schema import validate_block
from valkit.results_schema.analyses import StudyAnalyses
from valkit.stats.types import NotEstimableWarning
from valkit.study import INDETERMINATE


@dataclass(frozen=True)
class OperatingPointChoice:
    threshold: float
    source: str  # model_card | fixed | choose_on_test_data | external
    rule: str | None
    exploratory: bool
    note: str


def merge_predictions(table: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """The study table joined with its predictions, one row per manifest row.

    A scored case whose reference standard is indeterminate (``label`` :data:`~valkit.study.INDETERMINATE`)
    gets the status ``indeterminate``: every analysis of "ok" cases leaves it out, and
    :func:`analyse` counts it both ways."""
    merged = table.merge(predictions, on="case_id", how="left", validate="one_to_one")
    if merged["status"].isna().any():
        raise RuntimeError("a manifest row has no prediction row; the runner must account for every row")
    merged.loc[(merged["label"] == INDETERMINATE) & (merged["status"] == "ok"), "status"] = "indeterminate"
    return merged


def patient_codes(df: pd.DataFrame) -> np.ndarray:
    """Integer patient code per row (the cluster unit)."""
    return ProportionEstimator.patient_codes(df["patient_id"])


def analyse(merged: pd.DataFrame, protocol: Protocol, op: OperatingPointChoice, *,
            external_scores: dict | None = None, progress: Progress = QUIET) -> StudyAnalyses:
    """Every analysis of the study table joined with its predictions (:func:`merge_predictions`).

    Parameters
    ----------
    merged, protocol, op
        The joined table, the protocol and the operating point.
    external_scores
        The accounting of an external scores file (every row, matched or not;
        :meth:`valkit.external_scores.ExternalScores.accounting`): ``data.external_scores``.
    progress
        Reports the two long steps (the primary analysis, the bootstrap of each subgroup family).

    Returns
    -------
    StudyAnalyses
        Each block validated against its model here, frozen; ``.written()`` gives the results.json keys.

    Raises
    ------
    valkit.results_schema.ResultsSchemaError
        A block that does not match its model (a misspelt key), named by its key path, before anything is written.
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
        # an excluded image is outside the intended use: neither a result nor an error of the device;
        # an indeterminate reference has no truth to be wrong against (it is counted both ways below)
        scored = ((merged["status"] != "excluded") & (merged["label"] != INDETERMINATE)).to_numpy()
        both_ways = failures_counted_as_errors(merged["label"].to_numpy(dtype=int)[scored],
                                               merged["score"].fillna(0).to_numpy(dtype=float)[scored],
                                               ok[scored], op.threshold, patient_codes(merged[scored]),
                                               clustering=a.clustering, seed=seed, n_resamples=a.bootstrap_resamples)
        primary["score_histogram"] = score_histogram(
            y, s, score_range=tuple(protocol.predictions.score_range) if protocol.predictions else (0.0, 1.0))
        secondary = secondary_results(analysed, protocol.secondary, estimator, min_positives=sg.min_positives)
        indeterminate = _indeterminate(merged, analysed, estimator, op.threshold, a) \
            if protocol.reference_standard.indeterminate else None
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
    data = {
        "flow": case_flow(merged),
        "table1": table1(merged),
        "acquisition": acquisition_summary(merged),
        "clustering": clustering,
        "accountability": accountability(merged),
        "table1_totals": table1_totals(merged),
        "acquisition_dates": acquisition_dates(merged),
        "sites": sites_summary(merged),
        "missing_demographics": missing_demographics(analysed, list(DEMOGRAPHIC_COLUMNS)),
    }
    if external_scores is not None:  # every row of the scores file is accounted for, matched or not
        data["external_scores"] = external_scores
    return validate_block(StudyAnalyses, {
        "data": data,
        "operating_point": {
            "threshold": op.threshold, "source": op.source, "rule": op.rule,
            "exploratory": op.exploratory, "note": op.note,
        },
        "primary": primary,
        "failures_counted_as_errors": both_ways,
        "secondary": secondary,
        "indeterminate_counted_both_ways": indeterminate,
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
            "positive_rule": "score at or above the threshold",
        },
        "deviations": (deviations(protocol, endpoints, clustering_stated=clustering_stated)
                       + case_deviations(case_flow(merged))),
    }, path="(analyses)")


def _indeterminate(merged: pd.DataFrame, analysed: pd.DataFrame, estimator: ProportionEstimator, threshold: float,
                   a) -> dict:
    """The primary proportions with the scored indeterminate cases counted as positive, then negative."""
    ind = merged[merged["status"] == "indeterminate"]
    not_scored = int(((merged["label"] == INDETERMINATE) & (merged["status"] != "indeterminate")
                      & (merged["status"] != "excluded")).sum())
    return indeterminate_counted_both_ways(
        estimator.y, estimator.pred, analysed["patient_id"].astype(str).to_numpy(),
        (ind["score"].to_numpy(dtype=float) >= threshold).astype(int), ind["patient_id"].astype(str).to_numpy(),
        clustering=a.clustering, seed=a.seed, n_resamples=a.bootstrap_resamples, n_not_scored=not_scored)


__all__ = ["analyse", "merge_predictions", "OperatingPointChoice"]
