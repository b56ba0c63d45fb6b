"""Estimate usable as a number, its interval unpackable, and a flat dict for table rows (issue #12, item 5)."""
from __future__ import annotations

import json
import math

import pytest

from valkit import stats
from valkit.stats.types import Estimate, Interval

# epiR 2.0.57 epi.tests Example 1 (Scott et al.): TP 670, FN 74 -> sensitivity 0.90 (0.88 - 0.92)
SENS = stats.sensitivity_from_counts(670, 74, ci="clopper_pearson")


def test_float_round_and_format_use_the_value():
    assert float(SENS) == SENS.value == 670 / 744
    assert round(SENS, 2) == 0.9 and round(SENS) == 1
    assert f"{SENS:.2f}" == "0.90" and f"{SENS:.1%}" == "90.1%"
    assert f"{SENS}" == str(SENS)  # no spec: the dataclass repr, unchanged


def test_ordering_against_numbers_and_estimates():
    assert SENS > 0.85 and SENS >= 0.9 and SENS < 0.95 and 0.85 < SENS
    assert stats.sensitivity_from_counts(1, 9) < SENS
    nan = Estimate(math.nan, None, 0)
    assert not (nan < 1) and not (nan >= 0)  # like a float nan
    with pytest.raises(TypeError):
        SENS < "0.9"


def test_equality_still_compares_whole_estimates():
    assert SENS == stats.sensitivity_from_counts(670, 74, ci="clopper_pearson")
    assert SENS != stats.sensitivity_from_counts(670, 74, ci="wilson")  # same value, other interval
    assert hash(SENS) == hash(stats.sensitivity_from_counts(670, 74, ci="clopper_pearson"))


def test_interval_unpacks_low_high():
    low, high = SENS.interval
    assert (low, high) == (SENS.interval.low, SENS.interval.high)
    assert round(low, 2) == 0.88 and round(high, 2) == 0.92  # epiR: 0.88 - 0.92


def test_to_flat_dict_is_one_level():
    d = SENS.to_flat_dict()
    assert d == {"value": SENS.value, "low": SENS.interval.low, "high": SENS.interval.high,
                 "confidence_level": 0.95, "method": "clopper_pearson", "n": 744, "numerator": 670,
                 "denominator": 744, "warnings": ""}
    assert not any(isinstance(v, (dict, list, tuple)) for v in d.values())
    with pytest.warns(stats.NotEstimableWarning):
        empty = stats.sensitivity_from_counts(0, 0)
    f = empty.to_flat_dict()
    assert math.isnan(f["value"]) and math.isnan(f["low"]) and f["warnings"].startswith("no_positives:")
    g = Estimate(0.5, None, 4).to_flat_dict()
    assert math.isnan(g["low"]) and g["confidence_level"] is None and g["method"] is None


def test_nested_to_dict_is_unchanged():
    """results.json depends on this shape."""
    assert SENS.to_dict() == {
        "value": SENS.value, "n": 744, "numerator": 670, "denominator": 744, "method": "clopper_pearson",
        "warnings": [], "interval": {"low": SENS.interval.low, "high": SENS.interval.high,
                                     "confidence_level": 0.95, "method": "clopper_pearson"}}
    json.dumps(SENS.to_dict(), allow_nan=False)
    assert Interval(0.1, 0.2, 0.95, "wilson").to_dict() == {"low": 0.1, "high": 0.2, "confidence_level": 0.95,
                                                           "method": "wilson"}
