"""Device and model, regulatory basis, and index test execution."""
from __future__ import annotations

from typing import Any

from valkit.report.formatting import count, file_name
from valkit.report.sections.training_data import training_data

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
        "CLAIM: checklist for artificial intelligence in medical imaging (2020, updated 2024)",
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


def _output_text(output: dict | None) -> str | None:
    """'sigmoid of one logit' or 'softmax over a, b; score = probability of b'."""
    if not output:
        return None
    if output.get("activation") == "softmax":
        return (f"softmax over {', '.join(output.get('classes') or [])}; score = probability of "
                f"{output.get('positive_class')}")
    return "sigmoid of one logit"


output_text = _output_text  # shared with the model card section


def params_text(params: dict, *, sep: str = ", ") -> str:
    """Constructor parameters in words: ``{"init_features": 8}`` -> 'init features 8'.

    >>> params_text({"init_features": 8, "block_config": [1, 1]})
    'block config [1, 1], init features 8'
    """
    return sep.join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(params.items()))


def architecture_text(model: dict) -> str:
    """'monai.networks.nets.DenseNet (MONAI network + state dict; init features 8, ...)' (both sections print it).

    >>> architecture_text({"architecture": "X", "format": "onnx"})
    'X (ONNX graph (onnxruntime))'
    """
    params = model.get("architecture_params") or {}
    fmt = _FORMAT_LABELS.get(model.get("format"), model.get("format"))
    inner = "; ".join(filter(None, [fmt, params_text(params)]))
    return f"{model.get('architecture') or 'not recorded'}" + (f" ({inner})" if inner else "")


def _op_source(results: dict) -> tuple[str, str | None]:
    model = results.get("model") or {}
    op = results.get("operating_point") or {}
    source, rule = op.get("source", ""), op.get("rule")
    if model.get("kind") == "external_predictions" and source == "model_card":  # the vendor's threshold
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


def operating_point_text(results: dict) -> str:
    """One sentence: the threshold, the positive call and how the threshold was chosen (both sections).

    >>> operating_point_text({"operating_point": {"threshold": 0.3, "source": "fixed"}})
    'A case is called positive when its score is at least 0.3; the threshold was fixed in the protocol before the run.'
    """
    op = results.get("operating_point") or {}
    model = results.get("model") or {}
    source, rule = _op_source(results)
    text = (f"A case is called positive when its score is at least {op.get('threshold')}; the threshold was "
            f"{OP_SOURCES.get(source, source)}")
    if rule:
        text += f" (rule: {rule_text(rule)})"
    if source == "model_card" and model.get("threshold_tuning_set"):
        text += f"; tuning set: {model['threshold_tuning_set']}"
    return text + "."


def device_and_model(results: dict, doc: dict) -> dict:
    model = results.get("model") or {}
    op = results.get("operating_point") or {}
    external = model.get("kind") == "external_predictions"
    params = model.get("architecture_params") or {}
    size = model.get("input_size")
    rows = _kv([
        ("Name", model.get("name")),
        ("Version", model.get("version")),
        ("Identifier", model.get("id")),
        ("Finding detected", model.get("finding")),
        ("Architecture", model.get("architecture")),
        ("Model format", _FORMAT_LABELS.get(model.get("format"), model.get("format"))),
        ("Architecture parameters (as given to the network's constructor)",
         params_text(params, sep="; ")),
        ("Output", _output_text(model.get("output"))),
        ("Input size (pixels)", " × ".join(str(v) for v in size) if size else None),
        ("Intensity window", WINDOW_WORDS.get(model.get("window"), model.get("window"))),
        ("Weights file", model.get("weights_file")),
        ("Explainability target layer", model.get("explainability_target_layer")),
        ("Model card file", file_name(model.get("card_path"))),
        ("Predictions file", model.get("predictions_path")),
    ])
    source, rule = _op_source(results)
    rows.append({"key": doc["weights_label"], "value": model.get("weights_sha256") or "not recorded", "cls": "hash"})
    training_rows = training_data(results).rows  # one source with the test-data independence statement
    return {
        "external": external,
        "rows": rows,
        "training": training_rows,
        "digest": model.get("weights_sha256") or "",
        "digest_label": doc["weights_label"],
        "threshold": op.get("threshold"),
        "op_text": operating_point_text(results),
        "op_source": OP_SOURCES.get(source, source),
        "op_rule": rule,
        "op_note": doc["exploratory_note"],
        "tuning_set": model.get("threshold_tuning_set") if source == "model_card" else None,
        "exploratory": bool(op.get("exploratory")),
        "positive_rule": (results.get("methods") or {}).get("positive_rule", "score at or above the threshold"),
        "limitations": list(model.get("limitations") or []),
    }


