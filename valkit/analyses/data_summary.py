"""Test-data summary: the flow of cases (STARD) and Table 1 (counts by characteristic)."""
from __future__ import annotations

from collections import Counter

import pandas as pd

TABLE1_COLUMNS = ("site", "country", "manufacturer", "model", "sex", "age_band", "ethnicity")
#: the demographic columns whose missingness the test-data section states (cases and patients)
DEMOGRAPHIC_COLUMNS = ("sex", "age_band", "ethnicity")
#: the manifest column ``valkit manifest build`` fills from AcquisitionDate / StudyDate (ISO date)
DATE_COLUMN = "acquisition_date"


def case_flow(merged: pd.DataFrame) -> dict:
    """Every manifest row → analysed, excluded (outside the model card's accepts) or failed, with reasons.

    Excluded images are readable but not what the model is meant to score (wrong modality, too
    small, ...); failed ones could not be scored (unreadable file, invalid score, ...).
    """
    failed = merged[merged["status"] == "failed"]
    excluded = merged[merged["status"] == "excluded"]
    reasons = Counter(_reason_class(e) for e in failed["error"])
    exclusions = Counter(exclusion_class(e) for e in excluded["error"])
    return {
        "in_manifest": int(len(merged)),
        "excluded": int(len(excluded)),
        "excluded_positive": int((excluded["label"] == 1).sum()),
        "excluded_negative": int((excluded["label"] == 0).sum()),
        "exclusion_reasons": [{"reason": r, "n": n} for r, n in exclusions.most_common()],
        "analysed": int((merged["status"] == "ok").sum()),
        "failed": int(len(failed)),
        "failed_positive": int((failed["label"] == 1).sum()),
        "failed_negative": int((failed["label"] == 0).sum()),
        "failure_reasons": [{"reason": r, "n": n} for r, n in reasons.most_common()],
        # scored, but the reference standard is indeterminate: outside the primary analysis, counted both ways
        "indeterminate_reference": int((merged["status"] == "indeterminate").sum()),
    }


def exclusion_class(reason: str) -> str:
    """An exclusion reason without its per-image detail (the part in parentheses).

    >>> exclusion_class("image smaller than the minimum size (1×1 pixels; model card minimum 64×64)")
    'image smaller than the minimum size'
    """
    return str(reason).split(" (", 1)[0] or "unknown"


#: failure category by the exception type that recorded it (the runner writes "TypeName: message")
FAILURE_BY_TYPE = {
    "FileNotFoundError": "image file not found",
    "IsADirectoryError": "image file not found",
    "PermissionError": "image file not readable (permission denied)",
    "ImageChangedError": "file changed since manifest was built",
    "InvalidDicomError": "not a DICOM file",
    "EOFError": "truncated DICOM",
}
#: failures valkit records without an exception: its own fixed wording, matched at the start
FAILURE_BY_MESSAGE = (
    ("model returned an invalid score", "model returned an invalid score"),
    ("no score for this case", "no score in external predictions"),
    ("score ", "score in external predictions is not a number"),
    ("invalid score ", "invalid score in external predictions (NaN or infinite)"),
)


def _reason_class(error: str) -> str:
    """The failure category of one recorded error, from the exception type that raised it.

    Never from words inside the message (a decoder's message mentioning "truncated" is a decoder
    failure, not a truncated file); an exception type without a category of its own is reported as
    an image that could not be read or decoded, with the type.

    >>> _reason_class("FileNotFoundError: image file not found: img/3.dcm")
    'image file not found'
    >>> _reason_class("RuntimeError: the JPEG 2000 decoder failed; the file may be truncated")
    'image could not be read or decoded (RuntimeError)'
    >>> _reason_class("model returned an invalid score (nan); expected a probability in [0, 1]")
    'model returned an invalid score'
    """
    text = str(error)
    head = text.split(":", 1)[0]
    if ":" in text and head.isidentifier():
        return FAILURE_BY_TYPE.get(head, f"image could not be read or decoded ({head})")
    for start, label in FAILURE_BY_MESSAGE:
        if text.startswith(start):
            return label
    return "other failure"


