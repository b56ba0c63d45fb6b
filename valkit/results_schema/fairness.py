"""``fairness``: pairwise gaps between groups with clustered bootstrap intervals, and their criteria.

Built by :func:`valkit.analyses.fairness.fairness_section` (disparities from :mod:`valkit.stats.disparity`).
"""
from __future__ import annotations

from valkit.results_schema.base import Block, Confusion, Interval, Num
from valkit.results_schema.subgroups import FamilyBootstrap


class FairnessGroup(Block):
    level: str
    n: int
    n_positive: int
    n_negative: int
    confusion: Confusion
    sufficient_evidence: bool
    status: str
    tpr: Num
    fpr: Num
    selection_rate: Num


class ExcludedLevel(Block):
    level: str
    reason: str


class GroupRates(Block):
    tpr: Num
    fpr: Num
    selection_rate: Num
    count: Num


class MetricFrame(Block):
    """fairlearn's MetricFrame on the compared groups, cross-checked against the counts."""

    by_group: dict[str, GroupRates]
    agrees_with_counts: bool


class BoundaryGroup(Block):
    """A compared group whose rate is 0 or 1 (the bootstrap cannot show its uncertainty)."""

    rate: str
    value: Num
    group: str | int


class PairGap(Block):
    rate: str
    higher: str
    lower: str
    value: Num
    interval: Interval
    adjusted_interval: Interval
    n_resamples_used: int
    warnings: list[str]
    boundary: list[BoundaryGroup]
    judged_on: str | None = None  # on the deciding pairs of a criterion


class Disparity(Block):
    metric: str
    value: Num
    interval: Interval
    highest: str | None
    lowest: str | None
    groups: list[str]
    n_resamples_used: int
    warnings: list[str]
    boundary: list[BoundaryGroup]
    rate: str | None
    n_comparisons: int
    adjusted_confidence_level: Num
    pairs: list[PairGap]


class Adjustment(Block):
    method: str
    n_comparisons: int
    confidence_level: Num


class FairnessCriterionResult(Block):
    """A protocol criterion (``max`` gap or ``min`` ratio) judged pair by pair."""

    metric: str
    max: Num
    min: Num
    n_pairs: int
    adjustment: Adjustment
    not_judged: list[str]
    verdict: str
    basis: str
    deciding_pairs: list[PairGap]
    exploratory: bool


class FairnessFamily(Block):
    name: str
    columns: list[str]
    prespecified: bool
    groups: list[FairnessGroup]
    compared: list[str]
    excluded: list[ExcludedLevel]
    not_judged: list[str]
    metricframe: MetricFrame
    disparities: dict[str, Disparity]  # by metric (tpr_difference, equalized_odds_ratio, ...)
    criteria: list[FairnessCriterionResult]
    bootstrap: FamilyBootstrap


class FairnessMethods(Block):
    disaggregation: str
    gaps: str
    intervals: str
    criteria: str
    missing_group: str


class Fairness(Block):
    families: list[FairnessFamily]
    verdict: str
    methods: FairnessMethods


__all__ = ["Adjustment", "BoundaryGroup", "Disparity", "ExcludedLevel", "Fairness", "FairnessCriterionResult",
           "FairnessFamily", "FairnessGroup", "FairnessMethods", "GroupRates", "MetricFrame", "PairGap"]
