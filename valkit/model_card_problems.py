"""Everything wrong with a model card, as ``file:line: key.path: message`` lines.

The same format as the protocol's problems (:func:`valkit.protocol.protocol_problems`), so that
``valkit validate`` lists both together: pydantic's errors with a did-you-mean for unknown keys and
values, then the rules that span several keys (:func:`card_rules`: channels, output vs
out_channels, file suffix vs format, Grad-CAM vs format, bundle folder).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from valkit.suggest import did_you_mean_or_list as _did_you_mean
from valkit.model_card import (
    FORMAT_SUFFIXES,
    ModelCard,
    Output,
)
from valkit.yaml_lines import key_lines, line_of

__all__ = ["card_rules", "located", "model_card_problems"]

Loc = tuple[Any, ...]

#: formats whose loaded model is a torch module Grad-CAM can hook (see docs/model-cards.md)
_NO_GRADCAM = {"torchscript": "a TorchScript graph does not support the hooks Grad-CAM needs",
               "onnx": "an ONNX graph runs in onnxruntime, with no torch module to hook"}


def card_rules(card: ModelCard) -> list[tuple[Loc, str]]:
    """Rules that span several keys, as (key path, message); checked once every key is valid on its own."""
    arch, out, problems = card.architecture, card.output, []
    if card.preprocessing.channels != arch.in_channels:
        problems.append((("preprocessing", "channels"),
                         f"preprocessing.channels ({card.preprocessing.channels}) must equal "
                         f"architecture.in_channels ({arch.in_channels})."))
    if arch.format == "torchvision" and arch.in_channels != 3:
        problems.append((("architecture", "in_channels"),
                         f"torchvision classifiers take 3 input channels, found {arch.in_channels}. Set "
                         "architecture.in_channels: 3 and preprocessing.channels: 3 (a grey image is repeated "
                         "into the three channels)."))
    if (arch.format == "monai_bundle") != (arch.bundle is not None):
        problems.append((("architecture", "bundle"),
                         "format 'monai_bundle' needs the bundle folder in architecture.bundle." if arch.bundle is None
                         else f"architecture.bundle is only used with format 'monai_bundle', not '{arch.format}'."))
    if arch.bundle is not None and not Path(card.weights.file).is_relative_to(arch.bundle):
        problems.append((("weights", "file"), f"'{card.weights.file}' must be inside the bundle folder "
                         f"'{arch.bundle}', e.g. {arch.bundle}/models/model.pt."))
    suffix = Path(card.weights.file).suffix
    if suffix not in FORMAT_SUFFIXES[arch.format]:
        problems.append((("weights", "file"), f"'{card.weights.file}': format '{arch.format}' reads "
                         f"{', '.join(FORMAT_SUFFIXES[arch.format])} files, not '{suffix}'. Set architecture.format "
                         "to the file's format (docs/model-cards.md)."))
    if arch.format in _NO_GRADCAM and card.explainability is not None:
        problems.append((("explainability",), f"Grad-CAM is not available for format '{arch.format}': "
                         f"{_NO_GRADCAM[arch.format]}. Remove the explainability block."))
    problems.extend(_output_problems(out, arch.out_channels))
    return problems


def _output_problems(out: Output, out_channels: int) -> list[tuple[Loc, str]]:
    if out.activation == "sigmoid":
        problems = [(("output", key), f"'{key}' is only used with activation 'softmax'. Remove it, or set "
                     "output.activation: softmax.") for key in ("classes", "positive_class")
                    if getattr(out, key) is not None]
        if out.positive_label is None:
            problems.append((("output", "positive_label"), "required key is missing (what a positive score "
                             "means, e.g. 'nodule present')."))
        if out_channels != 1:
            problems.append((("architecture", "out_channels"), f"activation 'sigmoid' takes one logit, found "
                             f"out_channels {out_channels}. Use output.activation: softmax with output.classes "
                             "for a network with one logit per class."))
        return problems
    classes = out.classes or ()
    if len(classes) < 2 or len(set(classes)) != len(classes):
        return [(("output", "classes"), f"activation 'softmax' needs two or more distinct class names in output "
                 f"order, e.g. [normal, nodule]; found {list(classes) if classes else 'none'}.")]
    problems = []
    if out.positive_class not in classes:
        found = "missing" if out.positive_class is None else f"'{out.positive_class}'"
        problems.append((("output", "positive_class"), f"must be one of the classes, found {found}."
                         + _did_you_mean(out.positive_class or "", classes)))
    if out_channels != len(classes):
        problems.append((("architecture", "out_channels"), f"activation 'softmax' with {len(classes)} classes "
                         f"needs out_channels {len(classes)}, found {out_channels}."))
    return problems


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


def _key(loc: Loc) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")


def _describe(error: dict[str, Any]) -> tuple[Loc, str]:
    """(key path, message) for one pydantic error."""
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-after", "union"))))
    if error["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        valid = sorted(parent.model_fields) if parent is not None else []
        return loc, f"unknown key '{loc[-1]}'." + (_did_you_mean(str(loc[-1]), valid) if valid else "")
    if error["type"] == "missing":
        return loc, "required key is missing."
    if error["type"] == "literal_error":
        expected = [e.strip().strip("'") for e in error["ctx"]["expected"].replace(" or ", ", ").split(",")]
        return loc, f"unknown value {error['input']!r}." + _did_you_mean(str(error["input"]), expected)
    message = error["msg"]
    found = error.get("input")
    if error["type"].startswith(("string_pattern", "greater", "less", "int_", "float_", "bool_")):
        message = f"{message}; found {found!r}"
    return loc, message


def located(source: str, lines: dict[Loc, int], loc: Loc, message: str) -> str:
    line = line_of(lines, loc)
    where = f"{source}:{line}" if line else source
    return f"{where}: {_key(loc)}: {message}" if loc else f"{where}: {message}"


def model_card_problems(data: Any, *, source: str = "<model card>", text: str = "") -> list[str]:
    """Every problem in a parsed card, as ``file:line: key.path: message`` (the line when ``text`` is given).

    The same format as the protocol's problems (:func:`valkit.protocol.protocol_problems`), so that
    ``valkit validate`` lists both together.
    """
    if not isinstance(data, dict):
        return [f"{source}: expected a mapping of keys (id, name, architecture, ...), found {type(data).__name__}."]
    lines = key_lines(text)
    try:
        card = ModelCard.model_validate(data)
    except ValidationError as exc:
        return [located(source, lines, *_describe(e)) for e in exc.errors()]
    return [located(source, lines, loc, message) for loc, message in card_rules(card)]