def recorded(values: pd.Series) -> bool:
    """Whether a column holds at least one value (load_study fills an absent site / manufacturer /
    model / sex column with 'missing': such a column was not supplied and is not reported)."""
    v = values.astype(object)
    v = v.where(v.notna(), "").astype(str).str.strip()
    return bool((~v.isin(["", "nan", "None", "NaN", "missing"])).any())


def has_patient_ids(merged: pd.DataFrame) -> bool:
    """Whether the data name patients (``load_study`` gives a row without one the id ``case:<case id>``).

    >>> has_patient_ids(pd.DataFrame({"patient_id": ["case:C1", "case:C2"]}))
    False
    >>> has_patient_ids(pd.DataFrame({"patient_id": ["P1", "case:C2"]}))
    True
    """
    return "patient_id" in merged.columns and bool((~merged["patient_id"].astype(str).str.startswith("case:")).any())


def table1(merged: pd.DataFrame, columns: tuple[str, ...] = TABLE1_COLUMNS) -> dict:
    """Counts by characteristic, split by reference standard, with missingness; in images, and in
    patients when the data name patients (a patient with images at two levels counts at both).

    A column the data do not record at all is left out (not shown as 100% missing).

    >>> m = pd.DataFrame({"sex": ["F", "F", "M", ""], "label": [1, 0, 1, 0],
    ...                   "patient_id": ["P1", "P1", "P2", "P3"]})
    >>> [(r["level"], r["n"], r["patients"], r["positive_patients"]) for r in table1(m, ("sex",))["sex"]["rows"]]
    [('F', 2, 1, 1), ('M', 1, 1, 1), ('missing', 1, 1, 0)]
    """
    out = {}
    by_patient = has_patient_ids(merged)
    for col in columns:
        if col not in merged.columns or not recorded(merged[col]):
            continue
        values = merged[col].fillna("").astype(str).replace("", "missing")
        rows = []
        for level in sorted(values.unique(), key=lambda v: (v == "missing", v)):
            m = values == level
            row = {
                "level": level,
                "n": int(m.sum()),
                "positive": int((merged.loc[m, "label"] == 1).sum()),
                "negative": int((merged.loc[m, "label"] == 0).sum()),
            }
            if by_patient:
                pid = merged.loc[m, "patient_id"]
                row.update(patients=int(pid.nunique()),
                           positive_patients=int(pid[merged.loc[m, "label"] == 1].nunique()),
                           negative_patients=int(pid[merged.loc[m, "label"] == 0].nunique()))
            rows.append(row)
        out[col] = {"rows": rows, "missing": int((values == "missing").sum())}
    return out


def table1_totals(merged: pd.DataFrame) -> dict:
    """The totals row of Table 1 (every manifest row): images and, when named, distinct patients."""
    by_patient = has_patient_ids(merged)
    pid = merged["patient_id"] if by_patient else None
    return {
        "n": int(len(merged)),
        "positive": int((merged["label"] == 1).sum()),
        "negative": int((merged["label"] == 0).sum()),
        "patients": int(pid.nunique()) if by_patient else None,
        "positive_patients": int(pid[merged["label"] == 1].nunique()) if by_patient else None,
        "negative_patients": int(pid[merged["label"] == 0].nunique()) if by_patient else None,
    }


def acquisition_dates(merged: pd.DataFrame) -> dict | None:
    """First and last acquisition date (ISO ``YYYY-MM-DD`` or DICOM ``YYYYMMDD``) and how many rows
    record one; ``None`` when no row does (the report then says the dates were not recorded).

    >>> acquisition_dates(pd.DataFrame({"acquisition_date": ["2021-03-04", "", "20190102"]}))
    {'first': '2019-01-02', 'last': '2021-03-04', 'n_recorded': 2, 'n': 3}
    """
    if DATE_COLUMN not in merged.columns:
        return None
    text = merged[DATE_COLUMN].astype(object).where(merged[DATE_COLUMN].notna(), "").astype(str).str.strip()
    digits = text.str.replace("-", "", regex=False)
    dates = pd.to_datetime(digits.where(digits.str.fullmatch(r"\d{8}"), None), format="%Y%m%d", errors="coerce")
    if dates.notna().sum() == 0:
        return None
    return {"first": dates.min().strftime("%Y-%m-%d"), "last": dates.max().strftime("%Y-%m-%d"),
            "n_recorded": int(dates.notna().sum()), "n": int(len(merged))}


