"""The model's development data, as its card records them: the one source of the report's training-data
table (device section) and of its statement on the independence of the test data (test-data section).

Both read ``model.training`` of results.json (the card's ``training`` block, copied by the pipeline,
typed as :class:`~valkit.results_schema.run_info.TrainingRecord`); neither claims more than the card declares.

>>> record = TrainingRecord(script="train.py", seed=7, data="phantoms", data_seeds={"train": [1001], "tuning": [2001]},
...                         n_images={"train": 900, "tuning": 800}, excluded_seeds=[20261122])
>>> print(development_data(record, external=False).independence)
The model card records the data the model was developed on (phantoms): training seed 1001 (900 images); tuning seed 2001 (800 images). It declares data seed 20261122 kept out of training and tuning. That the test images are not among the development data is the manufacturer's declaration; valkit cannot check it from the images.
>>> development_data(None, external=False).independence.startswith("The model card does not record")
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from valkit.report.formatting import count, file_name
from valkit.results_schema.run_info import ModelCardModel, TrainingRecord

if TYPE_CHECKING:
    from valkit.results_schema import Results

__all__ = ["TrainingData", "development_data", "training_data"]

#: each :class:`TrainingRecord` field in words (rows follow the record's field order; a test checks every field has one)
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


def _independence(training: TrainingRecord) -> str:
    seeds, n_images = training.data_seeds, training.n_images
    if not seeds and not training.excluded_seeds:
        return ("The model card does not identify the data the model was trained and tuned on, so the "
                f"independence of the test data from them is {SPONSOR}.")
    parts = [f"{_split(k)} {_seeds(v)}" + (f" ({count(n_images[k])} images)" if k in n_images else "")
             for k, v in seeds.items()]
    data = f" ({training.data})" if training.data else ""
    text = f"The model card records the data the model was developed on{data}: " + "; ".join(parts) + "."
    if not parts:
        text = f"The model card describes the data the model was developed on{data}."
    if training.excluded_seeds:
        text += f" It declares data {_seeds(training.excluded_seeds)} kept out of training and tuning."
    return (text + " That the test images are not among the development data is the manufacturer's declaration; "
            "valkit cannot check it from the images.")


def development_data(training: TrainingRecord | None, *, external: bool) -> TrainingData:
    """The training-data rows and the independence statement from the card's ``training`` record
    (``None``: the card has none; ``external``: scores supplied without a card)."""
    if external:
        return TrainingData([], "The scores were supplied without a model card, so the independence of the test data "
                                f"from the model's training and tuning data is {SPONSOR}.")
    if training is None:
        return TrainingData([], "The model card does not record the training data, so the independence of the test "
                                f"data from the model's training and tuning data is {SPONSOR}.")
    values = {name: getattr(training, name) for name in TrainingRecord.model_fields}
    rows = [{"key": LABELS[k], "value": _value(k, v)} for k, v in values.items() if v not in (None, "", [], {})]
    return TrainingData(rows, _independence(training))


def training_data(results: "Results") -> TrainingData:
    """The training-data rows and the independence statement, from results.json ``model``."""
    model = results.model
    return development_data(model.training if isinstance(model, ModelCardModel) else None,
                            external=not isinstance(model, ModelCardModel))
