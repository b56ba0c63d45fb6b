"""Reading a model card file: :func:`load_model_card`, :func:`parse_model_card`, :func:`check_model_card`.

The card's types live in :mod:`valkit.model_card`, its cross-key rules in
:mod:`valkit.model_card_problems`; this module reads the file and applies both, so neither of
those imports the other's caller.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from valkit.errors import InputError
from valkit.model_card import ModelCard
from valkit.model_card_problems import located, model_card_problems
from valkit.yaml_lines import YamlInputError, key_lines, read_yaml

__all__ = ["check_model_card", "load_model_card", "parse_model_card", "read_card_file"]


def parse_model_card(data: Any, *, source: str = "<model card>", text: str = "") -> ModelCard:
    """Validate a mapping (already loaded from YAML) as a :class:`ModelCard`.

    Errors are collected and raised together as one :class:`~valkit.errors.InputError`
    whose lines read ``<source>:<line>: <key.path>: <problem>`` (the line when the card's
    ``text`` is given).
    """
    problems = model_card_problems(data, source=source, text=text)
    if len(problems) == 1:
        raise InputError(problems[0])
    if problems:
        raise InputError(f"{source}: {len(problems)} problems in the model card:", problems=problems)
    return ModelCard.model_validate(data)


def read_card_file(path: Path) -> tuple[bytes, str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: model card not found. Expected a file like models/<id>/model.yaml.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model card ({exc.strerror}).") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        return raw, text, read_yaml(text)  # duplicate keys and aliases refused, like the protocol's
    except YamlInputError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise InputError(f"{where}: {exc}") from None


def load_model_card(path: str | Path) -> ModelCard:
    """Read ``models/<id>/model.yaml`` and validate it; the weights file (and bundle folder) must exist.

    The weights' sha256 is checked when the predictor loads them
    (:func:`valkit.predictor.load_predictor`), so that parsing stays cheap.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.yaml"
    raw, text, data = read_card_file(path)
    card = parse_model_card(data, source=str(path), text=text)
    card._path = path
    card._sha256 = hashlib.sha256(raw).hexdigest()
    lines = key_lines(text)
    if card.bundle_path is not None and not card.bundle_path.is_dir():
        raise InputError(located(str(path), lines, ("architecture", "bundle"),
                                  f"bundle folder '{card.bundle_path}' does not exist. Correct architecture.bundle "
                                  "(relative to the card's folder)."))
    if not card.weights_path.is_file():
        raise InputError(located(
            str(path), lines, ("weights", "file"),
            f"weights file '{card.weights_path}' does not exist. "
            "Put the weights next to the card or correct weights.file (relative to the card's folder)."))
    return card


def check_model_card(path: str | Path) -> tuple[ModelCard | None, list[str]]:
    """Everything ``valkit validate`` checks in a card without loading the model: (card, problems).

    The card's keys (``file:line: key.path: message``), that its files exist, the weights'
    sha256, and for a MONAI bundle that its config can be read as data through the whitelist.
    """
    from valkit.models.monai_bundle import bundle_problems
    from valkit.models.weights import verify_weights

    path = Path(path)
    if path.is_dir():
        path = path / "model.yaml"
    try:
        _, text, data = read_card_file(path)
    except InputError as exc:
        return None, [str(exc)]
    problems = model_card_problems(data, source=str(path), text=text)
    if problems:
        return None, problems
    try:
        card = load_model_card(path)
        verify_weights(card)
    except InputError as exc:
        return None, [str(exc)]
    return card, bundle_problems(card)
