"""``sample_size``: achieved precision and power of each primary endpoint, and the size its goal needs.

Built by :func:`valkit.analyses.sample_size.sample_size_block`.
"""
from __future__ import annotations

from typing import Literal

from valkit.results_schema.base import Block, Num


class SampleSizeRow(Block):
    """One primary endpoint with a goal."""

    id: str
    metric: Literal["sensitivity", "specificity", "ppv", "npv", "accuracy", "auc"]
    goal: float
    estimate: Num
    confidence_level: float
    ci_method: str
    half_width: Num           # achieved precision: half the printed interval's width
    width: Num
    n: int                    # cases in the endpoint's denominator
    design_effect: float      # Rao-Scott, 1 without patient clustering
    n_effective: int | None   # n / design effect (None for AUC)
    power_method: str | None  # the interval whose own operating characteristic gives the power
    power_at_estimate: Num    # P(lower bound >= goal) if the true value were the estimate
    planning_value: Num       # the protocol's endpoints[].planning_value, when stated
    power_at_planning_value: Num
    power_target: float
    n_needed: int | None      # denominator cases the goal needs at the estimate (x design effect)
    n_needed_total: int | None  # all cases, at the observed share of the denominator
    note: str | None


class SampleSize(Block):
    """``sample_size`` (optional: runs written before issue #15 lack it)."""

    power_target: float
    clustered: bool
    rows: list[SampleSizeRow]


__all__ = ["SampleSize", "SampleSizeRow"]
