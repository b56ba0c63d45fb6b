"""Secondary results (issue #15): score distributions, sensitivity by lesion size/type, and the
indeterminate reference standard counted both ways.

Built by :mod:`valkit.analyses.score_distribution`, :mod:`valkit.analyses.secondary` and
:mod:`valkit.analyses.indeterminate`.
"""
from __future__ import annotations

from valkit.results_schema.base import Block, Confusion, Estimate


class ScoreHistogram(Block):
    """``primary.score_histogram``: counts per equal-width score bin, by reference standard."""

    edges: list[float]
    positive: list[int]
    negative: list[int]
    n_outside: int


class SecondaryRow(Block):
    """One band or type among reference-positive cases: its positives, how many the device detected."""

    level: str
    n_positive: int
    n_positive_patients: int
    detected: int
    clustered: bool
    sufficient_evidence: bool
    sensitivity: Estimate


class LesionSize(Block):
    column: str
    edges_mm: list[float]
    rows: list[SecondaryRow]


class LesionType(Block):
    column: str
    rows: list[SecondaryRow]


class Secondary(Block):
    """``secondary``: the protocol's ``secondary`` block's analyses (absent without it)."""

    n_positive: int
    lesion_size: LesionSize | None
    lesion_type: LesionType | None


class CountedAs(Block):
    confusion: Confusion
    sensitivity: Estimate
    specificity: Estimate


class IndeterminateBothWays(Block):
    """``indeterminate_counted_both_ways``: the scored cases with an indeterminate reference standard
    counted as positive, then as negative, with the primary's interval method."""

    n_indeterminate: int
    n_indeterminate_patients: int
    n_not_scored: int
    as_positive: CountedAs
    as_negative: CountedAs


__all__ = ["CountedAs", "IndeterminateBothWays", "LesionSize", "LesionType", "ScoreHistogram", "Secondary",
           "SecondaryRow"]
