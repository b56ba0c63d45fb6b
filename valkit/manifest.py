"""Manifests: one row per image, built from DICOM headers, validated on load.

``build_manifest`` walks a folder, reads each file's DICOM header (pixel data is read
as bytes to check it is complete, never decoded), joins an optional labels file and
writes a CSV. Files that are not DICOM, are truncated or unreadable go to an errors
file with the reason; the build finishes and says how many were skipped.

``load_manifest`` checks a manifest before any work starts and reports every bad row.
Paths in a manifest are relative to the manifest file's folder, and every one must resolve
(after symlinks) inside the image root: the manifest's folder unless the protocol's dataset
sets ``image_root``. A row pointing anywhere else (``../../etc/passwd``, another study's
image) stops the run before any file is read.

Identifiers: the case id is a keyed pseudonym of the SOPInstanceUID and the patient id one of
the PatientID (:mod:`valkit.pseudonyms`), unless the labels file supplies ``case_id`` /
``patient_pseudo_id``; the ``pseudonym_key`` column records the fingerprint of the key that
made a row's pseudonyms (empty when the labels file supplied both ids).
"""
from __future__ import annotations

import csv
import datetime as _dt
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from valkit.digests import file_sha256
from valkit.errors import InputError
from valkit.pseudonyms import PseudonymKey, check_key_location, key_path, load_or_create_key, pseudonymise
from valkit.progress import QUIET, Progress

CORE_COLUMNS = (
    "case_id", "patient_id", "study_uid", "path", "sha256", "label",
    "site", "manufacturer", "model", "sex", "age", "pseudonym_key",
)
# Acquisition columns read from the header for the test-data table (Table 1).
HEADER_COLUMNS = (
    "sop_instance_uid", "modality", "photometric", "transfer_syntax", "rows", "columns",
    "bits_stored", "pixel_spacing_mm", "kvp", "software_versions", "acquisition_date",
)
SIDECAR_SUFFIXES = {".csv", ".json", ".txt", ".md", ".yaml", ".yml", ".png", ".jpg", ".html", ".pdf"}
LABEL_JOIN_KEYS = ("sop_instance_uid", "path")


