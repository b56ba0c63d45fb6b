"""The model's development data, as its card records them: the one source of the report's training-data
table (device section) and of its statement on the independence of the test data (test-data section).

Both read ``model.training`` of results.json (the card's ``training`` block, copied by the pipeline);
neither claims more than the card declares.

>>> card = {"kind": "model_card", "training": {"data": "phantoms", "data_seeds": {"train": [1001], "tuning": [2001]},
...         "n_images": {"train": 900, "tuning": 800}, "excluded_seeds": [20261122]}}
>>> print(training_data({"model": card}).independence)
The model card records the data the model was developed on (phantoms): training seed 1001 (900 images); tuning seed 2001 (800 images). It declares data seed 20261122 kept out of training and tuning. That the test images are not among the development data is the manufacturer's declaration; valkit cannot check it from the images.
>>> training_data({"model": {"kind": "model_card"}}).independence.startswith("The model card does not record")
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from valkit.report.formatting import count, file_name

__all__ = ["TrainingData", "training_data"]

#: the card's ``training`` keys in words (a key not listed is shown with its underscores as spaces)
LABELS = {
    "script": "Training script",
    "seed": "Training random seed",
    "data": "Development data",
    "data_seeds": "Data seeds, by split",
    "n_images": "Images, by split",
    "excluded_seeds": "Data seeds kept out of development",
    "tuning_auc": "AUC on the tuning split",
    "notes": "Notes",
}
#: a split's name in words
SPLITS = {"train": "training", "tuning": "tuning", "check": "held-out check", "validation": "validation",
          "test": "internal test"}
SPONSOR = "to be supplied by the sponsor"


@dataclass(frozen=True)
class TrainingData:
    """``rows``: key/value rows for the training-data table; ``independence``: one statement."""

    rows: list[dict[str, str]]
    independence: str


def _split(name: str) -> str:
    return SPLITS.get(name, name.replace("_", " "))


def _seeds(values: list[Any]) -> str:
    return ("seed " if len(values) == 1 else "seeds ") + ", ".join(str(v) for v in values)


def _value(key: str, value: Any) -> str:
    if key == "script":
        return file_name(value)  # a file name, never a path on the sponsor's disk
    if key == "data_seeds":
        return "; ".join(f"{_split(k)}: {', '.join(str(s) for s in v)}" for k, v in value.items())
    if key == "n_images":
        return "; ".join(f"{_split(k)}: {count(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _independence(training: dict) -> str:
    seeds = training.get("data_seeds") or {}
    n_images = training.get("n_images") or {}
    if not seeds and not training.get("excluded_seeds"):
        return ("The model card does not identify the data the model was trained and tuned on, so the "
                f"independence of the test data from them is {SPONSOR}.")
    parts = [f"{_split(k)} {_seeds(v)}" + (f" ({count(n_images[k])} images)" if k in n_images else "")
             for k, v in seeds.items()]
    data = f" ({training['data']})" if training.get("data") else ""
    text = f"The model card records the data the model was developed on{data}: " + "; ".join(parts) + "."
    if not parts:
        text = f"The model card describes the data the model was developed on{data}."
    excluded = training.get("excluded_seeds") or []
    if excluded:
        text += f" It declares data {_seeds(excluded)} kept out of training and tuning."
    return (text + " That the test images are not among the development data is the manufacturer's declaration; "
            "valkit cannot check it from the images.")


def training_data(results: dict) -> TrainingData:
    """The training-data rows and the independence statement, from results.json ``model``."""
    model = results.get("model") or {}
    if model.get("kind") == "external_predictions":
        return TrainingData([], "The scores were supplied without a model card, so the independence of the test data "
                                f"from the model's training and tuning data is {SPONSOR}.")
    training = model.get("training") or {}
    if not training:
        return TrainingData([], "The model card does not record the training data, so the independence of the test "
                                f"data from the model's training and tuning data is {SPONSOR}.")
    rows = [{"key": LABELS.get(k, k.replace("_", " ").capitalize()), "value": _value(k, v)}
            for k, v in training.items() if v not in (None, "", [], {})]
    return TrainingData(rows, _independence(training))
