"""``sites_and_scanners``: random-effects pooling and heterogeneity across sites, manufacturers, models.

Built by :func:`valkit.analyses.sites.analyse_sites`; cells as in ``subgroups``.
"""
from __future__ import annotations

from valkit.results_schema.base import Block, Estimate, Interval, Num
from valkit.results_schema.fairness import ExcludedLevel
from valkit.results_schema.subgroups import Cell, FamilyBootstrap, PerMetric


class RangeEnd(Block):
    levels: list[str]
    value: Num


class RateRange(Block):
    lowest: RangeEnd
    highest: RangeEnd


class Tau2Fit(Block):
    tau2: Num
    estimate: Num
    interval: list[Num]
    i2_model: Num


class LeaveOneOut(Block):
    left_out: str
    pooled: Estimate
    tau2: Num
    i2: Num
    q: Num
    p_value: Num


class Residual(Block):
    level: str
    z: Num
    p_value: Num
    p_adjusted: Num
    adjustment: str
    direction: str
    departs: bool


class FlaggedLevel(Block):
    level: str
    direction: str
    z: Num
    p_adjusted: Num
    significant: bool


class PoolingTest(Block):
    """One column and metric: pooled estimate, Cochran's Q, I², tau², influence and the verdict.

    With fewer than two levels meeting the evidence rule only the first keys and ``note`` are set
    (``pooled`` is null and the verdict is 'insufficient evidence')."""

    metric: str
    method: str
    levels: list[str]
    excluded: list[ExcludedLevel]
    k: int
    pooled: Estimate | None
    verdict: str
    note: str | None = None
    variance: str | None = None
    design_effect: dict[str, float] | None = None
    range: RateRange | None = None
    prediction_interval: Interval | None = None
    fixed_effect: Num = None
    q: Num = None
    df: int | None = None
    p_value: Num = None
    i2: Num = None
    h2: Num = None
    tau2: Num = None
    tau: Num = None
    i2_model: Num = None
    weights: dict[str, Num] | None = None
    continuity_corrected: list[str] | None = None
    by_tau2_method: dict[str, Tau2Fit] | None = None  # dl, pm, reml
    leave_one_out: list[LeaveOneOut] | None = None
    residuals: list[Residual] | None = None
    p_adjusted: Num = None
    adjustment: str | None = None
    flagged_levels: list[FlaggedLevel] | None = None
    text: str | None = None
    flagged_summary: str | None = None
    comparison_summary: str | None = None


class SiteFamily(Block):
    name: str
    column: str
    present: bool
    n_levels: int
    n_sum: int
    cells: list[Cell]
    bootstrap: FamilyBootstrap
    tests: PerMetric[PoolingTest]  # sensitivity, specificity
    verdict: str
    flagged_levels: list[str]


class Combination(Block):
    """Site x manufacturer x model counts (the recorded columns only)."""

    level: str
    n: int
    n_positive: int
    site: str | None = None
    manufacturer: str | None = None
    model: str | None = None


class Multiplicity(Block):
    method: str
    alpha: float
    n_tests: int
    family: str
    label: str | None


class SiteMethods(Block):
    pooling: str
    heterogeneity: str
    variance: str
    continuity_correction: str
    levels_pooled: str
    influence: str
    software: str


class SitesAndScanners(Block):
    families: list[SiteFamily]
    combinations: list[Combination]
    multiplicity: Multiplicity
    methods: SiteMethods


__all__ = ["Combination", "FlaggedLevel", "LeaveOneOut", "Multiplicity", "PoolingTest", "RangeEnd", "RateRange",
           "Residual", "SiteFamily", "SiteMethods", "SitesAndScanners", "Tau2Fit"]
