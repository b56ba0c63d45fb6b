"""The model card section, in the style of FDA's AI-enabled device software functions draft guidance
(January 2025), Appendix E: one place a reviewer reads what the model is, what it takes and gives,
how it performed (with 95% two-sided CIs) and on what data, and that the version tested is the
version released.

Reads results.json only. Estimates are the ones results.json already holds (endpoints, primary);
descriptions shared with the Device and model section come from :mod:`valkit.report.sections.device`.
Anything the card does not record is said to be supplied by the sponsor.
"""
from __future__ import annotations

from valkit.report.formatting import count, pct
from valkit.report.sections.common import estimate_row, metric_label
from valkit.report.sections.device import architecture_text, operating_point_text, output_text
from valkit.report.sections.discussion import limitations
from valkit.report.sections.data import TABLE1_TITLES

NOT_IN_CARD = "not recorded in the model card — to be supplied by the sponsor"

_ACCEPT_ROWS = (
    ("modalities", "Modality (DICOM 0008,0060)"),
    ("body_parts", "Body part examined (DICOM 0018,0015; checked where the header records it)"),
    ("views", "View position (DICOM 0018,5101; checked where the header records it)"),
    ("photometric_interpretations", "Photometric interpretation (DICOM 0028,0004)"),
)
_DATA_COLUMNS = ("site", "manufacturer", "sex", "age_band")


def _inputs(model: dict) -> list[dict]:
    accepts = model.get("accepts")
    rows = []
    for key, label in _ACCEPT_ROWS:
        if accepts is None:
            value = NOT_IN_CARD
        else:
            value = ", ".join(accepts.get(key) or []) or "any (the model card sets no restriction)"
        rows.append({"key": label, "value": value})
    if accepts is not None:
        rows.append({"key": "Smallest image (rows × columns, pixels)",
                     "value": f"{accepts.get('min_rows', 1)} × {accepts.get('min_columns', 1)}"})
    size = model.get("input_size")
    rows.append({"key": "Network input (pixels)", "value": " × ".join(map(str, size)) if size else NOT_IN_CARD})
    return rows


def _quality_checks(results: dict) -> dict:
    flow = (results.get("data") or {}).get("flow") or {}
    return {
        "in_manifest": count(flow.get("in_manifest")),
        "excluded": count(flow.get("excluded")) if "excluded" in flow else None,
        "exclusion_reasons": [{"reason": r.get("reason", ""), "n": count(r.get("n"))}
                              for r in flow.get("exclusion_reasons") or []],
        "failed": count(flow.get("failed")),
        "failure_reasons": [{"reason": r.get("reason", ""), "n": count(r.get("n"))}
                            for r in flow.get("failure_reasons") or []],
        "analysed": count(flow.get("analysed")),
    }


def _performance(results: dict) -> list[dict]:
    """The primary endpoints, then AUC, from the estimates results.json holds (never recomputed)."""
    rows, seen = [], set()
    for e in results.get("endpoints") or []:
        if e.get("primary") and e.get("metric") not in seen:
            seen.add(e["metric"])
            rows.append({**estimate_row(e["metric"], e.get("estimate"), results), "endpoint": True})
    if "auc" not in seen and (results.get("primary") or {}).get("auc"):
        rows.append({**estimate_row("auc", results["primary"]["auc"], results), "endpoint": False})
    return rows


def _data_characterisation(results: dict) -> list[dict]:
    table1 = (results.get("data") or {}).get("table1") or {}
    out = []
    for col in _DATA_COLUMNS:
        block = table1.get(col)
        if not block:
            continue
        levels = [f"{('not recorded' if r.get('level') == 'missing' else r.get('level'))} {count(r.get('n'))}"
                  for r in block.get("rows") or []]
        out.append({"key": TABLE1_TITLES.get(col, col), "value": "; ".join(levels)})
    return out


def _training(model: dict) -> list[dict]:
    t = model.get("training")
    if not t:
        return [{"key": "Training data", "value": NOT_IN_CARD}]
    n = t.get("n_images") or {}
    seeds = t.get("data_seeds") or {}
    rows = [{"key": "Training data", "value": t.get("data") or NOT_IN_CARD},
            {"key": "Images per partition", "value": "; ".join(f"{k} {count(v)}" for k, v in n.items()) or NOT_IN_CARD}]
    if seeds:
        rows.append({"key": "Data partitions (generator seeds)",
                     "value": "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in seeds.items())})
    if t.get("excluded_seeds"):
        rows.append({"key": "Kept out of training and tuning", "value": ", ".join(map(str, t["excluded_seeds"]))})
    if t.get("tuning_auc") is not None:
        rows.append({"key": "AUC on the tuning data (from the card)", "value": f"{t['tuning_auc']:.3f}"})
    return rows


def _card_digest(results: dict) -> str | None:
    """The model card's sha256: recorded with the model (issue #15), else in the pre-registration lock."""
    model = results.get("model") or {}
    if model.get("card_sha256"):
        return model["card_sha256"]
    lock = ((results.get("traceability") or {}).get("lock") or {}).get("files") or []
    return next((f.get("sha256") for f in lock if f.get("key") == "model.card"), None)


def build(results: dict, doc: dict) -> dict | None:
    model = results.get("model") or {}
    external = model.get("kind") == "external_predictions"
    tuning = model.get("threshold_tuning") or {}
    tuning_bits = []
    if tuning.get("tuning_n") is not None:
        tuning_bits.append(f"{count(tuning['tuning_n'])} tuning cases")
    for key, metric in (("tuning_sensitivity", "sensitivity"), ("tuning_specificity", "specificity")):
        if tuning.get(key) is not None:
            tuning_bits.append(f"{metric_label(metric, results).lower()} there {pct(tuning[key])}")
    return {
        "external": external,
        "intended_use": model.get("intended_use") or NOT_IN_CARD,
        "finding": model.get("finding") or NOT_IN_CARD,
        "inputs": [{"key": "Modality, body part, view, DICOM constraints", "value": NOT_IN_CARD}] if external
        else _inputs(model),
        "output": output_text(model.get("output")) or NOT_IN_CARD,
        "positive_label": (model.get("output") or {}).get("positive_label") or model.get("finding") or "",
        "architecture": NOT_IN_CARD if external else architecture_text(model),
        "operating_point": operating_point_text(results),
        "tuning": "; ".join(tuning_bits),
        "quality": _quality_checks(results),
        "performance": _performance(results),
        "limitations": limitations(results, doc).get("points") or [],
        "data": _data_characterisation(results),
        "training": [{"key": "Training data", "value": NOT_IN_CARD}] if external else _training(model),
        "weights_label": doc["weights_label"],
        "weights_sha256": model.get("weights_sha256") or "not recorded",
        "card_sha256": None if external else (_card_digest(results) or "not recorded"),
        "name": model.get("name") or "",
        "version": model.get("version") or "",
    }
