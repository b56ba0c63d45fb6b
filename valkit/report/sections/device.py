"""Device and model, regulatory basis, and index test execution.

These sections read the typed results (:class:`~valkit.results_schema.Results`, as every section of
:data:`valkit.report.context.SECTIONS`). A model run from its card and a vendor's external scores are
two kinds of ``model`` block: what only a card records is read from :class:`ModelCardModel` alone.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from valkit.report.formatting import count, file_name
from valkit.report.sections.training_data import training_data
from valkit.results_schema.run_info import Inference, ModelCardModel, ModelOutput

if TYPE_CHECKING:
    from valkit.results_schema import Results

OP_SOURCES = {
    "model_card": "taken from the model card, where it was fixed before the test data were opened",
    "fixed": "fixed in the protocol before the run",
    "choose_on_test_data": "chosen on the test data themselves (exploratory: estimates at this threshold "
                           "are optimistic)",
    "external": "supplied by the manufacturer with the external predictions (not chosen by valkit)",
}

REGULATIONS = {
    "21 CFR 892.2050": "Medical image management and processing system",
    "21 CFR 892.2060": "Radiological computer-assisted diagnostic software for lesions suspicious of cancer",
    "21 CFR 892.2070": "Medical image analyzer",
    "21 CFR 892.2080": "Radiological computer aided triage and notification software",
    "21 CFR 892.2090": "Radiological computer-assisted detection and diagnosis software",
}

GUIDANCES = {
    "FDA": [
        "FDA, Statistical Guidance on Reporting Results from Studies Evaluating Diagnostic Tests (2007)",
        "FDA, Computer-Assisted Detection Devices Applied to Radiology Images and Radiology Device Data — "
        "Premarket Notification [510(k)] Submissions (2022)",
        "FDA, Clinical Performance Assessment: Considerations for Computer-Assisted Detection Devices Applied to "
        "Radiology Images and Radiology Device Data in Premarket Notification [510(k)] Submissions (2022)",
        "FDA, Artificial Intelligence-Enabled Device Software Functions: Lifecycle Management and Marketing "
        "Submission Recommendations (draft, January 2025)",
    ],
    "CDSCO": [
        "Medical Devices Rules, 2017 (India): Device Master File and Essential Principles checklist",
        "CDSCO draft guidance document on medical device software (October 2025)",
    ],
    "reporting": [
        "STARD 2015: reporting of diagnostic accuracy studies",
        "CLAIM 2024: checklist for artificial intelligence in medical imaging (2024 update, 44 items)",
        "TRIPOD+AI 2024: reporting of clinical prediction models that use machine learning",
    ],
}

# the appendix that cross-references each reporting guideline, item by item (valkit.report.checklists)
REPORTING_APPENDIX = {"STARD 2015": "stard-checklist", "CLAIM": "claim-checklist", "TRIPOD+AI": "tripod-ai-checklist"}
SPONSOR_RATIONALE = "rationale to be supplied by the sponsor"


#: the model card's preprocessing.window.source, in words
WINDOW_WORDS = {
    "dicom": "from each image's DICOM header (its display lookup table, else its window centre and width; the image's "
             "own intensity percentiles set in the model card when the header has neither)",
    "percentile": "each image's own intensity percentiles (set in the model card)",
    "fixed": "a fixed window centre and width set in the model card",
}

def _kv(pairs: list[tuple[str, Any]]) -> list[dict[str, str]]:
    return [{"key": k, "value": str(v)} for k, v in pairs if v not in (None, "", [], {})]


_FORMAT_LABELS = {"monai": "MONAI network + state dict", "torchvision": "torchvision classifier + state dict",
                  "torchscript": "TorchScript graph", "onnx": "ONNX graph (onnxruntime)", "monai_bundle": "MONAI bundle"}


def card_model(results: "Results") -> ModelCardModel | None:
    """The model block of a model run from its card; ``None`` for external predictions (they carry no card)."""
    return results.model if isinstance(results.model, ModelCardModel) else None


def output_text(output: ModelOutput | None) -> str | None:
    """'sigmoid of one logit' or 'softmax over a, b; score = probability of b' (both sections print it).

    >>> output_text(ModelOutput(activation="softmax", classes=["no nodule", "nodule"], positive_class="nodule"))
    'softmax over no nodule, nodule; score = probability of nodule'
    """
    if output is None:
        return None
    if output.activation == "softmax":
        return f"softmax over {', '.join(output.classes or [])}; score = probability of {output.positive_class}"
    return "sigmoid of one logit"


def params_text(params: dict, *, sep: str = ", ") -> str:
    """Constructor parameters in words: ``{"init_features": 8}`` -> 'init features 8'.

    >>> params_text({"init_features": 8, "block_config": [1, 1]})
    'block config [1, 1], init features 8'
    """
    return sep.join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(params.items()))


def architecture_text(model: ModelCardModel) -> str:
    """'monai.networks.nets.DenseNet (MONAI network + state dict; init features 8, ...)' (both sections print it)."""
    fmt = _FORMAT_LABELS.get(model.format, model.format)
    inner = "; ".join(filter(None, [fmt, params_text(model.architecture_params)]))
    return f"{model.architecture or 'not recorded'}" + (f" ({inner})" if inner else "")


def _op_source(results: "Results") -> tuple[str, str | None]:
    op = results.operating_point
    source, rule = op.source, op.rule
    if card_model(results) is None and source == "model_card":  # the vendor's threshold
        source, rule = "external", None
    return source, rule


def rule_text(rule: str) -> str:
    """A threshold rule in words: 'sensitivity>=0.85' -> 'the threshold giving sensitivity of at least 85% on the
    tuning data'.

    >>> rule_text("youden")
    "maximum Youden's J (sensitivity + specificity − 1)"
    """
    if rule == "youden":
        return "maximum Youden's J (sensitivity + specificity − 1)"
    if ">=" in rule:
        metric, target = rule.split(">=", 1)
        try:
            return f"the threshold giving {metric} of at least {float(target):.0%} on the tuning data"
        except ValueError:
            return rule
    return rule


def _tuning_set(results: "Results", source: str) -> str | None:
    """The card's tuning set, when the threshold came from the card."""
    card = card_model(results)
    return card.threshold_tuning_set if source == "model_card" and card is not None else None


