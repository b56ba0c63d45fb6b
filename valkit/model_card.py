"""Model cards: ``models/<id>/model.yaml`` parsed into a frozen, validated :class:`ModelCard`.

A model card is data only. ``architecture.format`` says how its file becomes a network
(:data:`FORMATS`: a whitelisted MONAI or torchvision constructor with a state dict, a TorchScript
or ONNX graph, a MONAI bundle read as data); a card never names an import path that would be
resolved at run time, so it cannot execute code or load arbitrary classes. Unknown keys are
errors (a typo in a card must never be silently ignored), and every error names the card file,
the line and the key path (:mod:`valkit.model_card_problems`), e.g.::

    models/demo/model.yaml:9: architecture.family: unknown architecture 'DenseNet12'.
    Did you mean 'monai.networks.nets.DenseNet121'? Valid: ...

This module imports neither torch nor MONAI: parsing a card is cheap. The model is loaded and
its file's sha256 checked in :mod:`valkit.predictor` (formats: :mod:`valkit.models`).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    JsonValue,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from valkit.digests import file_sha256
from valkit.strict_model import StrictModel
from valkit.suggest import did_you_mean_or_list as _did_you_mean
from valkit.models.architectures import (
    ARCHITECTURES,
    FORMATS,
    TORCHVISION_ARCHITECTURES,
    WEIGHTS_SUFFIXES as FORMAT_SUFFIXES,
    ArchitectureSpec,
    architectures_for,
)

__all__ = [
    "ARCHITECTURES",
    "Accepts",
    "FORMATS",
    "TORCHVISION_ARCHITECTURES",
    "ArchitectureSpec",
    "ModelCard",
    "PreprocessingSpec",
    "file_sha256",
]

SCHEMA_VERSION = 1
WEIGHTS_SUFFIXES = tuple(dict.fromkeys(s for suffixes in FORMAT_SUFFIXES.values() for s in suffixes))


def _custom(kind: str, message: str) -> PydanticCustomError:
    # message travels in the context so braces in it are not taken as a template
    return PydanticCustomError(kind, "{message}", {"message": message})


_Frozen = StrictModel  # valkit's one strict base (frozen, unknown keys rejected)


def _inside_folder(value: str, what: str) -> str:
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        raise _custom(f"{what}_path", f"'{value}' must be a path relative to the card's folder, inside it.")
    return value


class Architecture(_Frozen):
    """How the card's file becomes a network: its format, and for MONAI/torchvision the whitelisted constructor.

    ``in_channels`` and ``out_channels`` state the network's input and output contract for
    every format; for graphs (TorchScript, ONNX) and bundles they are checked against the
    loaded model.
    """

    format: str = Field("monai", description="monai | torchvision | torchscript | onnx | monai_bundle")
    family: str | None = Field(None, validate_default=True,
                               description="whitelisted constructor (formats monai and torchvision only)")
    bundle: str | None = Field(None, description="MONAI bundle folder, relative to the card (format monai_bundle)")
    spatial_dims: Literal[2] = 2
    in_channels: Annotated[int, Field(ge=1, le=4)]
    out_channels: Annotated[int, Field(ge=1, le=1000)] = Field(
        description="1 logit (output.activation sigmoid) or one logit per class (softmax)")
    params: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise _custom("unknown_format", f"unknown model format '{value}'." + _did_you_mean(value, FORMATS))
        return value

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str | None, info: ValidationInfo) -> str | None:
        fmt = info.data.get("format")
        if fmt is None:  # already reported as an unknown format
            return value
        whitelist = architectures_for(fmt)
        if not whitelist:
            if value is not None:
                raise _custom("unused_family", f"format '{fmt}' takes no family: the network comes from the "
                              f"{'bundle' if fmt == 'monai_bundle' else 'model file'} itself. Remove architecture.family.")
            return value
        if value is None:
            raise _custom("missing_family", f"format '{fmt}' needs a family." + _did_you_mean("", whitelist))
        if value not in whitelist:
            raise _custom("unknown_architecture", f"unknown architecture '{value}'." + _did_you_mean(value, whitelist))
        return value

    @field_validator("bundle")
    @classmethod
    def _bundle_folder(cls, value: str | None) -> str | None:
        return None if value is None else _inside_folder(value, "bundle")

    @field_validator("params")
    @classmethod
    def _known_params(cls, params: dict[str, JsonValue], info: ValidationInfo) -> dict[str, JsonValue]:
        fmt, family = info.data.get("format"), info.data.get("family")
        if fmt is not None and not architectures_for(fmt) and params:
            raise _custom("unused_params", f"format '{fmt}' takes no params: the network comes from the "
                          f"{'bundle' if fmt == 'monai_bundle' else 'model file'} itself. Remove architecture.params.")
        if fmt is None or family is None:  # already reported
            return params
        spec = architectures_for(fmt)[family]
        for name in params:
            if name in ("spatial_dims", "in_channels", "out_channels", *filter(None, spec.channel_args)):
                raise _custom("duplicate_param", f"'{name}' is set by architecture.spatial_dims/in_channels/out_channels, "
                              "not in params. Remove it from params.")
            if name not in spec.params:
                raise _custom(
                    "unknown_param",
                    f"'{family}' takes no parameter '{name}' in a card." + _did_you_mean(name, spec.params),
                )
        return params

    @property
    def spec(self) -> ArchitectureSpec:
        """The whitelisted constructor (formats monai and torchvision only)."""
        if self.family is None:
            raise ValueError(f"format '{self.format}' has no whitelisted constructor")
        return architectures_for(self.format)[self.family]


class Window(_Frozen):
    """How stored pixel values become display intensities in [0, 1].

    ``source``: ``dicom`` uses the file's VOI LUT Sequence, else its Window Center/Width
    (first value, honouring VOI LUT Function), else falls back to the ``percentiles``
    window; ``percentile`` always uses the image's own percentiles; ``fixed`` uses
    ``center`` and ``width`` from the card (after the Modality LUT, e.g. in HU).
    """

    source: Literal["dicom", "percentile", "fixed"] = "dicom"
    percentiles: tuple[float, float] = (0.5, 99.5)
    center: float | None = None
    width: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Window:
        low, high = self.percentiles
        if not 0.0 <= low < high <= 100.0:
            raise _custom("bad_percentiles", f"percentiles: expected 0 <= low < high <= 100, found [{low}, {high}].")
        if self.source == "fixed" and (self.center is None or self.width is None):
            raise _custom("fixed_window", "source 'fixed' needs both 'center' and 'width'.")
        if self.source != "fixed" and (self.center is not None or self.width is not None):
            raise _custom("unused_window", f"'center'/'width' are only used with source 'fixed', not '{self.source}'.")
        return self


class Normalization(_Frozen):
    """After windowing (values in [0, 1]): ``none``, ``fixed`` (x - mean) / std, or ``image_zscore``."""

    method: Literal["none", "fixed", "image_zscore"] = "none"
    mean: float | None = None
    std: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Normalization:
        if (self.method == "fixed") != (self.mean is not None and self.std is not None):
            raise _custom("normalization", "'mean' and 'std' are required with method 'fixed' and only allowed there.")
        return self


class PreprocessingSpec(_Frozen):
    """Everything between a DICOM file and the network's input tensor (see :mod:`valkit.preprocess`)."""

    window: Window = Field(default_factory=Window)
    invert_monochrome1: bool = True
    color: Literal["reject", "luminance"] = "reject"
    size: tuple[Annotated[int, Field(ge=8, le=2048)], Annotated[int, Field(ge=8, le=2048)]]
    resize: Literal["bilinear", "area", "bicubic"] = "bilinear"
    normalization: Normalization = Field(default_factory=Normalization)
    channels: Annotated[int, Field(ge=1, le=4)] = 1

    @field_validator("size", mode="before")
    @classmethod
    def _two_sides(cls, value: Any) -> Any:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise _custom("size", f"expected [height, width] in pixels, e.g. [128, 128]; found {value!r}.")
        return value

    @property
    def sha256(self) -> str:
        """A stable digest of these settings, recorded with every prediction made under them.

        It hashes the canonical JSON of every field, defaults included, so a card that spells
        out a default and one that omits it give the same digest, and key order in the YAML
        does not matter. The pixel decoder is not part of it: valkit only picks among decoders
        whose output is identical (:mod:`valkit.latency.decoders`).

        Examples
        --------
        >>> a = PreprocessingSpec(size=(64, 64))
        >>> a.sha256 == PreprocessingSpec(size=[64, 64], resize="bilinear").sha256
        True
        >>> a.sha256 == PreprocessingSpec(size=(64, 64), resize="area").sha256
        False
        """
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class Output(_Frozen):
    """How the network's logits become one score in [0, 1] for the finding.

    ``sigmoid``: one logit, score = sigmoid(logit). ``softmax``: one logit per name in
    ``classes`` (in the network's output order), score = the softmax probability of
    ``positive_class``.
    """

    activation: Literal["sigmoid", "softmax"] = "sigmoid"
    positive_label: str | None = Field(None, description="what a positive score means (required with sigmoid)")
    classes: tuple[str, ...] | None = Field(None, description="softmax only: the class names, in output order")
    positive_class: str | None = Field(None, description="softmax only: the class whose probability is the score")

    @property
    def positive_index(self) -> int:
        """The output column whose probability is the score (0 for a single sigmoid logit)."""
        if self.activation == "softmax" and self.classes and self.positive_class in self.classes:
            return self.classes.index(self.positive_class)
        return 0

    @property
    def label(self) -> str:
        """What a positive score means: ``positive_label``, else the positive class's name."""
        return self.positive_label or self.positive_class or ""


