"""Calibration of the model's probabilities (secondary results): reliability curve and summaries."""
from __future__ import annotations

import numpy as np

from valkit import stats


def calibration_block(y: np.ndarray, p: np.ndarray, *, n_bins: int = 10) -> dict | None:
    """Reliability curve (quantile bins, Wilson CIs), calibration-in-the-large, slope, ECE, Hosmer-Lemeshow.

    Only meaningful when the scores are probabilities; ``None`` when there are no cases or one class.
    """
    if len(y) == 0 or y.min() == y.max():
        return None
    curve = stats.calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
    return {
        "curve": {
            "strategy": curve.strategy,
            "mean_predicted": [float(v) for v in curve.mean_predicted],
            "observed": [float(v) for v in curve.observed],
            "observed_low": [float(v) for v in curve.observed_low],
            "observed_high": [float(v) for v in curve.observed_high],
            "counts": [int(v) for v in curve.counts],
        },
        "calibration_in_the_large": stats.calibration_in_the_large(y, p).to_dict(),
        "calibration_slope": stats.calibration_slope(y, p).to_dict(),
        "ece": stats.expected_calibration_error(y, p, n_bins=n_bins, strategy="quantile").to_dict(),
        "hosmer_lemeshow": stats.hosmer_lemeshow(y, p, n_groups=n_bins).to_dict(),
        "note": "Images are treated as independent here; calibration is descriptive, not an endpoint.",
    }
