"""Result types shared by every statistic in :mod:`valkit.stats`.

Frozen dataclasses, JSON-serialisable through :meth:`to_dict`. Fields that do not
apply to a given statistic are ``None``. Undefined values are ``nan`` and carry a
named warning in ``warnings`` (and a :class:`NotEstimableWarning` is emitted).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


class NotEstimableWarning(UserWarning):
    """A quantity is undefined for the data given (e.g. sensitivity with no positives).

    The value is returned as ``nan``; reports print "not estimable".
    """


def _clean(value: Any) -> Any:
    """Make a value strict-JSON friendly: nan/inf become None, tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return _clean(value.item())
    return value


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` at ``confidence_level`` computed by ``method``."""

    low: float
    high: float
    confidence_level: float
    method: str

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval and the counts behind it.

    ``numerator``/``denominator`` are the counts of a proportion (e.g. TP and TP+FN for
    sensitivity); ``n`` is the number of observations (cases) the estimate used.
    """

    value: float
    interval: Interval | None
    n: int
    numerator: float | None = None
    denominator: float | None = None
    method: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def estimable(self) -> bool:
        return not math.isnan(self.value)

    def to_dict(self) -> dict[str, Any]:
        d = _clean(asdict(self))
        d["interval"] = self.interval.to_dict() if self.interval is not None else None
        return d


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test: statistic, p-value and, where it applies, a difference with its CI."""

    __test__ = False  # not a pytest test class

    statistic: float
    p_value: float
    difference: float | None
    interval: Interval | None
    method: str
    df: float | tuple[float, float] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = _clean(asdict(self))
        d["interval"] = self.interval.to_dict() if self.interval is not None else None
        return d
