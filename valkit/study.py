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
from valkit.pseudonyms import PSEUDONYM_PATTERN, UNKEYED_PATTERN
from valkit.suggest import did_you_mean

MISSING = "missing"
#: ``label`` of a row whose reference standard is one of the protocol's ``reference_standard.indeterminate``
INDETERMINATE = -1


@dataclass(frozen=True)
class ManifestInfo:
    path: str
    sha256: str
    n_rows: int
    site: str | None
    notes: tuple[str, ...]
    pseudonym_keys: tuple[str, ...] = ()  # fingerprints of the keys that made its pseudonyms


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


def check_study(loaded: LoadedProtocol) -> None:
    """Every manifest's structure and image paths, without reading the reference-standard column.

    A run calls this before anything else, so a bad manifest (a missing column, a duplicate id, an
    image outside its root) stops it before any folder is made or logged, while the labels stay
    sealed until the lock check has passed (:func:`load_study` reads them after it).
    """
    load_study(loaded, sealed=True)


def load_study(loaded: LoadedProtocol, *, sealed: bool = False) -> Study:
    """Load and validate every dataset of the protocol into one table (``sealed``: leave the labels unread)."""
    p = loaded.protocol
    label_col = p.reference_standard.column
    truthers = tuple(p.reference_standard.truther_columns)  # labels too: sealed with the reference standard
    needed = tuple(c for c in p.subgroups.columns if c != "age_band")
    needed += tuple(c for pair in p.subgroups.intersections for c in pair if c != "age_band" and c not in needed)
    if "age_band" in p.subgroups.columns or any("age_band" in x for x in p.subgroups.intersections):
        needed += ("age",)
    if p.secondary is not None:  # the lesion columns the secondary analyses read
        needed += tuple(c for c in (p.secondary.lesion_size_column, p.secondary.lesion_type_column)
                        if c and c not in needed)
    frames, infos = [], []
    for i, ds in enumerate(p.datasets):
        # external scores read no image file, so whether the files exist says nothing about the run
        m = load_manifest(loaded.resolve(ds.manifest), required_columns=needed + (() if sealed else truthers),
                          label_column=None if sealed else label_col,
                          exclude_columns=(label_col, *truthers) if sealed else (),
                          site=ds.site, check_files=p.model is not None and not sealed,
                          indeterminate_labels=tuple(p.reference_standard.indeterminate),
                          image_root=loaded.resolve(ds.image_root) if ds.image_root is not None else None,
                          image_root_key=f"datasets[{i}].image_root in {loaded.path.name} (relative to it)")
        t = m.table.copy()
        if not sealed:
            check_truther_labels(t, truthers, source=str(ds.manifest))
        t["dataset"] = str(i)
        frames.append(t)
        keys = tuple(sorted(set(t["pseudonym_key"]) - {""})) if "pseudonym_key" in t.columns else ()
        infos.append(ManifestInfo(path=str(ds.manifest), sha256=m.sha256, n_rows=len(t), site=ds.site,
                                  notes=m.notes, pseudonym_keys=keys))
    table = pd.concat(frames, ignore_index=True)
    dup = table["case_id"][table["case_id"].duplicated()]
    if len(dup):
        raise InputError(
            f"case id '{dup.iloc[0]}' appears in more than one dataset ({len(dup)} duplicates across manifests); "
            "case ids must be unique across the whole study."
        )
    if sealed:
        return Study(table=table, manifests=tuple(infos))
    indeterminate = table[label_col].astype(str).isin(p.reference_standard.indeterminate)
    table["label"] = table[label_col].where(~indeterminate, str(INDETERMINATE)).astype(int)
    if "patient_id" not in table.columns or (table["patient_id"] == "").any():
        # without a patient id each image is its own cluster
        pid = table.get("patient_id", pd.Series([""] * len(table)))
        table["patient_id"] = [p_ or f"case:{c}" for p_, c in zip(pid, table["case_id"])]
    table["age_band"] = age_band(table["age"], p.subgroups.age_bands) if "age" in table.columns else MISSING
    for col in ("site", "manufacturer", "model", "sex"):
        if col not in table.columns:
            table[col] = ""
        table[col] = table[col].fillna("").replace("", MISSING)
    if p.sites:
        table["country"] = site_countries(table["site"], p.sites, loaded.path.name)
    return Study(table=table, manifests=tuple(infos))