_RULE = re.compile(r"^(youden|fixed|(sensitivity|specificity)>=(0(\.\d+)?|1(\.0+)?))$")


class Threshold(_Frozen):
    """The operating point: ``value`` on the probability scale and how it was chosen."""

    value: Annotated[float, Field(ge=0.0, le=1.0)]
    rule: str = Field(description="youden | fixed | sensitivity>=0.85 | specificity>=0.9")
    tuning_set: str
    tuning_n: Annotated[int, Field(ge=0)] | None = None
    tuning_sensitivity: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    tuning_specificity: Annotated[float, Field(ge=0.0, le=1.0)] | None = None

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        compact = value.replace(" ", "")
        if not _RULE.match(compact):
            raise _custom(
                "unknown_rule",
                f"unknown threshold rule '{value}'. Expected 'youden', 'fixed', "
                "'sensitivity>=0.85' or 'specificity>=0.90' (any target in [0, 1]).",
            )
        return compact


class Weights(_Frozen):
    file: str
    sha256: str

    @field_validator("sha256", mode="before")
    @classmethod
    def _hex_digest(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise _custom("sha256", f"expected a quoted string of 64 hex digits, found the {type(value).__name__} "
                          f"{value!r}; put the digest in quotes in the YAML.")
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise _custom(
                "sha256", f"expected 64 lowercase hex digits (the output of `sha256sum <weights>`), found '{value}'."
            )
        return value

    @field_validator("file")
    @classmethod
    def _relative_known_format(cls, value: str) -> str:
        path = Path(_inside_folder(value, "weights"))
        if path.suffix not in WEIGHTS_SUFFIXES:
            raise _custom(
                "weights_format",
                f"'{value}': unsupported weights format '{path.suffix}'. Use .safetensors (preferred) "
                "or a torch state dict saved as .pt/.pth (loaded with weights_only=True); a TorchScript "
                "graph (.ts) or an ONNX graph (.onnx) with the matching architecture.format.",
            )
        return value


def _upper_terms(value: Any) -> Any:
    # DICOM code strings are upper case; a card may write them either way
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip().upper() for v in value)
    return value