def sites_summary(merged: pd.DataFrame) -> list[dict]:
    """Per site (every manifest row): its country (protocol ``sites``), images, patients and
    acquisition dates; empty when the data record no site."""
    if "site" not in merged.columns or not recorded(merged["site"]):
        return []
    by_patient = has_patient_ids(merged)
    rows = []
    for site, g in merged.groupby(merged["site"].astype(str), sort=True):
        country = str(g["country"].iloc[0]) if "country" in g.columns else "missing"
        dates = acquisition_dates(g)
        rows.append({"site": site, "country": None if country in ("", "nan", "missing") else country,
                     "images": int(len(g)), "patients": int(g["patient_id"].nunique()) if by_patient else None,
                     "first_date": dates["first"] if dates else None, "last_date": dates["last"] if dates else None})
    return rows


def acquisition_summary(merged: pd.DataFrame) -> list[dict]:
    """Per manufacturer/model: image counts and acquisition parameters from the headers."""
    rows = []
    if not any(c in merged.columns and recorded(merged[c]) for c in ("manufacturer", "model")):
        return rows  # no equipment recorded (e.g. external scores without DICOM headers)
    cols = [c for c in ("photometric", "transfer_syntax", "bits_stored", "pixel_spacing_mm", "kvp", "rows")
            if c in merged.columns]
    for (man, model), g in merged.groupby(["manufacturer", "model"], sort=True):
        row = {"manufacturer": man, "model": model, "n": int(len(g))}
        for c in cols:
            vals = sorted({str(v) for v in g[c] if str(v) not in ("", "nan", "None")})
            row[c] = ", ".join(vals[:4]) + (" …" if len(vals) > 4 else "")
        rows.append(row)
    return rows


def clustering_summary(merged: pd.DataFrame) -> dict:
    per_patient = merged.groupby("patient_id").size()
    return {
        "n_patients": int(len(per_patient)),
        "n_images": int(len(merged)),
        "images_per_patient": {str(k): int(v) for k, v in per_patient.value_counts().sort_index().items()},
        "clustered": bool((per_patient > 1).any()),
    }


def accountability(merged: pd.DataFrame) -> list[dict]:
    """Every manifest row accounted for, manifest by manifest: analysed, excluded with reason, failed
    with reason (the report's accountability table; cases.csv lists each row).

    >>> m = pd.DataFrame({"dataset": ["0", "0", "0", "1"], "status": ["ok", "excluded", "failed", "ok"],
    ...                   "error": ["", "modality CT not accepted (DX only)", "EOFError: cut", ""]})
    >>> [(r["dataset"], r["rows"], r["analysed"], r["excluded"], r["failed"]) for r in accountability(m)]
    [('0', 3, 1, 1, 1), ('1', 1, 1, 0, 0)]
    >>> accountability(m)[0]["reasons"]
    [{'status': 'excluded', 'reason': 'modality CT not accepted', 'n': 1}, {'status': 'failed', 'reason': 'truncated DICOM', 'n': 1}]
    """
    out = []
    for ds, g in merged.groupby(merged["dataset"].astype(str), sort=True):
        reasons = Counter([("excluded", exclusion_class(e)) for e in g.loc[g["status"] == "excluded", "error"]]
                          + [("failed", _reason_class(e)) for e in g.loc[g["status"] == "failed", "error"]])
        out.append({"dataset": str(ds), "rows": int(len(g)), "analysed": int((g["status"] == "ok").sum()),
                    "excluded": int((g["status"] == "excluded").sum()), "failed": int((g["status"] == "failed").sum()),
                    "indeterminate": int((g["status"] == "indeterminate").sum()),
                    "reasons": [{"status": s, "reason": r, "n": n} for (s, r), n in sorted(reasons.items())]})
    return out