def operating_point_text(results: "Results") -> str:
    """One sentence: the threshold, the positive call and how the threshold was chosen (both sections),
    e.g. 'A case is called positive when its score is at least 0.3; the threshold was fixed in the protocol
    before the run.'"""
    source, rule = _op_source(results)
    text = (f"A case is called positive when its score is at least {results.operating_point.threshold}; the "
            f"threshold was {OP_SOURCES.get(source, source)}")
    if rule:
        text += f" (rule: {rule_text(rule)})"
    tuning_set = _tuning_set(results, source)
    if tuning_set:
        text += f"; tuning set: {tuning_set}"
    return text + "."


def _model_rows(results: "Results") -> list[dict[str, str]]:
    model, card = results.model, card_model(results)
    if card is None:  # external predictions: the file is all valkit knows of the model
        return _kv([("Name", model.name), ("Version", model.version), ("Predictions file", model.predictions_path)])
    size = card.input_size
    return _kv([
        ("Name", card.name),
        ("Version", card.version),
        ("Identifier", card.id),
        ("Finding detected", card.finding),
        ("Architecture", card.architecture),
        ("Model format", _FORMAT_LABELS.get(card.format, card.format)),
        ("Architecture parameters (as given to the network's constructor)",
         params_text(card.architecture_params, sep="; ")),
        ("Output", output_text(card.output)),
        ("Input size (pixels)", " × ".join(str(v) for v in size) if size else None),
        ("Intensity window", WINDOW_WORDS.get(card.window, card.window)),
        ("Weights file", card.weights_file),
        ("Explainability target layer", card.explainability_target_layer),
        ("Model card file", file_name(card.card_path)),
    ])


def device_and_model(results: "Results", doc: dict) -> dict:
    model, card = results.model, card_model(results)
    op = results.operating_point
    rows = _model_rows(results)
    source, rule = _op_source(results)
    rows.append({"key": doc["weights_label"], "value": model.weights_sha256 or "not recorded", "cls": "hash"})
    training_rows = training_data(results).rows  # one source with the test-data independence statement
    return {
        "external": card is None,
        "rows": rows,
        "training": training_rows,
        "digest": model.weights_sha256 or "",
        "digest_label": doc["weights_label"],
        "threshold": op.threshold,
        "op_text": operating_point_text(results),
        "op_source": OP_SOURCES.get(source, source),
        "op_rule": rule,
        "op_note": doc["exploratory_note"],
        "tuning_set": _tuning_set(results, source),
        "exploratory": op.exploratory,
        "positive_rule": results.methods.positive_rule,
        "limitations": [] if card is None else list(card.limitations),
    }


def regulatory_basis(results: "Results", doc: dict) -> dict | None:
    reg = results.protocol.regulatory
    targets = reg.targets
    if not targets:
        return None
    fda, cdsco = reg.fda, reg.cdsco
    reg_no = None if fda is None else fda.regulation_number
    guidances = [g for t in targets for g in GUIDANCES.get(t, [])]
    # a reporting guideline is listed as followed only with its item-by-item appendix
    # (the appendices are built whenever the endpoints are, see valkit.report.context.SECTIONS)
    appendices = results.endpoints is not None
    reporting = [{"text": g, "anchor": next(a for k, a in REPORTING_APPENDIX.items() if g.startswith(k))
                  if appendices else None} for g in GUIDANCES["reporting"]]
    cross = {"FDA": "fda-cross-reference", "CDSCO": "cdsco-cross-reference"}
    return {
        "fda": "FDA" in targets,
        "cdsco": "CDSCO" in targets,
        "fda_rows": [] if fda is None else _kv([
            ("Submission type", fda.submission_type),
            ("Product code", fda.product_code),
            ("Regulation", f"{reg_no} — {REGULATIONS[reg_no]}" if reg_no in REGULATIONS else reg_no),
        ]),
        # without a cdsco block the class rationale is still the sponsor's to supply
        "cdsco_rows": _kv([("Class rationale", SPONSOR_RATIONALE)]) if cdsco is None else _kv([
            ("Device class", cdsco.device_class),
            ("Class rationale", cdsco.class_rationale or SPONSOR_RATIONALE),
            ("Application", cdsco.application),
        ]),
        "guidances": guidances,
        "reporting": reporting,
        "cross_references": [{"target": t, "anchor": cross[t]} for t in targets if t in cross and appendices],
    }