class Accepts(_Frozen):
    """The images the model is meant to score, judged from the DICOM header before decoding.

    An image outside these is *excluded* (a row with status ``excluded`` and its reason),
    not scored and not counted as a failure. Every field is optional; an omitted field
    accepts anything. ``body_parts`` (Body Part Examined, 0018,0015) and ``views`` (View
    Position, 0018,5101) are checked only where the header has them: many archives leave
    them empty.
    """

    modalities: tuple[str, ...] | None = Field(None, description="Modality (0008,0060), e.g. [DX, CR]")
    photometric_interpretations: tuple[str, ...] | None = Field(
        None, description="Photometric Interpretation (0028,0004), e.g. [MONOCHROME1, MONOCHROME2]")
    min_rows: Annotated[int, Field(ge=1)] = 1
    min_columns: Annotated[int, Field(ge=1)] = 1
    body_parts: tuple[str, ...] | None = Field(None, description="Body Part Examined, e.g. [CHEST]")
    views: tuple[str, ...] | None = Field(None, description="View Position, e.g. [PA, AP]")

    @field_validator("modalities", "photometric_interpretations", "body_parts", "views", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return _upper_terms(value)


class Explainability(_Frozen):
    target_layer: str = Field(description="dotted module name for Grad-CAM, as in network.named_modules()")


class Training(_Frozen):
    """Provenance: enough to rerun training and to show that test data was not used."""

    script: str
    seed: int
    data: str
    data_seeds: dict[str, list[int]] = Field(default_factory=dict)
    n_images: dict[str, int] = Field(default_factory=dict)
    tuning_auc: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    excluded_seeds: list[int] = Field(default_factory=list)
    notes: str | None = None


class ModelCard(_Frozen):
    """A validated model card. Build with :func:`load_model_card`; paths resolve against the card's folder."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    name: str
    version: str
    finding: str
    intended_use: str
    architecture: Architecture
    preprocessing: PreprocessingSpec
    output: Output
    threshold: Threshold
    weights: Weights
    accepts: Accepts = Field(default_factory=Accepts)
    explainability: Explainability | None = None
    training: Training | None = None
    limitations: list[str] = Field(default_factory=list)

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """The card file this was read from (``None`` if built from a dict)."""
        return self._path

    @property
    def card_sha256(self) -> str | None:
        """sha256 of the card file's bytes, for provenance in results.json."""
        return self._sha256

    @property
    def folder(self) -> Path:
        """The card's folder: weights and bundle paths are relative to it."""
        return self._path.parent if self._path is not None else Path.cwd()

    @property
    def weights_path(self) -> Path:
        return self.folder / self.weights.file

    @property
    def bundle_path(self) -> Path | None:
        """The MONAI bundle folder (format ``monai_bundle``), else ``None``."""
        return None if self.architecture.bundle is None else self.folder / self.architecture.bundle
