"""Secondary results: calibration of the model's probabilities (from results.json ``calibration``)."""
from __future__ import annotations

from markupsafe import Markup

from valkit.report.figures import reliability_svg
from valkit.report.formatting import ci_text, num, p_text


def build(results: dict, doc: dict) -> dict | None:
    cal = results.get("calibration")
    if not cal:
        return None
    c = cal["curve"]
    citl, slope = cal["calibration_in_the_large"], cal["calibration_slope"]
    hl = cal["hosmer_lemeshow"]
    return {
        "figure": Markup(reliability_svg(c["mean_predicted"], c["observed"], c["observed_low"],
                                         c["observed_high"], c["counts"])),
        "rows": [
            {"name": "Calibration-in-the-large (logistic intercept with the logit as offset; ideal 0)",
             "value": num(citl["value"]), "ci": ci_text(citl.get("interval"), "ratio")},
            {"name": "Calibration slope (logistic slope on the logit; ideal 1)",
             "value": num(slope["value"]), "ci": ci_text(slope.get("interval"), "ratio")},
            {"name": "Expected calibration error (10 equal-count bins)", "value": num(cal["ece"]["value"]), "ci": ""},
            {"name": f"Hosmer–Lemeshow χ² ({num(hl.get('df'), 0)} df)",
             "value": num(hl["statistic"], 2), "ci": p_text(hl["p_value"])},
        ],
        "bins": list(zip(c["mean_predicted"], c["observed"], c["counts"])),
        "note": cal.get("note", ""),
    }