def check_truther_labels(table: pd.DataFrame, columns: tuple[str, ...], *, source: str) -> None:
    """Each truther column (``reference_standard.truther_columns``) holds 0, 1 or nothing (not read).

    >>> check_truther_labels(pd.DataFrame({"case_id": ["a"], "r1": ["yes"]}), ("r1",), source="m.csv")
    Traceback (most recent call last):
    ...
    valkit.errors.InputError: m.csv: truther column 'r1' (reference_standard.truther_columns): row 2 (case a) has 'yes'; expected 0, 1 or empty (not read by that truther). Recode the column to 0/1.
    """
    for col in columns:
        values = table[col].astype(str).str.strip()
        bad = values[~values.isin(["0", "1", ""])]
        if len(bad):
            i = bad.index[0]
            more = f" (and {len(bad) - 1} more row(s))" if len(bad) > 1 else ""
            raise InputError(f"{source}: truther column '{col}' (reference_standard.truther_columns): row {i + 2} "
                             f"(case {table.at[i, 'case_id']}) has '{bad.iloc[0]}'{more}; expected 0, 1 or empty "
                             "(not read by that truther). Recode the column to 0/1.")


def site_countries(site: pd.Series, sites: dict, protocol_name: str = "protocol") -> pd.Series:
    """The country of each row from the protocol's ``sites`` table; a site it does not list → ``missing``.

    A ``sites`` key that is no site of the data is a typo that would silently leave a site without
    its country, so it is an error naming the key and the sites the data have.

    >>> from valkit.protocol_test_data import Site
    >>> site_countries(pd.Series(["A", "B"]), {"A": Site(country="India")}).tolist()
    ['India', 'missing']
    """
    seen = sorted(set(site.astype(str)) - {MISSING})
    unknown = sorted(set(sites) - set(seen))
    if unknown:
        raise InputError(
            f"{protocol_name}: sites: '{unknown[0]}' is not a site in the manifests.{did_you_mean(unknown[0], seen)} "
            f"Sites in the data: {', '.join(seen) or 'none'}. Use the site column's values as the keys.")
    return site.astype(str).map(lambda s: sites[s].country if s in sites else MISSING)


def dataset_digest_rows(study: Study) -> list[dict]:
    return [
        {"path": m.path, "sha256": m.sha256, "rows": m.n_rows, "site": m.site, "notes": list(m.notes),
         "pseudonym_keys": list(m.pseudonym_keys)}
        for m in study.manifests
    ]


def identifier_kinds(table: pd.DataFrame) -> dict:
    """How the ids that outputs carry were made (results.json ``per_case_listing.identifiers``).

    ``case_ids`` / ``patient_ids`` are ``"keyed_pseudonym"`` when every row's id was made by
    ``valkit manifest build`` with a pseudonym key (its fingerprint in the ``pseudonym_key``
    column, the id of the form ``I-``/``P-`` + 20 hex); ``"unkeyed_pseudonym"`` when the manifest
    was built by a valkit before keyed pseudonyms (no ``pseudonym_key`` column, 12 hex: reversible
    by enumeration); else ``"supplied"``: the manifest or its labels file gave them and valkit
    copied them unchanged. A patient id that stands in for a
    missing one (``case:<case id>``) is of the case ids' kind. ``pseudonym_keys`` lists the key
    fingerprints (never the keys).

    >>> t = pd.DataFrame({"case_id": ["I-" + "a" * 20], "patient_id": ["MRN 0042"], "pseudonym_key": ["0f1e2d3c"]})
    >>> identifier_kinds(t)
    {'case_ids': 'keyed_pseudonym', 'patient_ids': 'supplied', 'pseudonym_keys': ['0f1e2d3c']}
    """
    keyed = table["pseudonym_key"].astype(str) != "" if "pseudonym_key" in table.columns else None

    def kind(ids: pd.Series, letter: str) -> str:
        def all_match(pattern) -> bool:
            return bool(len(ids)) and all(pattern.match(str(v)) and str(v).startswith(letter + "-") for v in ids)

        if keyed is not None and keyed.all() and all_match(PSEUDONYM_PATTERN):
            return "keyed_pseudonym"
        return "unkeyed_pseudonym" if keyed is None and all_match(UNKEYED_PATTERN) else "supplied"

    cases = kind(table["case_id"], "I")
    stand_in = table["patient_id"].astype(str).str.startswith("case:")
    patients = kind(table.loc[~stand_in, "patient_id"], "P") if (~stand_in).any() else cases
    if stand_in.any() and cases != "keyed_pseudonym":
        patients = "supplied"
    keys = sorted(set(table["pseudonym_key"].astype(str)) - {""}) if "pseudonym_key" in table.columns else []
    return {"case_ids": cases, "patient_ids": patients, "pseudonym_keys": keys}
