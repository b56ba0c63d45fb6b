"""``subgroups``: subgroup families (one column or an intersection), their cells and difference tests.

Built by :func:`valkit.analyses.subgroups.subgroups_section`. The cell and bootstrap models are
shared with ``sites_and_scanners`` (:mod:`valkit.results_schema.sites`).
"""
from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator

from valkit.results_schema.base import Block, Confusion, Count, Estimate, Interval, Num

#: the metrics every family is tested on (``difference_tests`` here, ``tests`` in ``sites_and_scanners``)
TESTED_METRICS = ("sensitivity", "specificity")

_T = TypeVar("_T")


def _both_metrics(tests: dict[str, _T]) -> dict[str, _T]:
    """A family's tests: one per metric of :data:`TESTED_METRICS`, keyed by the metric (the report reads both)."""
    if sorted(tests) != sorted(TESTED_METRICS):
        raise ValueError(f"expected one test each for sensitivity and specificity, found "
                         f"{', '.join(sorted(tests)) or 'none'}; results.json written by valkit has both")
    return tests


#: ``{metric: test}`` for each metric of :data:`TESTED_METRICS`, neither missing nor renamed
PerMetric = Annotated[dict[str, _T], AfterValidator(_both_metrics)]


class EvidenceRule(Block):
    min_positives: int
    min_negatives: int
    unit: Literal["patients", "images"]
    text: str


class DifferenceTest(Block):
    """Cochran's Q across a family's sufficient cells (``q``/``df``/``p_value`` null with fewer than two)."""

    q: Num
    df: int | None
    p_value: Num
    k: int
    i2: Num = None
    variance: str | None = None
    note: str | None = None
    p_adjusted: Num = None
    adjustment: str | None = None


class FamilyBootstrap(Block):
    """How a family's patient-clustered bootstrap was drawn (:meth:`describe` of the bootstrap)."""

    method: str
    n_resamples: int
    n_units: int
    unit: str
    n_strata: int
    n_distinct_unit_patterns: int
    stratification: str
    seed: str


class Cell(Block):
    """One level (or combination of levels) of a family, with its evidence status."""

    level: str
    levels: dict[str, str]  # column -> level
    n: int
    n_patients: int
    n_positive: int
    n_negative: int
    n_positive_patients: int
    n_negative_patients: int
    confusion: Confusion
    status: str
    declared: bool
    sufficient_evidence: bool
    flags: list[str]
    sensitivity: Estimate
    specificity: Estimate
    ppv: Estimate
    npv: Estimate
    auc: Estimate


class SubgroupFamily(Block):
    name: str
    columns: list[str]
    kind: str
    prespecified: bool
    absent_columns: list[str]
    n_cells: int
    n_sum: int
    n_insufficient: int
    n_empty: int
    margins_consistent: bool | None
    difference_tests: PerMetric[DifferenceTest]  # sensitivity, specificity
    bootstrap: FamilyBootstrap
    cells: list[Cell]


class ColumnMissingness(Block):
    recorded: bool
    n_missing: int
    fraction_missing: float
    n_missing_patients: int | None = None  # distinct patients with a case lacking the value (issue #15)


class MissingDemographics(Block):
    by_column: dict[str, ColumnMissingness]
    statement: str
    n_cases: int | None = None  # analysed cases and patients the counts are out of (issue #15)
    n_patients: int | None = None


class WorstCell(Block):
    """The pre-specified cell with sufficient evidence and the lowest lower bound."""

    family: str
    level: str
    metric: str
    estimate: Num
    lower_bound: float
    interval: Interval
    numerator: Count
    n: Count


class OverallEstimates(Block):
    sensitivity: Estimate
    specificity: Estimate
    ppv: Estimate
    npv: Estimate
    auc: Estimate


class SubgroupMethods(Block):
    proportion_ci: str
    auc_ci: str
    bootstrap: str
    n_resamples: int
    seed: int
    family_seed: str
    difference_test: str
    difference_test_variance: str
    confidence_level: float


class Subgroups(Block):
    evidence_rule: EvidenceRule
    n_total: int
    n_patients: int
    families: list[SubgroupFamily]
    missing_demographics: MissingDemographics
    worst_prespecified: WorstCell | None
    overall: OverallEstimates | None
    goals: dict[str, float]  # primary endpoints' goals by metric
    methods: SubgroupMethods


__all__ = ["TESTED_METRICS", "Cell", "ColumnMissingness", "DifferenceTest", "EvidenceRule", "FamilyBootstrap", "MissingDemographics",
           "OverallEstimates", "PerMetric", "SubgroupFamily", "SubgroupMethods", "Subgroups", "WorstCell"]
