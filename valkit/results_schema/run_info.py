"""What a run was given and how it ran: the protocol echo, the model, inference, provenance,
tool validation, the per-case listing."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, JsonValue, Tag, model_validator

from valkit.protocol import Protocol
from valkit.results_schema.base import Block, Num


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


class OnnxDetails(Block):
    """``model.details`` of an ONNX graph (:mod:`valkit.models.onnx_graph`): how onnxruntime ran it."""

    onnx_providers: list[str]  # the execution providers the session used, in order (CPUExecutionProvider, ...)
    onnx_input: str  # the graph's one input
    onnx_input_shape: list[int | str]  # a symbolic dimension (the batch) by its name


class BundleDetails(Block):
    """What every MONAI bundle records in ``model.details`` (:mod:`valkit.models.monai_bundle`)."""

    bundle: str  # the bundle folder, as the card names it
    bundle_name: str | None  # configs/metadata.json ``name`` and ``version``, when it has them
    bundle_version: str | None


class BundleNetworkDetails(BundleDetails):
    """A bundle whose network valkit built from ``network_def`` of its config (weights ``models/model.pt``)."""

    # the resolved network_def: ``_target_`` (a whitelisted MONAI network) and its constructor arguments.
    # Free keys on purpose: they are the network's own parameter names, and their values are plain
    # JSON data (valkit follows ``@`` references and refuses code), like ``architecture_params``.
    network_def: dict[str, JsonValue]
    config: str  # the config file, relative to the bundle
    config_sha256: str


class BundleTorchScriptDetails(BundleDetails):
    """A bundle that ships TorchScript (``models/model.ts``): its config is not read."""

    network: str


_DETAILS_TAGS: dict[type[BaseModel], str] = {OnnxDetails: "onnx", BundleNetworkDetails: "bundle_network",
                                              BundleTorchScriptDetails: "bundle_torchscript"}


def _details_kind(value: Any) -> str | None:
    """Which details model ``value`` is written as, told by its keys (the JSON has no tag of its own), so a
    misspelt key is reported against that one model instead of against every format's."""
    if isinstance(value, BaseModel):
        return _DETAILS_TAGS.get(type(value))
    if not isinstance(value, dict):
        return None
    if any(str(k).startswith("onnx") for k in value):
        return "onnx"
    return "bundle_torchscript" if "network" in value else "bundle_network"


#: ``model.details``: the format's own record. One model per format that writes one; the
#: others (monai, torchvision, torchscript) write ``null``.
ModelDetails = Annotated[
    Annotated[OnnxDetails, Tag("onnx")]
    | Annotated[BundleNetworkDetails, Tag("bundle_network")]
    | Annotated[BundleTorchScriptDetails, Tag("bundle_torchscript")],
    Discriminator(_details_kind),
]

#: which details each format writes (checked by :class:`ModelCardModel`)
DETAILS_BY_FORMAT: dict[str, tuple[type[Block], ...]] = {
    "onnx": (OnnxDetails,),
    "monai_bundle": (BundleNetworkDetails, BundleTorchScriptDetails),
}


class TrainingRecord(Block):
    """The card's ``training`` block (:class:`valkit.model_card.Training`), as the pipeline copies it:
    enough to rerun training and to show that the test data were not used."""

    script: str
    seed: int
    data: str
    data_seeds: dict[str, list[int]] = {}  # seeds by split name (train, tuning, ...): optional in the card
    n_images: dict[str, int] = {}  # images by split name
    tuning_auc: float | None = None
    excluded_seeds: list[int] = []
    notes: str | None = None


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
    # format specifics (ONNX providers, a MONAI bundle's network_def), added after inference; null for the
    # formats that have none
    details: ModelDetails | None = None
    input_size: list[int]
    window: str
    weights_file: str
    weights_sha256: str
    threshold: float
    threshold_rule: str
    threshold_tuning_set: str | None
    limitations: list[str]
    training: TrainingRecord | None
    explainability_target_layer: str | None
    # issue #15 (model card section); absent in runs written before it
    threshold_tuning: ThresholdTuning | None = None
    accepts: ModelAccepts | None = None
    card_sha256: str | None = None

    @model_validator(mode="after")
    def _details_match_format(self) -> "ModelCardModel":
        allowed = DETAILS_BY_FORMAT.get(self.format, ())
        if self.details is not None and not isinstance(self.details, allowed):
            raise ValueError(
                f"details: a '{self.format}' model records "
                + (" or ".join(c.__name__ for c in allowed) if allowed else "no details (null)")
                + f", found {type(self.details).__name__} ({', '.join(type(self.details).model_fields)}). "
                "Fix: write the details of the model's own format (valkit.models).")
        return self


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


__all__ = ["BundleDetails", "BundleNetworkDetails", "BundleTorchScriptDetails", "DETAILS_BY_FORMAT",
           "DecoderChoice", "ExternalPredictionsModel", "Hardware", "Inference", "ManifestDigest", "ModelCardModel",
           "ModelDetails", "OnnxDetails", "PerCaseListing", "ProtocolEcho", "Provenance", "ToolCheck",
           "ToolValidation", "TrainingRecord", "ValkitVersion"]
