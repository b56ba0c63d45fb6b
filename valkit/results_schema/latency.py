"""``latency``: computational performance (``valkit bench`` or a protocol's ``latency`` block).

Built by :func:`valkit.latency.section.latency_section`. Typed here: the top level, the options
(:class:`valkit.latency.config.LatencyOptions`) and the budget the gate reads; the measurement
tables (``model_only``, ``variants``, ``end_to_end``, ``pipeline``, ``environment``) are not yet
modelled (:data:`~valkit.results_schema.base.Untyped`).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from valkit.latency.config import Budget, LatencyOptions
from valkit.results_schema.base import Block, Num, Untyped


class LatencyBudgetResult(Budget):
    """The protocol's budget (:class:`valkit.latency.config.Budget`) judged on the measurements."""

    measured: str
    estimate_ms: Num
    ci_low_ms: Num
    ci_high_ms: Num
    judged_value_ms: Num
    verdict: Literal["PASS", "FAIL"]
    statement: str


class Latency(Block):
    #: the key is "schema" in results.json (the format version of this block)
    latency_schema: int = Field(alias="schema")
    device: str
    measured_on_cpu: bool
    environment: Untyped
    model: Untyped
    options: LatencyOptions
    seed: int | None
    decoders: dict[str, Any] | None
    model_only: Untyped
    variants: list[Untyped]
    end_to_end: Untyped
    pipeline: Untyped
    budget: LatencyBudgetResult | None
    verdict: Literal["PASS", "FAIL"] | None
    load_average_1m_after: Num
    started_utc: str
    finished_utc: str
    seconds: float
    caveats: list[str]
    settings: str | None = None  # set by `valkit bench`: which settings were used


__all__ = ["Latency", "LatencyBudgetResult"]
