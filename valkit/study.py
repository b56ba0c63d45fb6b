"""The study table: every manifest row of a protocol's datasets, validated and joined.

Adds the derived columns the analyses need (``age_band``, ``dataset``) and keeps
each manifest's digest for provenance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valkit.errors import InputError
from valkit.manifest import load_manifest
from valkit.protocol import LoadedProtocol

MISSING = "missing"


@dataclass(frozen=True)
class ManifestInfo:
    path: str
    sha256: str
    n_rows: int
    site: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Study:
    table: pd.DataFrame
    manifests: tuple[ManifestInfo, ...]


def age_band_labels(edges: list[float]) -> list[str]:
    def fmt(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f"{x:g}"

    return [f"{fmt(a)}–{fmt(b - 1) if float(b).is_integer() else fmt(b)}" for a, b in zip(edges, edges[1:])]


def age_band(ages: pd.Series, edges: list[float]) -> pd.Series:
    """Ages (years, may be missing) → band labels like '40–59'; missing or out of range → 'missing'."""
    values = pd.to_numeric(ages, errors="coerce").to_numpy(dtype=float)
    labels = age_band_labels(edges)
    idx = np.searchsorted(np.asarray(edges, dtype=float), values, side="right") - 1
    inside = ~np.isnan(values) & (idx >= 0) & (idx < len(labels))
    out = np.array(labels + [MISSING], dtype=object)[np.where(inside, idx, len(labels))]
    return pd.Series(out, index=ages.index, dtype=object)


def load_study(loaded: LoadedProtocol) -> Study:
    """Load and validate every dataset of the protocol into one table."""
    p = loaded.protocol
    label_col = p.reference_standard.column
    needed = tuple(c for c in p.subgroups.columns if c != "age_band")
    needed += tuple(c for pair in p.subgroups.intersections for c in pair if c != "age_band" and c not in needed)
    if "age_band" in p.subgroups.columns or any("age_band" in x for x in p.subgroups.intersections):
        needed += ("age",)
    frames, infos = [], []
    for i, ds in enumerate(p.datasets):
        # external scores read no image file, so whether the files exist says nothing about the run
        m = load_manifest(loaded.resolve(ds.manifest), required_columns=needed, label_column=label_col,
                          site=ds.site, check_files=p.model is not None)
        t = m.table.copy()
        t["dataset"] = str(i)
        frames.append(t)
        infos.append(ManifestInfo(path=str(ds.manifest), sha256=m.sha256, n_rows=len(t), site=ds.site,
                                  notes=m.notes))
    table = pd.concat(frames, ignore_index=True)
    dup = table["case_id"][table["case_id"].duplicated()]
    if len(dup):
        raise InputError(
            f"case id '{dup.iloc[0]}' appears in more than one dataset ({len(dup)} duplicates across manifests); "
            "case ids must be unique across the whole study."
        )
    table["label"] = table[label_col].astype(int)
    if "patient_id" not in table.columns or (table["patient_id"] == "").any():
        # without a patient id each image is its own cluster
        pid = table.get("patient_id", pd.Series([""] * len(table)))
        table["patient_id"] = [p_ or f"case:{c}" for p_, c in zip(pid, table["case_id"])]
    table["age_band"] = age_band(table["age"], p.subgroups.age_bands) if "age" in table.columns else MISSING
    for col in ("site", "manufacturer", "model", "sex"):
        if col not in table.columns:
            table[col] = ""
        table[col] = table[col].fillna("").replace("", MISSING)
    return Study(table=table, manifests=tuple(infos))


def dataset_digest_rows(study: Study) -> list[dict]:
    return [
        {"path": m.path, "sha256": m.sha256, "rows": m.n_rows, "site": m.site, "notes": list(m.notes)}
        for m in study.manifests
    ]
