"""Secondary results: calibration of the model's probabilities (from results.json ``calibration``).

Reads the typed results (:class:`~valkit.results_schema.Results`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from valkit.report.figures import reliability_svg
from valkit.report.formatting import ci_text, num, p_text

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.base import Estimate


def _ci(est: Estimate) -> str:
    """An estimate's interval as a ratio-style ``low–high`` ("no interval" when it has none)."""
    return ci_text(None if est.interval is None else est.interval.model_dump(), "ratio")


def build(results: Results, doc: dict) -> dict | None:
    cal = results.calibration
    if cal is None:  # scores that are not probabilities, or one class only
        return None
    c = cal.curve
    citl, slope, hl = cal.calibration_in_the_large, cal.calibration_slope, cal.hosmer_lemeshow
    return {
        "figure": Markup(reliability_svg(c.mean_predicted, c.observed, c.observed_low, c.observed_high, c.counts)),
        "rows": [
            {"name": "Calibration-in-the-large (logistic intercept with the logit as offset; ideal 0)",
             "value": num(citl.value), "ci": _ci(citl)},
            {"name": "Calibration slope (logistic slope on the logit; ideal 1)",
             "value": num(slope.value), "ci": _ci(slope)},
            {"name": "Expected calibration error (10 equal-count bins)", "value": num(cal.ece.value), "ci": ""},
            {"name": f"Hosmer–Lemeshow χ² ({num(hl.df, 0)} df)",
             "value": num(hl.statistic, 2), "ci": p_text(hl.p_value)},
        ],
        "bins": list(zip(c.mean_predicted, c.observed, c.counts)),
        "note": cal.note,
    }
