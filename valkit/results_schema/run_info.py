"""What a run was given and how it ran: the protocol echo, the model, inference, provenance,
tool validation, the per-case listing."""
from __future__ import annotations

from typing import Any, Literal

from valkit.protocol import Protocol
from valkit.results_schema.base import Block, Num, Untyped


class ProtocolEcho(Protocol):
    """The protocol as validated (:class:`valkit.protocol.Protocol`), with its file and digest."""

    path: str
    sha256: str


class ModelOutput(Block):
    """The card's ``output``: how the network's logits become the score."""

    activation: Literal["sigmoid", "softmax"]
    positive_label: str | None = None
    classes: list[str] | None = None
    positive_class: str | None = None


class ThresholdTuning(Block):
    """The card's ``threshold`` tuning record: cases, and sensitivity/specificity at the chosen threshold."""

    tuning_n: int | None = None
    tuning_sensitivity: float | None = None
    tuning_specificity: float | None = None


class ModelAccepts(Block):
    """The card's ``accepts``: the images the model scores (others are excluded from the run, with a reason)."""

    modalities: list[str] | None = None
    photometric_interpretations: list[str] | None = None
    min_rows: int = 1
    min_columns: int = 1
    body_parts: list[str] | None = None
    views: list[str] | None = None


class ModelCardModel(Block):
    """``model`` for a model run inside valkit from its card (``models/<id>/model.yaml``)."""

    kind: Literal["model_card"]
    card_path: str
    id: str
    name: str
    version: str
    finding: str
    intended_use: str
    architecture: str
    format: Literal["monai", "torchvision", "torchscript", "onnx", "monai_bundle"] = "monai"
    architecture_params: dict[str, Any]
    output: ModelOutput | None = None  # sigmoid logit, or softmax with the positive class
    details: Untyped | None = None  # format specifics (ONNX providers, a MONAI bundle's network_def); run-time
    input_size: list[int]
    window: str
    weights_file: str
    weights_sha256: str
    threshold: float
    threshold_rule: str
    threshold_tuning_set: str | None
    limitations: list[str]
    training: Untyped | None
    explainability_target_layer: str | None
    # issue #15 (model card section); absent in runs written before it
    threshold_tuning: ThresholdTuning | None = None
    accepts: ModelAccepts | None = None
    card_sha256: str | None = None


class ExternalPredictionsModel(Block):
    """``model`` for a vendor's scores read from a file (protocol key ``predictions``)."""

    kind: Literal["external_predictions"]
    name: str
    version: str
    predictions_path: str
    weights_sha256: str  # the digest of the scores file stands in for weights
    threshold: float | None
    threshold_rule: str


class DecoderChoice(Block):
    """The pixel decoder chosen for one transfer syntax (``inference.pixel_decoder: fastest``)."""

    name: str | None
    chosen: str | None
    n_files: int | None
    reason: str | None


class DecoderUse(Block):
    """How many predictions one pixel decoder made for one transfer syntax (recorded per prediction)."""

    transfer_syntax: str
    decoder: str
    n: int


class Inference(Block):
    """``inference``: how the model was run. Empty (``{}``) for external predictions."""

    device: str | None = None
    seconds: float | None = None
    resumed_rows: int | None = None
    rescored: dict[str, int] | None = None  # stale saved predictions scored again, by reason
    preprocessing_sha256: str | None = None
    batch_size: int | None = None
    num_workers: int | None = None
    pixel_decoder: str | None = None
    executor: str | None = None  # local (DataLoader workers) or ray (Ray Data; docs/scale.md)
    decoders: dict[str, DecoderChoice] | None = None  # this session's choice, by transfer syntax UID
    decoders_used: list[DecoderUse] | None = None  # from each prediction's recorded decoder (reused ones too)


class ManifestDigest(Block):
    path: str
    sha256: str
    rows: int
    site: str | None
    notes: list[str]
    pseudonym_keys: list[str] = []  # fingerprints of the keys that made its pseudonyms (never the keys)


class ValkitVersion(Block):
    version: str
    commit: str | None
    dirty: bool | None


class Hardware(Block):
    os: str
    python: str
    cpu: str
    cpu_count: int | None
    device: str | None
    gpu: str | None
    cuda: str | None
    driver: str | None


class TemplateOverride(Block):
    """A protocol's own report templates (``report.templates``): the folder and each file's sha256."""

    folder: str
    files: dict[str, str]


class Provenance(Block):
    """``provenance``: every input's digest, the software and the hardware of the run."""

    protocol_sha256: str
    manifests: list[ManifestDigest]
    model_weights_sha256: str
    predictions_sha256: str | None
    valkit: ValkitVersion
    packages: dict[str, str | None]
    hardware: Hardware
    seed: int
    report_templates: TemplateOverride | None = None
    started_utc: str
    finished_utc: str
    seconds: float


class ToolCheck(Block):
    """One published value re-derived by this installation (:mod:`valkit.selfcheck`)."""

    id: str
    quantity: str
    source: str
    expected: float
    obtained: Num
    rule: str
    passed: bool
    error: str | None = None  # a check that crashed: its reason


class ToolValidation(Block):
    """``tool_validation``: the self-check of the statistics engine."""

    verdict: Literal["PASS", "FAIL"]
    n: int
    n_passed: int
    seconds: float
    statement: str
    checks: list[ToolCheck]


class PerCaseListing(Block):
    """``per_case_listing``: the file beside results.json with one row per manifest row."""

    file: str
    columns: list[str]
    identifiers: IdentifierKinds | None = None  # how the ids the outputs carry were made


class IdentifierKinds(Block):
    """Whether case and patient ids are keyed pseudonyms (valkit made them), or the user's own."""

    case_ids: Literal["keyed_pseudonym", "supplied", "unkeyed_pseudonym", "mixed"] | str
    patient_ids: Literal["keyed_pseudonym", "supplied", "unkeyed_pseudonym", "mixed"] | str
    pseudonym_keys: list[str]


__all__ = ["DecoderChoice", "ExternalPredictionsModel", "Hardware", "Inference", "ManifestDigest",
           "ModelCardModel", "PerCaseListing", "ProtocolEcho", "Provenance", "ToolCheck", "ToolValidation",
           "ValkitVersion"]