@dataclass(frozen=True)
class BuildSummary:
    out: Path
    errors_path: Path
    n_files: int
    n_rows: int
    n_skipped: int
    n_sidecar_ignored: int
    n_unlabelled: int
    label_rows_without_image: int
    key: PseudonymKey | None = None  # None when the labels file supplied every id


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. ``table`` has absolute paths in ``abs_path``.

    ``abs_path`` is the row's path joined to the manifest's resolved folder and normalised
    (``..`` removed); symbolic links below that folder are kept as written.
    """

    path: Path
    sha256: str
    table: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


class _LazyKey:
    """The pseudonym key, read (or created) the first time a pseudonym is needed."""

    def __init__(self, key: PseudonymKey | str | Path | None, outputs: Path):
        self._given, self._outputs = key, outputs
        self.key = key if isinstance(key, PseudonymKey) else None

    def get(self) -> PseudonymKey:
        if self.key is None:
            check_key_location(key_path(self._given), outputs=self._outputs)  # before creating it
            self.key = load_or_create_key(self._given)
        return self.key


def parse_age(value: object) -> float | None:
    """DICOM Age String ('045Y', '006M', '010W', '003D') → years; None when absent/invalid."""
    s = str(value or "").strip().upper()
    if len(s) != 4 or not s[:3].isdigit() or s[3] not in "DWMY":
        return None
    n = int(s[:3])
    return round(n / {"D": 365.25, "W": 52.1775, "M": 12.0, "Y": 1.0}[s[3]], 2)


def age_from_dates(ds) -> float | None:
    """Age in whole years from PatientBirthDate and the study (or acquisition/content) date.

    Many archives leave PatientAge empty but keep the birth date; None when either is missing.
    """
    import datetime as dt

    def date(v: object) -> dt.date | None:
        s = str(v or "").strip()[:8]
        try:
            return dt.date(int(s[:4]), int(s[4:6]), int(s[6:8])) if len(s) == 8 and s.isdigit() else None
        except ValueError:
            return None

    born = date(ds.get("PatientBirthDate"))
    seen = next((d for d in (date(ds.get(k)) for k in ("StudyDate", "AcquisitionDate", "ContentDate")) if d), None)
    if born is None or seen is None or seen < born:
        return None
    return float(seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day)))


def read_header(path: Path) -> dict:
    """Header fields of one DICOM file; raises ValueError with the reason when unusable.

    The pixel data is read as bytes (not decoded) to catch truncated files.
    """
    from pydicom.encaps import generate_frames

    from valkit.preprocess import DicomDecodeError, read_dicom  # the runner reads files the same way

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = read_dicom(path)
        except DicomDecodeError as exc:
            raise ValueError(exc.reason) from None
    if any("End of file" in str(w.message) for w in caught):
        raise ValueError("truncated: the file ends inside a data element; re-export the image")
    if "PixelData" not in ds:
        what = str(ds.get("Modality", "") or ds.get("SOPClassUID", "") or "unknown type")
        raise ValueError(f"no pixel data: not an image object ({what}); remove it from the image folder")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows == 0 or cols == 0:
        raise ValueError("Rows/Columns missing or zero; not an image object")
    tsyntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if tsyntax is not None and tsyntax.is_encapsulated:
        try:
            got = sum(1 for _ in generate_frames(ds.PixelData, number_of_frames=frames))
        except Exception as exc:
            raise ValueError(f"compressed pixel data is damaged: {exc}") from None
        if got != frames:
            raise ValueError(f"compressed pixel data has {got} frames, header says {frames}")
    else:
        expected = rows * cols * frames * int(ds.get("SamplesPerPixel", 1)) * int(ds.get("BitsAllocated", 16)) // 8
        if len(ds.PixelData) < expected:
            raise ValueError(f"truncated pixel data: {len(ds.PixelData)} bytes, expected {expected}")
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    sex = str(ds.get("PatientSex", "") or "").strip().upper()
    return {
        "patient_key": str(ds.get("PatientID", "") or ""),
        "study_uid": str(ds.get("StudyInstanceUID", "") or ""),
        "sop_instance_uid": str(ds.get("SOPInstanceUID", "") or ""),
        "institution": str(ds.get("InstitutionName", "") or ""),
        "manufacturer": str(ds.get("Manufacturer", "") or ""),
        "model": str(ds.get("ManufacturerModelName", "") or ""),
        "sex": sex if sex in ("M", "F", "O") else "",
        "age": parse_age(ds.get("PatientAge")) if ds.get("PatientAge") else age_from_dates(ds),
        "modality": str(ds.get("Modality", "") or ""),
        "photometric": str(ds.get("PhotometricInterpretation", "") or ""),
        "transfer_syntax": str(tsyntax.name) if tsyntax is not None else "",
        "rows": rows,
        "columns": cols,
        "bits_stored": int(ds.get("BitsStored", 0) or 0),
        "pixel_spacing_mm": float(spacing[0]) if spacing else None,
        "kvp": float(ds.KVP) if ds.get("KVP") not in (None, "") else None,
        "software_versions": str(ds.get("SoftwareVersions", "") or ""),
        "acquisition_date": iso_date(ds.get("AcquisitionDate") or ds.get("StudyDate") or ds.get("SeriesDate")),
    }


def iso_date(value: object) -> str:
    """A DICOM DA value (``YYYYMMDD``) as ``YYYY-MM-DD``; empty when absent or not a valid date
    (the test-data section reports the range of acquisition dates).

    >>> iso_date("20240131"), iso_date(""), iso_date("2024"), iso_date("20241399")
    ('2024-01-31', '', '', '')
    """
    text = str(value or "").strip()
    if len(text) != 8 or not text.isdigit():
        return ""
    try:
        return _dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).isoformat()
    except ValueError:
        return ""


def _read_labels(labels: Path) -> tuple[pd.DataFrame, str]:
    if not labels.is_file():
        raise InputError(f"{labels}: labels file not found. Pass --labels with a CSV path, or omit it.")
    df = pd.read_csv(labels, dtype=str, keep_default_na=False)
    key = next((k for k in LABEL_JOIN_KEYS if k in df.columns), None)
    if key is None:
        raise InputError(
            f"{labels}: no join column. The labels file needs one of {', '.join(LABEL_JOIN_KEYS)} "
            f"to match rows to DICOM files; found columns: {', '.join(df.columns)}."
        )
    if "label" not in df.columns:
        raise InputError(f"{labels}: no 'label' column (1 = finding present, 0 = absent).")
    dup = df[key][df[key].duplicated()].unique()
    if len(dup):
        raise InputError(f"{labels}: {len(dup)} duplicated {key} value(s), e.g. {dup[0]}; each image needs one row.")
    return df, key


def build_manifest(dicom_dir: str | Path, *, out: str | Path, labels: str | Path | None = None,
                   key: PseudonymKey | str | Path | None = None, progress: Progress | None = None) -> BuildSummary:
    """Scan ``dicom_dir`` recursively and write a manifest CSV (plus ``<out>.errors.csv``).

    ``key`` is the pseudonym key or the path of its file (default: :func:`valkit.pseudonyms.key_path`);
    it is read, or created, only when some id is not supplied by the labels file, and it may not
    lie in the manifest's folder. ``progress`` shows a bar of the files read (stderr; None: silent).
    """
    dicom_dir, out = Path(dicom_dir), Path(out)
    if not dicom_dir.is_dir():
        raise InputError(f"{dicom_dir}: not a folder. Give the folder that holds the DICOM files.")
    lazy_key = _LazyKey(key, out.parent)
    label_df, join = _read_labels(Path(labels)) if labels is not None else (None, None)
    label_rows = {} if label_df is None else {r[join]: r for r in label_df.to_dict("records")}
    labels_dir = Path(labels).resolve().parent if labels is not None else None

    out.parent.mkdir(parents=True, exist_ok=True)
    errors_path = out.with_name(out.stem + ".errors.csv")
    files = sorted(p for p in dicom_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    rows, errors, n_sidecar, used_labels = [], [], 0, set()
    with (progress or QUIET).task("reading DICOM headers", total=len(files)) as step:
        for p in files:
            step.advance()
            if p.suffix.lower() in SIDECAR_SUFFIXES:
                n_sidecar += 1
                continue
            try:
                h = read_header(p)
            except ValueError as exc:
                errors.append({"path": _rel(p, out.parent), "reason": str(exc)})
                continue
            lab = None
            if label_df is not None:
                k = h["sop_instance_uid"] if join == "sop_instance_uid" else _rel(p, labels_dir)
                lab = label_rows.get(k)
                if lab is not None:
                    used_labels.add(k)
            rows.append(_manifest_row(p, h, lab, out.parent, lazy_key))
    columns = list(CORE_COLUMNS) + list(HEADER_COLUMNS)
    extra = [c for c in (label_df.columns if label_df is not None else []) if c not in columns and c not in
             ("patient_pseudo_id", "relative_path")]
    df = pd.DataFrame(rows, columns=columns + extra)
    first_path = {}
    for i, (cid, p) in enumerate(zip(df["case_id"], df["path"])):
        if cid in first_path:  # same SOPInstanceUID twice (e.g. one image exported in two syntaxes)
            errors.append({"path": p, "reason": f"duplicate image: same SOPInstanceUID (case {cid}) as "
                                                f"{first_path[cid]}, which is kept; remove one copy"})
        else:
            first_path[cid] = p
    df = df[~df["case_id"].duplicated(keep="first")]
    df.to_csv(out, index=False)
    with open(errors_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["path", "reason"])
        w.writeheader()
        w.writerows(errors)
    return BuildSummary(
        out=out, errors_path=errors_path, n_files=len(files) - n_sidecar, n_rows=len(df),
        n_skipped=len(errors), n_sidecar_ignored=n_sidecar,
        n_unlabelled=int((df["label"].astype(str) == "").sum()) if label_df is not None else len(df),
        label_rows_without_image=len(label_rows) - len(used_labels), key=lazy_key.key,
    )


def _rel(p: Path, base: Path | None) -> str:
    if base is None:
        return str(p)
    return Path(os.path.relpath(p.resolve(), base.resolve())).as_posix()


def _manifest_row(p: Path, h: dict, lab: dict | None, base: Path, key: _LazyKey) -> dict:
    lab = dict(lab or {})
    made_by_key = ""
    case_id = lab.pop("case_id", "")
    if not case_id:  # without a SOPInstanceUID the file's path stands in (keyed like any identifier)
        case_id = pseudonymise("I", h["sop_instance_uid"] or _rel(p, base), key.get())
        made_by_key = key.get().fingerprint
    patient = lab.pop("patient_pseudo_id", "")
    if not patient:
        patient = pseudonymise("P", h["patient_key"] or case_id, key.get())
        made_by_key = key.get().fingerprint
    row = {
        "case_id": case_id,
        "patient_id": patient,
        "study_uid": h["study_uid"],
        "path": _rel(p, base),
        "sha256": file_sha256(p),
        "label": lab.pop("label", ""),
        "site": lab.pop("site", "") or h["institution"],
        "manufacturer": h["manufacturer"],
        "model": h["model"],
        "sex": h["sex"],
        "age": h["age"],
        "pseudonym_key": made_by_key,
    }
    row.update({k: h[k] for k in HEADER_COLUMNS})
    lab.pop("sop_instance_uid", None)
    lab.pop("path", None)
    row.update(lab)
    return row


def _resolved_paths(paths: list[str]) -> list[str]:
    """Each path with its symlinks resolved, at about one system call per row.

    ``os.path.realpath`` walks every component of every path; the rows of a manifest share a few
    folders, so each folder is resolved once and only the file itself is checked for a link.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()).resolve()
    >>> (d / "a.dcm").write_bytes(b"x") and os.symlink(d / "a.dcm", d / "link.dcm")
    >>> [Path(p).name for p in _resolved_paths([str(d / "a.dcm"), str(d / "link.dcm"), str(d / "none.dcm")])]
    ['a.dcm', 'a.dcm', 'none.dcm']
    """
    folders: dict[str, str] = {}
    out = []
    for p in paths:
        folder, name = os.path.split(p)
        real = folders.get(folder)
        if real is None:
            real = folders[folder] = os.path.realpath(folder)
        full = os.path.join(real, name)
        out.append(os.path.realpath(full) if os.path.islink(full) else full)
    return out


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.readline().strip().split(",")


def load_manifest(
    path: str | Path,
    *,
    required_columns: tuple[str, ...] = (),
    label_column: str | None = "label",
    site: str | None = None,
    check_files: bool = True,
    image_root: str | Path | None = None,
    image_root_key: str = "image_root",
    exclude_columns: tuple[str, ...] = (),
    indeterminate_labels: tuple[str, ...] = (),
) -> Manifest:
    """Read and validate a manifest; raise InputError listing every bad row.

    ``indeterminate_labels``: values of the label column that mean an equivocal/indeterminate
    reference standard (the protocol's ``reference_standard.indeterminate``), accepted besides 0 and 1.
    ``exclude_columns`` are never read (a run checks a manifest's structure and image paths before
    the lock check, with the reference-standard column left unread: the labels stay sealed).

    Fatal (nothing runs): missing core or protocol-named columns, duplicate case ids,
    labels outside {0, 1}, missing labels when ``label_column`` is required, and paths that
    do not resolve (after symlinks) inside ``image_root`` (default: the manifest's folder;
    ``image_root_key`` names the setting that changes it in the error message).
    Not fatal: image files that are missing are kept and noted; the runner records each
    as a failed prediction so every manifest row is accounted for.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: manifest not found. Build it with `valkit manifest build`.")
    try:
        with warnings.catch_warnings():
            # a row with more fields than the header would silently become the index or lose data
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False,
                             usecols=(lambda c: c not in exclude_columns) if exclude_columns else None)
    except pd.errors.ParserWarning:
        raise InputError(f"{path}: some row has more fields than the header ({', '.join(_header(path))}); "
                         "quote values that contain commas, or remove the extra separators.") from None
    except Exception as exc:
        raise InputError(f"{path}: not a readable CSV: {exc}") from None
    df = df.reset_index(drop=True)
    problems: list[str] = []
    needed = [c for c in ("case_id", "path") if c not in df.columns]
    needed += [c for c in required_columns if c not in df.columns and c not in needed]
    if label_column and label_column not in df.columns:
        needed.append(label_column)
    if needed:
        raise InputError(
            f"{path}: missing column(s): {', '.join(needed)}. Found: {', '.join(df.columns)}. "
            "Columns named in the protocol (reference standard, subgroups) must exist in the manifest."
        )
    for i in df.index[df["case_id"].duplicated(keep=False)]:
        problems.append(f"row {i + 2}: case_id '{df.at[i, 'case_id']}' is duplicated; case ids must be unique")
    for i in df.index[df["case_id"].str.strip() == ""]:
        problems.append(f"row {i + 2}: empty case_id")
    if label_column:
        bad = ~df[label_column].isin(["0", "1", *indeterminate_labels])
        allowed = "0 or 1" + "".join(f" or '{v}'" for v in indeterminate_labels)
        for i in df.index[bad]:
            v = df.at[i, label_column]
            what = "missing" if v == "" else f"'{v}' is not {allowed}"
            problems.append(f"row {i + 2} (case {df.at[i, 'case_id']}): {label_column} {what}")
    if site is not None:
        if "site" not in df.columns:
            df["site"] = site
        clash = (df["site"] != "") & (df["site"] != site)
        for i in df.index[clash]:
            problems.append(f"row {i + 2}: site '{df.at[i, 'site']}' differs from the protocol's site '{site}'")
        df.loc[df["site"] == "", "site"] = site
    # one resolve for the manifest's folder; each row's path is joined and normalised as text (no system
    # call per row: 1e6 rows of Path.resolve() cost minutes when external scores read no image at all)
    base_path = path.resolve().parent
    base = str(base_path)
    rel = df["path"].astype(str)
    plain = ~rel.str.contains(r"^/|//|(?:^|/)\.\.?(?:/|$)|/$", regex=True)  # nothing for normpath to do
    abs_path = (base.rstrip("/") + "/" + rel).where(plain, "")
    abs_path[~plain] = [os.path.normpath(os.path.join(base, p)) for p in rel[~plain].tolist()]
    df["abs_path"] = abs_path.astype(object)
    # confinement: every image under the image root, after symlinks (a link pointing out of the root is outside)
    root = Path(image_root).resolve() if image_root is not None else base_path
    root_s = str(root).rstrip("/") + "/"
    resolved = _resolved_paths(df["abs_path"].tolist())
    outside = [i for i, r in zip(df.index, resolved) if not (r.rstrip("/") + "/").startswith(root_s)]
    for i, r in zip(df.index, resolved):
        if i in set(outside):
            problems.append(f"{path.name}:{i + 2} (case {df.at[i, 'case_id']}): path '{df.at[i, 'path']}' resolves to "
                            f"{r}, outside the image root {root}")
    if problems:
        shown = problems[:50] + ([f"... and {len(problems) - 50} more"] if len(problems) > 50 else [])
        fix = (f" Every image must lie under the image root ({root}); if these files are meant to be read, set "
               f"{image_root_key} to the folder that holds them all." if outside else "")
        raise InputError(f"{path}: {len(problems)} bad row(s) in the manifest.{fix}", problems=shown)
    notes = []
    if check_files:
        missing = [cid for cid, p in zip(df["case_id"], df["abs_path"]) if not os.path.exists(p)]
        if missing:
            notes.append(f"{len(missing)} image {'file' if len(missing) == 1 else 'files'} not found (e.g. case "
                         f"{missing[0]}); recorded as failures")
    if "sha256" not in df.columns or (df["sha256"] == "").any():
        n = len(df) if "sha256" not in df.columns else int((df["sha256"] == "").sum())
        notes.append(f"{n} {'row has' if n == 1 else 'rows have'} no SHA-256 of the image; " + (
            "each such image is hashed before it is scored and the digest recorded with its prediction "
            "(predictions.parquet)" if check_files else "no image is read for external scores, so none is recorded"))
    return Manifest(path=path.resolve(), sha256=file_sha256(path), table=df, notes=tuple(notes))