# why a saved prediction was not reused (results.json inference.rescored; valkit.runner.RESCORE_REASONS):
# (plural, singular) clauses
RESCORE_REASONS = {
    "image_changed": ("their image had changed", "its image had changed"),
    "model_or_preprocessing_changed": ("the model weights or the preprocessing settings had changed",) * 2,
    "saved_without_digests": ("they were saved without the image and preprocessing digests that valkit now "
                              "checks (an older version)",
                              "it was saved without the image and preprocessing digests that valkit now "
                              "checks (an older version)"),
}


def rescored_text(inf: Inference) -> str | None:
    """One sentence on the saved predictions that were stale and scored again; None when there were none.

    >>> rescored_text(Inference(rescored={"image_changed": 3, "model_or_preprocessing_changed": 0}))
    '3 predictions from an earlier run were not reused because their image had changed; they were re-scored.'
    >>> rescored_text(Inference(rescored={"image_changed": 0})) is None
    True
    """
    reasons = {k: int(n) for k, n in (inf.rescored or {}).items() if n}
    if not reasons:
        return None
    clause = {k: RESCORE_REASONS.get(k, (f"of '{k}'",) * 2) for k in reasons}
    total = sum(reasons.values())
    if len(reasons) == 1:
        (key, n), = reasons.items()
        if n == 1:
            return f"1 prediction from an earlier run was not reused because {clause[key][1]}; it was re-scored."
        return f"{count(n)} predictions from an earlier run were not reused because {clause[key][0]}; " \
               "they were re-scored."
    parts = ", ".join(f"{count(n)} because {clause[k][0]}" for k, n in reasons.items())
    return f"{count(total)} predictions from an earlier run were not reused and were re-scored: {parts}."


def _decoders_text(inf: Inference) -> str | None:
    """'JPEG 2000 (lossless): pylibjpeg; Explicit VR Little Endian: native' or pydicom's default."""
    if inf.pixel_decoder == "pydicom_default":
        return "pydicom's default plugin order"
    if inf.decoders_used:  # recorded with each prediction: right for reused predictions too
        return "; ".join(f"{u.transfer_syntax or 'unknown syntax'}: {u.decoder} ({count(u.n)})"
                         for u in inf.decoders_used) + " (decoder per prediction; the fastest installed plugin "\
                                                       "with identical output, timed on sample files, when valkit "\
                                                       "chose it)"
    if inf.decoders is None and inf.pixel_decoder == "fastest":
        return "not chosen: every prediction was reused from an earlier run"
    if not inf.decoders:
        return None
    return "; ".join(f"{c.name or uid}: {c.chosen or 'none installed'}" for uid, c in inf.decoders.items()) + \
        " (fastest installed plugin with identical output, timed on sample files)"


def index_test(results: "Results", doc: dict) -> dict:
    inf = results.inference
    prov = results.provenance
    hw = prov.hardware
    flow = results.data.flow
    run_rows = _kv([
        ("Run started (UTC)", prov.started_utc),
        ("Run finished (UTC)", prov.finished_utc),
        ("Whole run, seconds", prov.seconds),
        ("Inference device", inf.device),
        ("Inference time, seconds", inf.seconds),
        ("Batch size", inf.batch_size),
        ("Data-loading workers", inf.num_workers),
        ("Predictions reused from an earlier run (resume)",
         count(inf.resumed_rows) if inf.resumed_rows is not None else None),
        ("Pixel decoders", _decoders_text(inf)),
        ("Threshold", results.operating_point.threshold),
        ("Positive call", results.methods.positive_rule),
    ])
    hw_rows = _kv([
        ("Operating system", hw.os),
        ("Python", hw.python),
        ("CPU", f"{hw.cpu} ({hw.cpu_count} logical cores)" if hw.cpu else None),
        ("GPU", hw.gpu or "none used"),
        ("CUDA", hw.cuda),
        ("GPU driver", hw.driver),
    ])
    return {
        "external": card_model(results) is None,
        "run_rows": run_rows,
        "hw_rows": hw_rows,
        "failed": count(flow.failed),
        "reasons": [{"reason": r.reason, "n": count(r.n)} for r in flow.failure_reasons],
        "resumed": inf.resumed_rows,
        "rescored": rescored_text(inf),
    }
