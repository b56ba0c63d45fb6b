"""Python values as results.json holds them: NaN/inf → null, numpy scalars → numbers, tuples → lists.

Shared by the writer (:mod:`valkit.results`) and the typed contract (:mod:`valkit.results_schema`,
which validates each block in this form where it is built).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def json_ready(obj: Any) -> Any:
    """``obj`` with NaN/inf as None (the report prints 'not estimable'), numpy scalars as Python numbers,
    tuples as lists, dict keys and paths as strings.

    >>> json_ready({1: (float("nan"), Path("a"))})
    {'1': [None, 'a']}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return json_ready(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def as_written(data: Any) -> Any:
    """``data`` as it reads back from the JSON file (NaN → null, numpy scalars → numbers, tuples → lists)."""
    return json.loads(json.dumps(json_ready(data), allow_nan=False, ensure_ascii=False))


__all__ = ["as_written", "json_ready"]
