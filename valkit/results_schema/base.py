"""Shared pieces of the results.json models: the strict base, estimates, intervals, tests, 2x2 tables.

Every block of results.json is a frozen pydantic model that rejects unknown keys
(``extra="forbid"``), so a renamed or misspelt key is an error at the place it is written
(:func:`valkit.results.write_results`) and where it is read (:func:`valkit.results.load_results`),
never a blank in the report. A number that was NaN or infinite is written as ``null``
(:func:`valkit.results.write_json_atomic`), so statistical numbers are ``float | None``.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

#: A statistical number: ``null`` in results.json when it was NaN (not estimable).
Num = float | None


class Block(BaseModel):
    """A block of results.json: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(Block):
    """A confidence interval (:class:`valkit.stats.types.Interval`)."""

    low: Num
    high: Num
    confidence_level: float
    method: str


class Estimate(Block):
    """A point estimate with its interval and counts (:class:`valkit.stats.types.Estimate`).

    ``insufficient_evidence`` is added where a row is below the protocol's evidence rule: the
    report then prints the counts only (:func:`valkit.analyses.estimates.withhold_if_insufficient`).
    """

    value: Num
    interval: Interval | None
    n: int
    numerator: Num = None
    denominator: Num = None
    method: str | None = None
    warnings: list[str] = []
    insufficient_evidence: bool | None = None


class TestResult(Block):
    """A hypothesis test (:class:`valkit.stats.types.TestResult`)."""

    __test__ = False  # not a pytest test class

    statistic: Num
    p_value: Num
    difference: Num
    interval: Interval | None
    method: str
    df: float | list[float] | None = None
    warnings: list[str] = []


class Confusion(Block):
    """A 2x2 table at the operating point."""

    tp: int
    fp: int
    fn: int
    tn: int


__all__ = ["Block", "Confusion", "Estimate", "Interval", "Num", "TestResult"]
