"""The earlier (cleared) model version's scores, from its run folder, its files or its model card.

:func:`load_baseline_run` reads an earlier run: its results.json (operating threshold, model
identity, verdict, protocol digest) and its predictions.parquet (one score per case, with the
image digest that the comparison matches on). A model card is scored by the pipeline on the
current cases (:func:`valkit.pipeline.run_protocol`) and described by :func:`baseline_from_card`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from valkit.baseline_config import BaselineOptions
from valkit.digests import file_sha256
from valkit.errors import InputError

#: columns an earlier predictions.parquet must have (image_sha256 is used when present)
REQUIRED_COLUMNS = ("case_id", "score", "status")


@dataclass(frozen=True)
class BaselineScores:
    """The earlier version's scores and identity, ready to pair with the current run."""

    label: str
    source: str  # run | files | model
    path: str
    predictions: pd.DataFrame = field(repr=False)  # case_id, score, status, image_sha256
    threshold: float
    threshold_source: str
    model: dict  # name, version, weights_sha256
    predictions_sha256: str | None
    protocol_sha256: str | None = None
    verdict: str | None = None

    def identity(self) -> dict:
        """The ``baseline.version`` block of results.json."""
        return {"label": self.label, "source": self.source, "path": self.path, "threshold": self.threshold,
                "threshold_source": self.threshold_source, "model_name": self.model.get("name"),
                "model_version": self.model.get("version"), "model_sha256": self.model.get("weights_sha256"),
                "predictions_sha256": self.predictions_sha256, "protocol_sha256": self.protocol_sha256,
                "verdict": self.verdict}


def read_predictions(path: Path, *, key: str) -> pd.DataFrame:
    """An earlier predictions.parquet, checked for the columns the comparison needs."""
    if not path.is_file():
        raise InputError(f"{path}: predictions not found (protocol key {key}). Give the earlier run's "
                         "predictions.parquet, or its run folder with baseline.run.")
    df = pd.read_parquet(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (protocol key {key}); expected a "
                         "predictions.parquet written by `valkit run` (columns case_id, score, status, image_sha256).")
    if df["case_id"].duplicated().any():
        dup = df.loc[df["case_id"].duplicated(), "case_id"].astype(str).head(3).tolist()
        raise InputError(f"{path}: case_id repeated ({', '.join(dup)}) (protocol key {key}); one row per case expected.")
    if "image_sha256" not in df.columns:
        df = df.assign(image_sha256=None)
    return df[["case_id", "score", "status", "image_sha256"]].assign(case_id=df["case_id"].astype(str))


def load_baseline_run(opts: BaselineOptions, resolve, *, current_run_dir: Path) -> BaselineScores:
    """Read the earlier run named by ``opts`` (``run`` or ``results`` + ``predictions``).

    ``resolve`` turns a protocol path into a file path (:meth:`LoadedProtocol.resolve`).
    """
    from valkit.results import read_results

    if opts.source == "run":
        folder = resolve(opts.run)
        if folder.resolve() == Path(current_run_dir).resolve():
            raise InputError(f"baseline.run: {opts.run} is this run's own folder; the earlier version must be "
                             "another run folder (copy it, or give its results and predictions).")
        results_path, pred_path, key = folder / "results.json", folder / "predictions.parquet", "baseline.run"
    else:
        results_path, pred_path, key = resolve(opts.results), resolve(opts.predictions), "baseline.predictions"
    results = read_results(results_path.parent) if results_path.name == "results.json" else _read_json(results_path)
    threshold = opts.threshold if opts.threshold is not None else (results.get("operating_point") or {}).get("threshold")
    if threshold is None:
        raise InputError(f"{results_path}: no operating_point.threshold; set baseline.threshold in the protocol.")
    model = results.get("model") or {}
    return BaselineScores(
        label=opts.label, source=opts.source, path=str(opts.run if opts.source == "run" else opts.results),
        predictions=read_predictions(pred_path, key=key), threshold=float(threshold),
        threshold_source="protocol baseline.threshold" if opts.threshold is not None else "the earlier run's operating point",
        model={k: model.get(k) for k in ("name", "version", "weights_sha256")},
        predictions_sha256=file_sha256(pred_path),
        protocol_sha256=(results.get("protocol") or {}).get("sha256"), verdict=results.get("verdict"))


def _read_json(path: Path) -> dict:
    import json

    if not path.is_file():
        raise InputError(f"{path}: not found (protocol key baseline.results).")
    return json.loads(path.read_text())


def baseline_from_card(opts: BaselineOptions, card, predictions_path: Path) -> BaselineScores:
    """Describe an earlier model card scored on the current cases (predictions at ``predictions_path``)."""
    threshold = opts.threshold if opts.threshold is not None else card.threshold.value
    return BaselineScores(
        label=opts.label, source="model", path=str(opts.model),
        predictions=read_predictions(predictions_path, key="baseline.model"), threshold=float(threshold),
        threshold_source="protocol baseline.threshold" if opts.threshold is not None else "the earlier model card",
        model={"name": card.name, "version": card.version, "weights_sha256": card.weights.sha256},
        predictions_sha256=file_sha256(predictions_path))


__all__ = ["BaselineScores", "baseline_from_card", "load_baseline_run", "read_predictions"]
