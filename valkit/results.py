"""results.json — the archivable truth of a run, and the renderer's single input.

Also writes the per-case listing (cases.csv) beside it: pseudonymous ids only.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from valkit.errors import InputError

SCHEMA_VERSION = 1
CASE_COLUMNS = ("case_id", "patient_id", "dataset", "site", "manufacturer", "model", "sex", "age_band", "label",
                "score", "predicted_positive", "status", "error")


def _strict(obj: Any) -> Any:
    """NaN/inf are not JSON: write them as null (the report prints 'not estimable')."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return _strict(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_strict(data), indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_results(run_dir: Path, results: dict) -> Path:
    results = {"schema_version": SCHEMA_VERSION, **results}
    path = run_dir / "results.json"
    write_json_atomic(path, results)
    return path


def read_results(run_dir: Path) -> dict:
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise InputError(f"{path}: not found. Run `valkit run PROTOCOL` first; it writes results.json.")
    data = json.loads(path.read_text())
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"{path}: schema_version {data.get('schema_version')} is not {SCHEMA_VERSION}; "
                         "re-run the protocol with this valkit version.")
    return data


def write_cases_csv(run_dir: Path, merged: pd.DataFrame, threshold: float) -> Path:
    df = merged.copy()
    df["predicted_positive"] = [
        "" if st != "ok" else int(sc >= threshold) for st, sc in zip(df["status"], df["score"])
    ]
    cols = [c for c in CASE_COLUMNS if c in df.columns]
    path = run_dir / "cases.csv"
    df[cols].to_csv(path, index=False)
    return path
