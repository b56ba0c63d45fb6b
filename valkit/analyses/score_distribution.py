"""Score distributions by reference standard: histogram counts for the report's figure.

The renderer draws these counts with the threshold line; it never bins scores itself.

>>> h = score_histogram([1, 0, 0, 1], [0.9, 0.1, 0.45, 1.0], bins=4)
>>> h["edges"], h["positive"], h["negative"]
([0.0, 0.25, 0.5, 0.75, 1.0], [0, 0, 0, 2], [1, 1, 0, 0])
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["score_histogram"]


def score_histogram(y: Any, scores: Any, *, score_range: tuple[float, float] = (0.0, 1.0), bins: int = 20) -> dict:
    """Counts of reference-positive and -negative cases in ``bins`` equal bins over ``score_range``.

    Bins are closed on the left, open on the right, except the last (closed: a score equal to the
    top of the range counts). A score outside the range is counted in the nearest end bin, and how
    many were is recorded (``n_outside``).
    """
    y = np.asarray(y, dtype=int)
    s = np.asarray(scores, dtype=float)
    lo, hi = float(score_range[0]), float(score_range[1])
    edges = np.linspace(lo, hi, bins + 1)
    clipped = np.clip(s, lo, hi)
    pos = np.histogram(clipped[y == 1], bins=edges)[0]
    neg = np.histogram(clipped[y == 0], bins=edges)[0]
    return {"edges": [round(float(e), 10) for e in edges], "positive": [int(v) for v in pos],
            "negative": [int(v) for v in neg], "n_outside": int(((s < lo) | (s > hi)).sum())}
