"""Argument checking and warning policy shared by every function in :mod:`valkit.stats`.

Invalid arguments raise :class:`StatsInputError` (a :class:`ValueError` and a
:class:`valkit.errors.InputError`, so the CLI maps it to exit code 2). Undefined
results are ``nan`` with a named warning (see :func:`not_estimable`).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

from valkit.errors import InputError
from valkit.stats.types import NotEstimableWarning
from valkit.suggest import did_you_mean

T = TypeVar("T")


class StatsInputError(InputError, ValueError):
    """An argument to a statistics function is invalid (wrong length, labels, method name...)."""


def look_up_option(name: Any, options: Mapping[str, T], *, what: str) -> T:
    """Return ``options[name]``; on a miss, raise with the closest valid name.

    >>> look_up_option("wilson", {"wilson": 1, "jeffreys": 2}, what="ci")
    1
    >>> look_up_option("wilsn", {"wilson": 1, "jeffreys": 2}, what="ci")
    Traceback (most recent call last):
    ...
    valkit.stats.validation.StatsInputError: ci: unknown method 'wilsn'. Did you mean 'wilson'? Valid: jeffreys, wilson.
    """
    if isinstance(name, str) and name in options:
        return options[name]
    valid = ", ".join(sorted(options))
    hint = did_you_mean(name, options, cutoff=0.5)
    raise StatsInputError(f"{what}: unknown method {name!r}.{hint} Valid: {valid}.")


def check_confidence_level(confidence_level: float) -> float:
    cl = float(confidence_level)
    if not 0.0 < cl < 1.0:
        raise StatsInputError(
            f"confidence_level: expected a number strictly between 0 and 1 (e.g. 0.95), got {confidence_level!r}."
        )
    return cl


def as_labels(y_true: Any, *, name: str = "y_true") -> np.ndarray:
    """Binary labels as an int8 array; raises unless every value is 0 or 1 (bools accepted)."""
    arr = np.asarray(y_true)
    if arr.ndim != 1:
        raise StatsInputError(f"{name}: expected a 1-D array of 0/1 labels, got shape {arr.shape}.")
    if arr.dtype == bool:
        return arr.astype(np.int8)
    if arr.size and not np.issubdtype(arr.dtype, np.number):
        raise StatsInputError(f"{name}: expected numeric 0/1 labels, got dtype {arr.dtype}. Encode positive as 1.")
    if arr.size:
        bad = ~((arr == 0) | (arr == 1))
        if bad.any():
            found = sorted({repr(v) for v in np.unique(arr[bad])[:5].tolist()})
            raise StatsInputError(
                f"{name}: labels must be 0 or 1 (1 = positive), found {', '.join(found)}. "
                "Recode the labels before calling."
            )
    return arr.astype(np.int8)


def as_scores(y_score: Any, *, name: str = "y_score") -> np.ndarray:
    """Finite float64 scores; NaN/inf raise (drop or impute missing scores before calling)."""
    arr = np.asarray(y_score)
    if arr.ndim != 1:
        raise StatsInputError(f"{name}: expected a 1-D array of scores, got shape {arr.shape}.")
    if arr.size and not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise StatsInputError(f"{name}: expected numeric scores, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64, copy=False)
    if arr.size and not np.isfinite(arr).all():
        k = int((~np.isfinite(arr)).sum())
        raise StatsInputError(
            f"{name}: {k} score(s) are NaN or infinite. Remove those cases (and record why) before calling."
        )
    return arr


def check_same_length(**arrays: Any) -> int:
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise StatsInputError(f"mismatched lengths: {desc}. Every array must have one entry per case.")
    return next(iter(lengths.values()), 0)


def as_count(value: Any, *, name: str) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name}: expected a non-negative whole number, got {value!r}.") from None
    if not math.isfinite(f) or f < 0 or f != int(f):
        raise StatsInputError(f"{name}: expected a non-negative whole number, got {value!r}.")
    return int(f)


def as_cluster(cluster: Any, n: int) -> np.ndarray | None:
    """Cluster ids (any hashable/array values) as dense int codes 0..k-1, or None."""
    if cluster is None:
        return None
    arr = np.asarray(cluster)
    if arr.ndim != 1 or len(arr) != n:
        raise StatsInputError(
            f"cluster: expected one cluster id (e.g. patient id) per case: {n} values, got shape {arr.shape}."
        )
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise StatsInputError("cluster: some cluster ids are NaN; every case needs a patient id.")
    _, codes = np.unique(arr, return_inverse=True)
    return codes.reshape(-1).astype(np.intp)


def not_estimable(code: str, message: str, *, stacklevel: int = 3) -> str:
    """Emit a :class:`NotEstimableWarning` and return the named warning for ``Estimate.warnings``.

    The returned string is ``"<code>: <message>"`` so a report can key on the code.
    """
    text = f"{code}: {message}"
    warnings.warn(NotEstimableWarning(text), stacklevel=stacklevel)
    return text