def regulatory_basis(results: dict, doc: dict) -> dict | None:
    reg = (results.get("protocol") or {}).get("regulatory") or {}
    targets = reg.get("targets") or []
    if not targets:
        return None
    fda = reg.get("fda") or {}
    cdsco = reg.get("cdsco") or {}
    reg_no = fda.get("regulation_number")
    guidances = [g for t in targets for g in GUIDANCES.get(t, [])]
    # a reporting guideline is listed as followed only with its item-by-item appendix
    # (the appendices are built whenever the endpoints are, see valkit.report.context.SECTIONS)
    appendices = results.get("endpoints") is not None
    reporting = [{"text": g, "anchor": next(a for k, a in REPORTING_APPENDIX.items() if g.startswith(k))
                  if appendices else None} for g in GUIDANCES["reporting"]]
    cross = {"FDA": "fda-cross-reference", "CDSCO": "cdsco-cross-reference"}
    return {
        "fda": "FDA" in targets,
        "cdsco": "CDSCO" in targets,
        "fda_rows": _kv([
            ("Submission type", fda.get("submission_type")),
            ("Product code", fda.get("product_code")),
            ("Regulation", f"{reg_no} — {REGULATIONS[reg_no]}" if reg_no in REGULATIONS else reg_no),
        ]),
        "cdsco_rows": _kv([
            ("Device class", cdsco.get("device_class")),
            ("Class rationale", cdsco.get("class_rationale") or SPONSOR_RATIONALE),
            ("Application", cdsco.get("application")),
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


def rescored_text(inf: dict) -> str | None:
    """One sentence on the saved predictions that were stale and scored again; None when there were none.

    >>> rescored_text({"rescored": {"image_changed": 3, "model_or_preprocessing_changed": 0}})
    '3 predictions from an earlier run were not reused because their image had changed; they were re-scored.'
    >>> rescored_text({"rescored": {"image_changed": 0}}) is None
    True
    """
    reasons = {k: int(n) for k, n in (inf.get("rescored") or {}).items() if n}
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


def _decoders_text(inf: dict) -> str | None:
    """'JPEG 2000 (lossless): pylibjpeg; Explicit VR Little Endian: native' or pydicom's default."""
    if inf.get("pixel_decoder") == "pydicom_default":
        return "pydicom's default plugin order"
    used = inf.get("decoders_used")
    if used:  # recorded with each prediction: right for reused predictions too
        return "; ".join(f"{u.get('transfer_syntax') or 'unknown syntax'}: {u.get('decoder')} ({count(u.get('n'))})"
                         for u in used) + " (decoder per prediction; the fastest installed plugin with identical "\
                                         "output, timed on sample files, when valkit chose it)"
    dec = inf.get("decoders")
    if dec is None and inf.get("pixel_decoder") == "fastest":
        return "not chosen: every prediction was reused from an earlier run"
    if not dec:
        return None
    return "; ".join(f"{c.get('name') or uid}: {c.get('chosen') or 'none installed'}" for uid, c in dec.items()) + \
        " (fastest installed plugin with identical output, timed on sample files)"


def index_test(results: dict, doc: dict) -> dict:
    inf = results.get("inference") or {}
    model = results.get("model") or {}
    prov = results.get("provenance") or {}
    hw = prov.get("hardware") or {}
    flow = (results.get("data") or {}).get("flow") or {}
    op = results.get("operating_point") or {}
    run_rows = _kv([
        ("Run started (UTC)", prov.get("started_utc")),
        ("Run finished (UTC)", prov.get("finished_utc")),
        ("Whole run, seconds", prov.get("seconds")),
        ("Inference device", inf.get("device")),
        ("Inference time, seconds", inf.get("seconds")),
        ("Batch size", inf.get("batch_size")),
        ("Data-loading workers", inf.get("num_workers")),
        ("Predictions reused from an earlier run (resume)", count(inf["resumed_rows"]) if "resumed_rows" in inf else None),
        ("Pixel decoders", _decoders_text(inf)),
        ("Threshold", op.get("threshold")),
        ("Positive call", (results.get("methods") or {}).get("positive_rule")),
    ])
    hw_rows = _kv([
        ("Operating system", hw.get("os")),
        ("Python", hw.get("python")),
        ("CPU", f"{hw.get('cpu')} ({hw.get('cpu_count')} logical cores)" if hw.get("cpu") else None),
        ("GPU", hw.get("gpu") or "none used"),
        ("CUDA", hw.get("cuda")),
        ("GPU driver", hw.get("driver")),
    ])
    return {
        "external": model.get("kind") == "external_predictions",
        "run_rows": run_rows,
        "hw_rows": hw_rows,
        "failed": count(flow.get("failed")),
        "reasons": [{"reason": r.get("reason", ""), "n": count(r.get("n"))} for r in flow.get("failure_reasons") or []],
        "resumed": inf.get("resumed_rows"),
        "rescored": rescored_text(inf),
    }
