"""Model cards: ``models/<id>/model.yaml`` parsed into a frozen, validated :class:`ModelCard`.

A model card is data only. It names its network through a whitelist of MONAI
constructors (:data:`ARCHITECTURES`), never through an import path that would be
resolved at run time, so a card cannot execute code or load arbitrary classes.
Unknown keys are errors (a typo in a card must never be silently ignored), and
every error names the card file and the key path, e.g.::

    models/demo/model.yaml: architecture.family: unknown architecture 'DenseNet12'.
    Did you mean 'monai.networks.nets.DenseNet121'? Valid: ...

This module imports neither torch nor MONAI: parsing a card is cheap. The network
is built and the weights are checked in :mod:`valkit.predictor`.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    JsonValue,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from valkit.digests import file_sha256
from valkit.errors import InputError
from valkit.strict_model import StrictModel
from valkit.suggest import did_you_mean
from valkit.yaml_lines import YamlInputError, read_yaml

__all__ = [
    "ARCHITECTURES",
    "Accepts",
    "ArchitectureSpec",
    "ModelCard",
    "PreprocessingSpec",
    "file_sha256",
    "load_model_card",
    "parse_model_card",
]

SCHEMA_VERSION = 1
WEIGHTS_SUFFIXES = (".safetensors", ".pt", ".pth")


@dataclass(frozen=True)
class ArchitectureSpec:
    """One whitelisted network constructor.

    ``attr`` is the attribute of :mod:`monai.networks.nets` that builds it; ``channel_args``
    maps valkit's (spatial_dims, in_channels, out_channels) to the constructor's own
    argument names; ``fixed`` are arguments a card may not change (``pretrained=False``:
    a card never triggers a download); ``params`` are the arguments a card may set.
    """

    attr: str
    channel_args: tuple[str, str, str]
    params: frozenset[str]
    fixed: tuple[tuple[str, Any], ...] = ()


_DENSENET_PARAMS = frozenset({"init_features", "growth_rate", "block_config", "bn_size", "act", "norm", "dropout_prob"})
_RESNET_PARAMS = frozenset({
    "conv1_t_size", "conv1_t_stride", "no_max_pool", "shortcut_type", "widen_factor", "bias_downsample", "act", "norm",
})
_RESNET_CHANNELS = ("spatial_dims", "n_input_channels", "num_classes")

#: The networks a card may name. Keys are the names written in ``architecture.family``.
ARCHITECTURES: dict[str, ArchitectureSpec] = {
    "monai.networks.nets.DenseNet": ArchitectureSpec(
        "DenseNet", ("spatial_dims", "in_channels", "out_channels"), _DENSENET_PARAMS
    ),
    "monai.networks.nets.DenseNet121": ArchitectureSpec(
        "DenseNet121", ("spatial_dims", "in_channels", "out_channels"),
        _DENSENET_PARAMS - {"block_config"}, (("pretrained", False),),
    ),
    "monai.networks.nets.ResNet": ArchitectureSpec(
        "ResNet", _RESNET_CHANNELS, _RESNET_PARAMS | {"block", "layers", "block_inplanes"}
    ),
    "monai.networks.nets.resnet10": ArchitectureSpec("resnet10", _RESNET_CHANNELS, _RESNET_PARAMS, (("pretrained", False),)),
    "monai.networks.nets.resnet18": ArchitectureSpec("resnet18", _RESNET_CHANNELS, _RESNET_PARAMS, (("pretrained", False),)),
    "monai.networks.nets.EfficientNetBN": ArchitectureSpec(
        "EfficientNetBN", ("spatial_dims", "in_channels", "num_classes"),
        frozenset({"model_name", "norm", "adv_prop"}), (("pretrained", False),),
    ),
}


def _did_you_mean(word: str, valid: list[str] | set[str] | frozenset[str]) -> str:
    return f"{did_you_mean(word, valid, cutoff=0.5)} Valid: {', '.join(sorted(valid))}."


def _custom(kind: str, message: str) -> PydanticCustomError:
    # message travels in the context so braces in it are not taken as a template
    return PydanticCustomError(kind, "{message}", {"message": message})


_Frozen = StrictModel  # valkit's one strict base (frozen, unknown keys rejected)


class Architecture(_Frozen):
    """Which whitelisted network, its channels and its constructor parameters."""

    family: str
    spatial_dims: Literal[2]
    in_channels: Annotated[int, Field(ge=1, le=4)]
    out_channels: Literal[1] = Field(description="one logit; the probability is its sigmoid")
    params: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str) -> str:
        if value not in ARCHITECTURES:
            raise _custom("unknown_architecture", f"unknown architecture '{value}'." + _did_you_mean(value, ARCHITECTURES))
        return value

    @field_validator("params")
    @classmethod
    def _known_params(cls, params: dict[str, JsonValue], info: ValidationInfo) -> dict[str, JsonValue]:
        family = info.data.get("family")
        if family is None:  # already reported as an unknown family
            return params
        spec = ARCHITECTURES[family]
        for name in params:
            if name in ("spatial_dims", "in_channels", "out_channels", *spec.channel_args):
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
        return ARCHITECTURES[self.family]


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
    activation: Literal["sigmoid"] = "sigmoid"
    positive_label: str


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
        path = Path(value)
        if path.is_absolute() or ".." in path.parts:
            raise _custom("weights_path", f"'{value}' must be a path relative to the card's folder, inside it.")
        if path.suffix not in WEIGHTS_SUFFIXES:
            raise _custom(
                "weights_format",
                f"'{value}': unsupported weights format '{path.suffix}'. Use .safetensors (preferred) "
                "or a torch state dict saved as .pt/.pth (loaded with weights_only=True).",
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

    @model_validator(mode="after")
    def _channels_agree(self) -> ModelCard:
        if self.preprocessing.channels != self.architecture.in_channels:
            raise _custom(
                "channels",
                f"preprocessing.channels ({self.preprocessing.channels}) must equal "
                f"architecture.in_channels ({self.architecture.in_channels}).",
            )
        return self

    @property
    def path(self) -> Path | None:
        """The card file this was read from (``None`` if built from a dict)."""
        return self._path

    @property
    def card_sha256(self) -> str | None:
        """sha256 of the card file's bytes, for provenance in results.json."""
        return self._sha256

    @property
    def weights_path(self) -> Path:
        base = self._path.parent if self._path is not None else Path.cwd()
        return base / self.weights.file


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class found by following ``loc`` from ModelCard (None if not a model)."""
    model: Any = ModelCard
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = getattr(annotation, "__args__", (annotation,))
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-after", "union"))))
    key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    if error["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = sorted(parent.model_fields) if parent is not None else []
        return f"{key}: unknown key '{loc[-1]}'." + (_did_you_mean(str(loc[-1]), valid) if valid else "")
    if error["type"] == "missing":
        return f"{key}: required key is missing."
    message = error["msg"]
    found = error.get("input")
    if error["type"].startswith(("literal_", "string_pattern", "greater", "less", "int_", "float_", "bool_")):
        message = f"{message}; found {found!r}"
    return f"{key}: {message}" if key else message


def parse_model_card(data: Any, *, source: str = "<model card>") -> ModelCard:
    """Validate a mapping (already loaded from YAML) as a :class:`ModelCard`.

    Errors are collected and raised together as one :class:`~valkit.errors.InputError`
    whose lines read ``<source>: <key.path>: <problem>``.
    """
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of keys (id, name, architecture, ...), found {type(data).__name__}.")
    try:
        return ModelCard.model_validate(data)
    except ValidationError as exc:
        problems = [f"{source}: {_describe(e)}" for e in exc.errors()]
        if len(problems) == 1:
            raise InputError(problems[0]) from None
        raise InputError(f"{source}: {len(problems)} problems in the model card:", problems=problems) from None


def load_model_card(path: str | Path) -> ModelCard:
    """Read ``models/<id>/model.yaml`` and validate it; the weights file must exist.

    The weights' sha256 is checked when the predictor loads them
    (:func:`valkit.predictor.load_predictor`), so that parsing stays cheap.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.yaml"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: model card not found. Expected a file like models/<id>/model.yaml.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model card ({exc.strerror}).") from None
    try:
        data = read_yaml(raw)
    except YamlInputError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise InputError(f"{where}: {exc}") from None
    card = parse_model_card(data, source=str(path))
    card._path = path
    card._sha256 = hashlib.sha256(raw).hexdigest()
    if not card.weights_path.is_file():
        raise InputError(
            f"{path}: weights.file: weights file '{card.weights_path}' does not exist. "
            "Put the weights next to the card or correct weights.file (relative to the card's folder)."
        )
    return card
