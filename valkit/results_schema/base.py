"""Shared pieces of the results.json models: the strict base, estimates, intervals, tests, 2x2 tables.

Every block of results.json is a frozen pydantic model that rejects unknown keys
(``extra="forbid"``), so a renamed or misspelt key is an error at the place it is written
(:func:`valkit.results.write_results`) and where it is read (:func:`valkit.results.load_results`),
never a blank in the report. A number that was NaN or infinite is written as ``null``
(:func:`valkit.results.write_json_atomic`), so statistical numbers are ``float | None``.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, SerializerFunctionWrapHandler, model_serializer, \
    model_validator

#: A statistical number: ``null`` in results.json when it was NaN (not estimable).
Num = float | None
#: A number that may be a count: an int stays an int (``17``, not ``17.0``), a float stays a float
#: (smart union mode), so a block dumps as it was written.
Count = int | float | None


class Block(BaseModel):
    """A block of results.json: frozen, unknown keys rejected.

    A block remembers the order of the keys it was built from and :meth:`written` (any dump) gives
    them back in that order, so results.json is written byte for byte as its analysis built it,
    whatever the order of the model's fields.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    _key_order: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_key_order(cls, data: Any, handler: Any) -> Any:
        block = handler(data)
        if isinstance(data, dict) and isinstance(block, Block):
            block._key_order = tuple(str(k) for k in data)
        return block

    @model_serializer(mode="wrap")
    def _in_key_order(self, handler: SerializerFunctionWrapHandler) -> Any:
        out = handler(self)
        if not self._key_order or not isinstance(out, dict):
            return out
        ordered = {k: out[k] for k in self._key_order if k in out}
        return {**ordered, **{k: v for k, v in out.items() if k not in ordered}}

    def written(self) -> dict[str, Any]:
        """The block as results.json holds it: the keys that were given, in their order, by alias.

        NaN stays NaN here (:func:`valkit.results.write_json_atomic` writes it as ``null``).

        Returns
        -------
        dict
            A new plain dict (editing it leaves the block unchanged).
        """
        return self.model_dump(mode="python", by_alias=True, exclude_unset=True)


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
    numerator: Count = None
    denominator: Count = None
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


__all__ = ["Block", "Confusion", "Count", "Estimate", "Interval", "Num", "TestResult"]
