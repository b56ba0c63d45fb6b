"""Result types shared by every statistic in :mod:`valkit.stats`.

Frozen dataclasses, JSON-serialisable through :meth:`to_dict` (nested, the results.json
shape) or :meth:`Estimate.to_flat_dict` (one level, for a table row). Fields that do not
apply to a given statistic are ``None``. Undefined values are ``nan`` and carry a
named warning in ``warnings`` (and a :class:`NotEstimableWarning` is emitted).

An :class:`Estimate` is usable as a number (``float(e)``, ``e >= 0.8``, ``f"{e:.3f}"``)
and its interval unpacks (``low, high = e.interval``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from numbers import Real
from typing import Any, Iterator


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
        """Whether ``low <= x <= high``."""
        return self.low <= x <= self.high

    def __iter__(self) -> Iterator[float]:
        """Unpack as ``low, high = interval``.

        >>> low, high = Interval(0.2, 0.6, 0.95, "wilson")
        >>> low, high
        (0.2, 0.6)
        """
        return iter((self.low, self.high))

    def to_dict(self) -> dict[str, Any]:
        """``{low, high, confidence_level, method}``; nan becomes ``None`` (strict JSON)."""
        return _clean(asdict(self))


def _as_number(other: Any) -> float | None:
    """``other`` as a float for comparing with an Estimate, or None when it is not a number."""
    if isinstance(other, Estimate):
        return other.value
    if isinstance(other, Real) and not isinstance(other, bool):
        return float(other)
    return None


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval and the counts behind it.

    ``numerator``/``denominator`` are the counts of a proportion (e.g. TP and TP+FN for
    sensitivity); ``n`` is the number of observations (cases) the estimate used.

    An Estimate is usable as its value: ``float(e)``, ``round(e, 3)``, ``f"{e:.1%}"`` and the
    ordering comparisons with a number (``e >= 0.8``) all use ``value`` (a ``nan`` value
    compares false, like a float). ``==`` still compares whole Estimates (value, interval,
    counts), so ``e == 0.75`` is False: write ``float(e) == 0.75``.

    Examples
    --------
    >>> e = Estimate(0.75, Interval(0.6, 0.86, 0.95, "wilson"), 40, 30, 40, "wilson")
    >>> float(e), e >= 0.7, f"{e:.1%}"
    (0.75, True, '75.0%')
    >>> low, high = e.interval
    >>> e.to_flat_dict()["low"], e.to_flat_dict()["method"]
    (0.6, 'wilson')
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
        """Whether the value is defined (not ``nan``)."""
        return not math.isnan(self.value)

    def __float__(self) -> float:
        """The value: ``float(e)``."""
        return float(self.value)

    def __round__(self, ndigits: int | None = None) -> float:
        """The value rounded: ``round(e, 3)``."""
        return round(float(self.value), ndigits) if ndigits is not None else round(float(self.value))

    def __format__(self, spec: str) -> str:
        """The value formatted with a spec (``f"{e:.1%}"``); the repr without one."""
        return format(float(self.value), spec) if spec else str(self)

    def _compare(self, other: Any, op: Any) -> Any:
        x = _as_number(other)
        return NotImplemented if x is None else op(float(self.value), x)

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, float.__lt__)

    def __le__(self, other: Any) -> Any:
        return self._compare(other, float.__le__)

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, float.__gt__)

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, float.__ge__)

    def to_dict(self) -> dict[str, Any]:
        """Nested dict (the results.json shape): the interval is a dict; nan becomes ``None``."""
        d = _clean(asdict(self))
        d["interval"] = self.interval.to_dict() if self.interval is not None else None
        return d

    def to_flat_dict(self) -> dict[str, Any]:
        """One level, for a table row: value, low, high, confidence_level, method, n, numerator,
        denominator, warnings.

        ``low``/``high``/``confidence_level`` are ``nan`` / ``None`` when there is no interval;
        ``method`` is the interval's method; ``warnings`` are joined with ``"; "``. Values stay
        floats (``nan`` is kept, for pandas); use :meth:`to_dict` for strict JSON.
        """
        iv = self.interval
        return {
            "value": float(self.value),
            "low": float(iv.low) if iv is not None else math.nan,
            "high": float(iv.high) if iv is not None else math.nan,
            "confidence_level": iv.confidence_level if iv is not None else None,
            "method": self.method if self.method is not None else (iv.method if iv is not None else None),
            "n": self.n,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "warnings": "; ".join(self.warnings),
        }


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
