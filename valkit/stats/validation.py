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


def _shown(values: Any, k: int = 5) -> str:
    """Up to ``k`` distinct values, sorted by their repr, for an error message."""
    found = sorted({repr(v) for v in values}, key=str)
    return ", ".join(found[:k]) + (f" (and {len(found) - k} more)" if len(found) > k else "")


def _distinct(arr: np.ndarray) -> list[Any]:
    return list(dict.fromkeys(arr.tolist()))


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def as_labels(y_true: Any, *, name: str = "y_true", pos_label: Any = None) -> np.ndarray:
    """Binary labels as an int8 array of 0/1 (1 = positive).

    Without ``pos_label`` every value must be 0 or 1 (bools accepted). With ``pos_label``
    (sklearn's convention), any labels work: a case is positive when its label equals
    ``pos_label``. There must be at most two distinct labels, and ``pos_label`` must be
    one of them when there are two (one label only is allowed: a group may lack a class).

    >>> as_labels(["benign", "malignant", "malignant"], pos_label="malignant").tolist()
    [0, 1, 1]
    >>> as_labels(["benign", "malignant"])
    Traceback (most recent call last):
    ...
    valkit.stats.validation.StatsInputError: y_true: labels must be 0 or 1 (1 = positive), found 'benign', 'malignant'. Pass pos_label=<the positive label> (e.g. pos_label='malignant'), or recode the labels to 0/1.
    """
    arr = np.asarray(y_true)
    if arr.ndim != 1:
        raise StatsInputError(f"{name}: expected a 1-D array of 0/1 labels, got shape {arr.shape}.")
    if pos_label is not None:
        return _labels_from_pos_label(arr, name, pos_label)
    if arr.dtype == bool:
        return arr.astype(np.int8)
    numeric = np.issubdtype(arr.dtype, np.number)
    if numeric and arr.dtype.kind == "f" and np.isnan(arr).any():
        raise StatsInputError(f"{name}: {int(np.isnan(arr).sum())} label(s) are NaN. Every case needs a reference "
                              "label; remove those cases (and record why) before calling.")
    if arr.size and (not numeric or not ((arr == 0) | (arr == 1)).all()):
        found = _distinct(arr)
        example = next((v for v in reversed(sorted(map(str, found))) if v.strip()), "1")
        raise StatsInputError(
            f"{name}: labels must be 0 or 1 (1 = positive), found {_shown(found)}. "
            f"Pass pos_label=<the positive label> (e.g. pos_label={_example(found, example)!r}), "
            "or recode the labels to 0/1."
        )
    return arr.astype(np.int8)


def _example(found: list[Any], text: str) -> Any:
    """The found label whose text is ``text`` (keeps its type for the hint)."""
    return next((v for v in found if str(v) == text), text)


def _labels_from_pos_label(arr: np.ndarray, name: str, pos_label: Any) -> np.ndarray:
    values = _distinct(arr)
    missing = [v for v in values if _is_missing(v)]
    if missing:
        k = sum(1 for v in arr.tolist() if _is_missing(v))
        raise StatsInputError(f"{name}: {k} label(s) are missing (None/NaN). Every case needs a reference label; "
                              "remove those cases (and record why) before calling.")
    if len(values) > 2:
        raise StatsInputError(f"{name}: expected two classes (binary labels), found {len(values)}: {_shown(values)}. "
                              "Map the labels to two classes before calling.")
    if len(values) == 2 and not any(v == pos_label for v in values):
        raise StatsInputError(f"{name}: pos_label={pos_label!r} is not one of the labels found: {_shown(values)}. "
                              "Pass the positive class exactly as it appears in the labels.")
    return (arr == pos_label).astype(np.int8).reshape(-1)


def as_label_pair(y_true: Any, y_pred: Any, *, pos_label: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions coded alike (see :func:`as_labels`); with ``pos_label`` they share two classes.

    >>> t, p = as_label_pair(["neg", "pos", "pos"], ["pos", "pos", "neg"], pos_label="pos")
    >>> t.tolist(), p.tolist()
    ([0, 1, 1], [1, 1, 0])
    """
    t = as_labels(y_true, name="y_true", pos_label=pos_label)
    p = as_labels(y_pred, name="y_pred", pos_label=pos_label)
    if pos_label is not None:
        both = _distinct(np.concatenate([np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)]))
        if len(both) > 2:
            raise StatsInputError(f"y_true, y_pred: expected the same two classes in both, found {_shown(both)}. "
                                  "Predictions must use the labels of y_true (the positive one is pos_label).")
    return t, p


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
    return dense_codes(arr).astype(np.intp)


def distinct(values: Any) -> np.ndarray:
    """Sorted distinct values of a 1-D array, as ``np.unique(values)`` (NaN counted once).

    By sorting: numpy >= 2.3 answers ``np.unique`` with a hash table that is about 20 times
    slower on a million integer codes (1.4 s against 0.07 s).

    >>> distinct([3, 1, 3]).tolist()
    [1, 3]
    """
    x = np.sort(np.asarray(values).reshape(-1))
    if x.size == 0:
        return x
    keep = np.r_[True, x[1:] != x[:-1]]
    if x.dtype.kind in "fc" and np.isnan(x[-1]):  # NaNs sort last and never equal each other
        keep[np.flatnonzero(np.isnan(x))[1:]] = False
    return x[keep]


def n_distinct(values: Any) -> int:
    """How many distinct values (``len(np.unique(values))``, by sorting or counting).

    >>> n_distinct(["p1", "p2", "p1"])
    2
    """
    x = np.asarray(values).reshape(-1)
    if x.dtype.kind in "iu" and x.size and x.min() >= 0 and x.max() < 4 * x.size + 1024:
        return int(np.count_nonzero(np.bincount(x)))  # dense codes: one pass
    return len(distinct(x))


def dense_codes(values: Any) -> np.ndarray:
    """Codes 0..k-1 in the sorted order of the values: ``np.unique(values, return_inverse=True)[1]``.

    >>> dense_codes([30, 10, 30, 20]).tolist()
    [2, 0, 2, 1]
    """
    x = np.asarray(values).reshape(-1)
    if x.dtype.kind in "iu" and x.size and x.min() >= 0 and x.max() < 4 * x.size + 1024:
        present = np.bincount(x) > 0  # small non-negative ints: a lookup table, no sort
        return (np.cumsum(present) - 1)[x].astype(np.int64)
    _, codes = np.unique(x, return_inverse=True)  # sorts (the hash path is only for values alone)
    return codes.reshape(-1).astype(np.int64)


def not_estimable(code: str, message: str, *, stacklevel: int = 3) -> str:
    """Emit a :class:`NotEstimableWarning` and return the named warning for ``Estimate.warnings``.

    The returned string is ``"<code>: <message>"`` so a report can key on the code.
    """
    text = f"{code}: {message}"
    warnings.warn(NotEstimableWarning(text), stacklevel=stacklevel)
    return text
