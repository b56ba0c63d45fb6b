"""The accuracy blocks: operating point, primary results, per-site and per-manufacturer rows,
failures counted as errors, endpoints, methods, deviations, calibration, acceptance.

Built by :mod:`valkit.analyses` (accuracy, endpoints, calibration, deviations) and :mod:`valkit.gate`.
"""
from __future__ import annotations

from typing import Literal

from valkit.results_schema.base import Block, Confusion, Estimate, Num, TestResult
from valkit.results_schema.secondary import ScoreHistogram


class OperatingPoint(Block):
    """``operating_point``: the threshold the calls are made at, and where it came from."""

    threshold: float
    source: Literal["model_card", "fixed", "choose_on_test_data", "external"]
    rule: str | None
    exploratory: bool
    note: str


class RocPoints(Block):
    fpr: list[float]
    tpr: list[float]


class RocOperatingPoint(Block):
    threshold: float
    fpr: Num
    tpr: Num


class AccuracyBlock(Block):
    """2x2 table, proportions with intervals, AUC and likelihood ratios of one case set
    (:func:`valkit.analyses.accuracy.accuracy_block`)."""

    n: int
    n_positive: int
    n_negative: int
    n_patients: int
    n_positive_patients: int
    n_negative_patients: int
    clustered: bool
    confusion: Confusion
    sensitivity: Estimate
    specificity: Estimate
    ppv: Estimate
    npv: Estimate
    accuracy: Estimate
    auc: Estimate
    lr_positive: Estimate
    lr_negative: Estimate


class Primary(AccuracyBlock):
    """``primary``: every analysed case, with the ROC curve and the operating point on it."""

    roc: RocPoints
    operating_point: RocOperatingPoint
    score_histogram: ScoreHistogram | None = None  # issue #15; absent in older runs


class LevelAccuracy(AccuracyBlock):
    """One row of ``by_site`` / ``by_manufacturer``: a level's accuracy and its evidence flag."""

    level: str
    sufficient_evidence: bool


class FailuresCountedAsErrors(Block):
    """``failures_counted_as_errors``: every failed case counted as a wrong call (worst case)."""

    confusion: Confusion
    sensitivity: Estimate
    specificity: Estimate


class Endpoint(Block):
    """One of ``endpoints``: the protocol's goal judged on the confidence bound."""

    id: str
    metric: Literal["sensitivity", "specificity", "ppv", "npv", "accuracy", "auc"]
    primary: bool
    goal: float | None
    confidence_level: float
    ci_method: str
    estimate: Estimate
    ci_method_requested: str
    ci_note: str | None
    verdict: Literal["PASS", "FAIL", "NOT ESTIMABLE", "NO GOAL"]
    judged_on: str | None
    exact_binomial_p: Num = None  # independent images with a goal, proportions only


class Methods(Block):
    """``methods``: the interval methods, clustering rule and seed every section used."""

    proportion_ci: str
    auc_ci: str
    clustered: bool
    clustering_rule: Literal["auto", "patient", "none"]
    clustering_rule_stated: bool
    evidence_unit: Literal["patients", "images"]
    cluster_unit: str
    seed: int
    bootstrap_resamples: int
    positive_rule: str


class Deviation(Block):
    """One of ``deviations``: what this run did differently from the protocol, and why."""

    what: str
    protocol: str
    actual: str
    reason: str
    gating: bool


class CalibrationCurve(Block):
    strategy: str
    mean_predicted: list[Num]
    observed: list[Num]
    observed_low: list[Num]
    observed_high: list[Num]
    counts: list[int]


class Calibration(Block):
    """``calibration`` (``null`` for scores that are not probabilities, or one class)."""

    curve: CalibrationCurve
    calibration_in_the_large: Estimate
    calibration_slope: Estimate
    ece: Estimate
    hosmer_lemeshow: TestResult
    note: str


class Criterion(Block):
    """One acceptance criterion collected by :func:`valkit.gate.acceptance`."""

    kind: Literal["endpoint", "fairness", "latency", "reader_study", "tool_validation", "baseline", "determinism"]
    criterion: str
    verdict: str
    gates: bool
    rule: str | None
    metric: str | None = None  # endpoint and fairness criteria
    column: str | None = None  # fairness criteria
    # the number the verdict was judged on (absent from results.json written by earlier valkit):
    # an endpoint's estimate, a fairness criterion's deciding pair, the latency percentile, the
    # reader-study difference; ``goal`` in words, e.g. "lower bound ≥ 0.7"; ``unit`` "ms" or null
    estimate: Num = None
    ci_low: Num = None
    ci_high: Num = None
    confidence_level: Num = None
    goal: str | None = None
    unit: Literal["ms"] | None = None


class Acceptance(Block):
    """``acceptance``: every criterion and the overall verdict (also at top level as ``verdict``)."""

    verdict: Literal["PASS", "FAIL", "NO GOALS"]
    criteria: list[Criterion]


__all__ = ["Acceptance", "AccuracyBlock", "Calibration", "CalibrationCurve", "Criterion", "Deviation", "Endpoint",
           "FailuresCountedAsErrors", "LevelAccuracy", "Methods", "OperatingPoint", "Primary", "RocOperatingPoint",
           "RocPoints"]
