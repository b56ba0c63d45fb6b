"""results.json — the archivable truth of a run, and the renderer's single input.

Also writes the per-case listing (cases.csv) beside it: pseudonymous ids only.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import pandas as pd

from valkit.atomic_file import write_atomic
from valkit.errors import InputError
from valkit.json_values import as_written, json_ready

if TYPE_CHECKING:
    from valkit.results_schema import Results

SCHEMA_VERSION = 1
CASE_COLUMNS = ("case_id", "patient_id", "dataset", "site", "manufacturer", "model", "sex", "age_band", "label",
                "score", "predicted_positive", "status", "error")


def write_json_atomic(path: Path, data: dict) -> None:
    text = json.dumps(json_ready(data), indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


def write_results(run_dir: Path, results: dict) -> Path:
    """Write ``run_dir/results.json`` after checking it against the typed contract.

    A missing, misspelt or mistyped key is a bug in the code that built ``results``: it raises
    :class:`valkit.results_schema.ResultsSchemaError` naming each key path, and nothing is written.
    The file holds ``results`` as given (validation converts nothing).
    """
    from valkit.results_schema import validate_results

    results = {"schema_version": SCHEMA_VERSION, **results}
    path = run_dir / "results.json"
    validate_results(as_written(results), source=f"{path} (being written by this run: a bug in the block that builds the key)")
    write_json_atomic(path, results)
    return path


def load_results(run_dir: Path) -> "Results":
    """``run_dir/results.json`` as a validated :class:`valkit.results_schema.Results` (the renderer's input).

    A file that does not match the schema (e.g. written by an older valkit) is an
    :class:`~valkit.errors.InputError` naming the file, each bad key path and the fix (re-run).
    """
    from valkit.results_schema import ResultsSchemaError, validate_results

    path = Path(run_dir) / "results.json"
    data = read_results(run_dir)
    try:
        return validate_results(data, source=str(path))
    except ResultsSchemaError as exc:
        raise InputError(str(exc)) from None


def read_results(run_dir: Path) -> dict:
    """``run_dir/results.json`` as a plain dict, unvalidated beyond its ``schema_version``
    (for tools that amend it, such as ``valkit bench``; the renderer uses :func:`load_results`)."""
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise InputError(f"{path}: not found. Run `valkit run PROTOCOL` first; it writes results.json.")
    data = json.loads(path.read_text())
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"{path}: schema_version {data.get('schema_version')} is not {SCHEMA_VERSION}; "
                         "re-run the protocol with this valkit version.")
    return data


def case_columns(merged: pd.DataFrame, families: Iterable[tuple[str, tuple[str, ...], bool]] = ()) -> list[str]:
    """The columns of cases.csv: :data:`CASE_COLUMNS`, then every subgroup column the protocol names.

    ``families`` is ``Protocol.subgroups.families()`` (one-way columns and intersections); a
    named column is listed when the study table has it, in the protocol's order.
    """
    cols = [c for c in CASE_COLUMNS if c in merged.columns or c == "predicted_positive"]
    for _, fam_cols, _ in families:
        for c in fam_cols:
            if c in merged.columns and c not in cols:
                at = cols.index("label") if "label" in cols else len(cols)
                cols.insert(at, c)  # beside the other characteristics
    return cols


def write_cases_csv(run_dir: Path, merged: pd.DataFrame, threshold: float, *,
                    columns: Sequence[str] | None = None) -> Path:
    """One row per manifest row: ids, characteristics, reference label, score, call and status."""
    df = merged.copy()
    ok = (df["status"] == "ok").to_numpy(dtype=bool)
    call = (df["score"].to_numpy(dtype=float) >= threshold).astype(np.int64).astype(object)
    df["predicted_positive"] = np.where(ok, call, "")
    cols = list(columns) if columns is not None else case_columns(df)
    path = run_dir / "cases.csv"
    write_atomic(path, lambda tmp: df[cols].to_csv(tmp, index=False))
    return path
