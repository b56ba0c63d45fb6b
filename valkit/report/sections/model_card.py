"""The model card section, in the style of FDA's AI-enabled device software functions draft guidance
(January 2025), Appendix E: one place a reviewer reads what the model is, what it takes and gives,
how it performed (with 95% two-sided CIs) and on what data, and that the version tested is the
version released.

Reads results.json only. Estimates are the ones results.json already holds (endpoints, primary);
descriptions shared with the Device and model section come from :mod:`valkit.report.sections.device`.
Anything the card does not record is said to be supplied by the sponsor.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.report.formatting import count, pct
from valkit.report.sections.common import estimate_row, metric_label
from valkit.report.sections.device import architecture_text, card_model, operating_point_text, output_text
from valkit.report.sections.discussion import limitations
from valkit.report.sections.data import TABLE1_TITLES
from valkit.results_schema.run_info import ModelCardModel

if TYPE_CHECKING:
    from valkit.results_schema import Results

NOT_IN_CARD = "not recorded in the model card — to be supplied by the sponsor"

_ACCEPT_ROWS = (
    ("modalities", "Modality (DICOM 0008,0060)"),
    ("body_parts", "Body part examined (DICOM 0018,0015; checked where the header records it)"),
    ("views", "View position (DICOM 0018,5101; checked where the header records it)"),
    ("photometric_interpretations", "Photometric interpretation (DICOM 0028,0004)"),
)
_DATA_COLUMNS = ("site", "manufacturer", "sex", "age_band")


def _inputs(model: ModelCardModel) -> list[dict]:
    accepts = model.accepts  # None in runs written before the card's accepts were recorded
    rows = []
    for field, label in _ACCEPT_ROWS:
        if accepts is None:
            value = NOT_IN_CARD
        else:
            value = ", ".join(getattr(accepts, field) or []) or "any (the model card sets no restriction)"
        rows.append({"key": label, "value": value})
    if accepts is not None:
        rows.append({"key": "Smallest image (rows × columns, pixels)",
                     "value": f"{accepts.min_rows} × {accepts.min_columns}"})
    size = model.input_size
    rows.append({"key": "Network input (pixels)", "value": " × ".join(map(str, size)) if size else NOT_IN_CARD})
    return rows


def _quality_checks(results: Results) -> dict:
    flow = results.data.flow
    return {
        "in_manifest": count(flow.in_manifest),
        "excluded": count(flow.excluded),
        "exclusion_reasons": [{"reason": r.reason, "n": count(r.n)} for r in flow.exclusion_reasons],
        "failed": count(flow.failed),
        "failure_reasons": [{"reason": r.reason, "n": count(r.n)} for r in flow.failure_reasons],
        "analysed": count(flow.analysed),
    }


def _performance(results: Results) -> list[dict]:
    """The primary endpoints, then AUC, from the estimates results.json holds (never recomputed)."""
    rows, seen = [], set()
    for e in results.endpoints:
        if e.primary and e.metric not in seen:
            seen.add(e.metric)
            rows.append({**estimate_row(e.metric, e.estimate, results), "endpoint": True})
    if "auc" not in seen:
        rows.append({**estimate_row("auc", results.primary.auc, results), "endpoint": False})
    return rows


def _data_characterisation(results: Results) -> list[dict]:
    table1 = results.data.table1
    out = []
    for col in _DATA_COLUMNS:
        block = table1.get(col)  # a map keyed by the recorded characteristics: a column may be absent
        if block is None:
            continue
        levels = [f"{('not recorded' if r.level == 'missing' else r.level)} {count(r.n)}" for r in block.rows]
        out.append({"key": TABLE1_TITLES.get(col, col), "value": "; ".join(levels)})
    return out


def _training(model: ModelCardModel) -> list[dict]:
    t = model.training
    if t is None:
        return [{"key": "Training data", "value": NOT_IN_CARD}]
    rows = [{"key": "Training data", "value": t.data or NOT_IN_CARD},
            {"key": "Images per partition",
             "value": "; ".join(f"{k} {count(v)}" for k, v in t.n_images.items()) or NOT_IN_CARD}]
    if t.data_seeds:
        rows.append({"key": "Data partitions (generator seeds)",
                     "value": "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in t.data_seeds.items())})
    if t.excluded_seeds:
        rows.append({"key": "Kept out of training and tuning", "value": ", ".join(map(str, t.excluded_seeds))})
    if t.tuning_auc is not None:
        rows.append({"key": "AUC on the tuning data (from the card)", "value": f"{t.tuning_auc:.3f}"})
    return rows


def _card_digest(results: Results, model: ModelCardModel) -> str | None:
    """The model card's sha256: recorded with the model (issue #15), else in the pre-registration lock."""
    if model.card_sha256:
        return model.card_sha256
    trace = results.traceability
    if trace is None or trace.lock is None:
        return None
    return next((f.sha256 for f in trace.lock.files if f.key == "model.card"), None)


def _tuning_text(model: ModelCardModel, results: Results) -> str:
    """'800 tuning cases; sensitivity there 85.4%; ...' from the card's own record of the tuning."""
    tuning = model.threshold_tuning
    if tuning is None:
        return ""
    bits = []
    if tuning.tuning_n is not None:
        bits.append(f"{count(tuning.tuning_n)} tuning cases")
    for value, metric in ((tuning.tuning_sensitivity, "sensitivity"), (tuning.tuning_specificity, "specificity")):
        if value is not None:
            bits.append(f"{metric_label(metric, results).lower()} there {pct(value)}")
    return "; ".join(bits)


def build(results: Results, doc: dict) -> dict | None:
    model = results.model
    common = {
        "operating_point": operating_point_text(results),
        "quality": _quality_checks(results),
        "performance": _performance(results),
        "limitations": limitations(results, doc)["points"],
        "data": _data_characterisation(results),
        "weights_label": doc["weights_label"],
        "weights_sha256": model.weights_sha256 or "not recorded",
        "name": model.name or "",
        "version": model.version or "",
    }
    card = card_model(results)
    if card is None:  # external predictions: valkit has no card to describe
        return {
            **common,
            "external": True,
            "intended_use": NOT_IN_CARD,
            "finding": NOT_IN_CARD,
            "inputs": [{"key": "Modality, body part, view, DICOM constraints", "value": NOT_IN_CARD}],
            "output": NOT_IN_CARD,
            "positive_label": "",
            "architecture": NOT_IN_CARD,
            "tuning": "",
            "training": [{"key": "Training data", "value": NOT_IN_CARD}],
            "card_sha256": None,
        }
    return {
        **common,
        "external": False,
        "intended_use": card.intended_use or NOT_IN_CARD,
        "finding": card.finding or NOT_IN_CARD,
        "inputs": _inputs(card),
        "output": output_text(card.output) or NOT_IN_CARD,
        "positive_label": (card.output.positive_label if card.output is not None else None) or card.finding or "",
        "architecture": architecture_text(card),
        "tuning": _tuning_text(card, results),
        "training": _training(card),
        "card_sha256": _card_digest(results, card) or "not recorded",
    }
