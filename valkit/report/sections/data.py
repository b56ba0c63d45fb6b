"""Test data (flow of cases, Table 1, acquisition, clustering) and the reference standard."""
from __future__ import annotations

from markupsafe import Markup

from valkit.report.figures import FlowCounts, flow_svg
from valkit.report.formatting import count, file_name, plural
from valkit.report.sections.common import comparison_terms
from valkit.report.sections.missing_data import missing_demographics_statement
from valkit.report.sections.training_data import SPONSOR, training_data

TABLE1_TITLES = {
    "site": "Site",
    "country": "Country",
    "manufacturer": "Scanner manufacturer",
    "model": "Scanner model",
    "sex": "Sex",
    "age_band": "Age band (years)",
    "ethnicity": "Race / ethnicity",
}
ACQUISITION_TITLES = {
    "photometric": "Photometric interpretation",
    "transfer_syntax": "Transfer syntax",
    "bits_stored": "Bits stored",
    "pixel_spacing_mm": "Pixel spacing (mm)",
    "kvp": "kVp",
    "rows": "Rows (pixels)",
}
#: acquisition parameters that are numbers (right-aligned, header and cells)
ACQUISITION_NUMERIC = frozenset({"bits_stored", "pixel_spacing_mm", "kvp", "rows"})


def _shows_exclusions(results: dict) -> bool:
    """Exclusions are shown (even zero) where the model card's accepts block was applied, or any happened."""
    flow = (results.get("data") or {}).get("flow") or {}
    return "excluded" in flow and bool(flow["excluded"] or (results.get("model") or {}).get("kind") == "model_card")


def _flow_figure(results: dict) -> Markup | None:
    flow = (results.get("data") or {}).get("flow") or {}
    primary = results.get("primary") or {}
    conf = primary.get("confusion") or {}
    if not flow or not conf:
        return None
    counts = FlowCounts(
        in_manifest=count(flow.get("in_manifest")),
        failed=count(flow.get("failed")),
        failed_positive=count(flow.get("failed_positive")),
        failed_negative=count(flow.get("failed_negative")),
        failure_reasons=[(str(r.get("reason", "")), count(r.get("n"))) for r in flow.get("failure_reasons") or []],
        excluded=count(flow["excluded"]) if _shows_exclusions(results) else None,
        excluded_positive=count(flow.get("excluded_positive")),
        excluded_negative=count(flow.get("excluded_negative")),
        exclusion_reasons=[(str(r.get("reason", "")), count(r.get("n"))) for r in flow.get("exclusion_reasons") or []],
        indeterminate=count(flow["indeterminate_reference"]) if flow.get("indeterminate_reference") else None,
        excluded_indeterminate=count(_indeterminate_part(flow, "excluded")),
        failed_indeterminate=count(_indeterminate_part(flow, "failed")),
        analysed=count(flow.get("analysed")),
        positive=count(primary.get("n_positive")),
        negative=count(primary.get("n_negative")),
        tp=count(conf.get("tp")), fn=count(conf.get("fn")), fp=count(conf.get("fp")), tn=count(conf.get("tn")),
        positive_label=comparison_terms(results)["positive"],
        negative_label=comparison_terms(results)["negative"],
    )
    return Markup(flow_svg(counts))


def _indeterminate_part(flow: dict, box: str) -> int:
    """Cases of the ``box`` ("failed" or "excluded") whose reference standard is indeterminate: neither of
    the box's positive and negative counts (results.json records those two and the box's total).

    >>> _indeterminate_part({"failed": 5, "failed_positive": 2, "failed_negative": 1}, "failed")
    2
    """
    return max(0, int(flow.get(box) or 0) - int(flow.get(f"{box}_positive") or 0) - int(flow.get(f"{box}_negative") or 0))


def external_scores_line(acc: dict | None) -> str | None:
    """The accountability line for an external scores file: every row matched to a case or listed.

    >>> external_scores_line({"path": "s.csv", "rows_in_file": 5, "matched": 4, "not_in_manifest": 1,
    ...                       "not_in_manifest_examples": ["X1"], "score_range": [0, 100]})
    'Scores file s.csv (score range [0, 100]): 5 rows, 4 matched to manifest cases; 1 case id not in the manifest was not analysed (X1).'
    """
    if not acc:
        return None
    lo, hi = acc.get("score_range") or (0, 1)
    text = (f"Scores file {file_name(acc.get('path'))} (score range [{lo:g}, {hi:g}]): {count(acc.get('rows_in_file'))} rows, "
            f"{count(acc.get('matched'))} matched to manifest cases")
    n_out = acc.get("not_in_manifest") or 0
    if not n_out:
        return text + "; every row matched a manifest case."
    shown = list(acc.get("not_in_manifest_examples") or [])
    more = ", …" if n_out > len(shown) else ""
    return (text + f"; {plural(n_out, 'case id')} not in the manifest {'was' if n_out == 1 else 'were'} not analysed "
            f"({', '.join(map(str, shown))}{more}).")


def data_summary(results: dict, doc: dict) -> dict:
    data = results.get("data") or {}
    flow = data.get("flow") or {}
    table1 = data.get("table1") or {}
    groups = []
    for col, block in table1.items():
        rows = [{"level": r.get("level", ""), "n": count(r.get("n")), "positive": count(r.get("positive")),
                 "negative": count(r.get("negative")), "missing": r.get("level") == "missing",
                 "patients": count(r.get("patients")), "positive_patients": count(r.get("positive_patients")),
                 "negative_patients": count(r.get("negative_patients"))}
                for r in block.get("rows") or []]
        groups.append({"key": col, "title": TABLE1_TITLES.get(col, col.replace("_", " ").capitalize()),
                       "rows": rows, "missing": block.get("missing") or 0})
    acquisition = data.get("acquisition") or []
    extra_cols = [c for c in ACQUISITION_TITLES if any(c in row for row in acquisition)]
    extra_cols += sorted({k for row in acquisition for k in row}
                         - set(extra_cols) - {"manufacturer", "model", "n"})
    clustering = data.get("clustering") or {}
    per_patient = [{"images": k, "patients": count(v)} for k, v in (clustering.get("images_per_patient") or {}).items()]
    return {
        "flow": {
            "in_manifest": count(flow.get("in_manifest")),
            "analysed": count(flow.get("analysed")),
            "failed": count(flow.get("failed")),
            "indeterminate": count(flow["indeterminate_reference"]) if flow.get("indeterminate_reference") else None,
            "failed_positive": count(flow.get("failed_positive")),
            "failed_negative": count(flow.get("failed_negative")),
            "failed_indeterminate": count(_indeterminate_part(flow, "failed")),
            "reasons": [{"reason": r.get("reason", ""), "n": count(r.get("n"))}
                        for r in flow.get("failure_reasons") or []],
            "excluded": count(flow.get("excluded")) if _shows_exclusions(results) else None,
            "excluded_positive": count(flow.get("excluded_positive")),
            "excluded_negative": count(flow.get("excluded_negative")),
            "excluded_indeterminate": count(_indeterminate_part(flow, "excluded")),
            "exclusion_reasons": [{"reason": r.get("reason", ""), "n": count(r.get("n"))}
                                  for r in flow.get("exclusion_reasons") or []],
        },
        "flow_svg": _flow_figure(results),
        "external_scores": external_scores_line(data.get("external_scores")),
        "table1": groups,
        "table1_totals": _totals(data.get("table1_totals")),
        "by_patient": any(r.get("patients") is not None for b in table1.values() for r in b.get("rows") or []),
        "missing": [g for g in groups if g["missing"]],
        "missing_demographics": missing_demographics_statement(
            _missing_block(results),
            families=list(((results.get("protocol") or {}).get("subgroups") or {}).get("columns") or []),
            fairness_includes_missing=bool(((((results.get("protocol") or {}).get("subgroups") or {})
                                             .get("fairness")) or {}).get("include_missing"))),
        "sites": [{"site": r.get("site", ""), "country": r.get("country") or "not recorded",
                   "images": count(r.get("images")), "patients": count(r.get("patients")),
                   "dates": _date_range(r.get("first_date"), r.get("last_date"))}
                  for r in data.get("sites") or []],
        "dates": _dates_text(data.get("acquisition_dates")),
        "eligibility": _eligibility(results),
        "independence": training_data(results).independence,
        "acquisition": [{"manufacturer": r.get("manufacturer", ""), "model": r.get("model", ""),
                         "n": count(r.get("n")), "cells": [r.get(c, "") or "—" for c in extra_cols]}
                        for r in acquisition],
        "acquisition_columns": [ACQUISITION_TITLES.get(c, c) for c in extra_cols],
        "acquisition_numeric": [c in ACQUISITION_NUMERIC for c in extra_cols],
        "clustering": {
            "n_patients": count(clustering.get("n_patients")),
            "n_images": count(clustering.get("n_images")),
            "clustered": bool(clustering.get("clustered")),
            "per_patient": per_patient,
        } if clustering else None,
        "manifests": [{"path": file_name(m.get("path")), "rows": count(m.get("rows")), "site": m.get("site")}
                      for m in (results.get("provenance") or {}).get("manifests") or []],
    }


def _missing_block(results: dict) -> dict | None:
    """``data.missing_demographics``; in a run written before it, the subgroup section's block."""
    block = (results.get("data") or {}).get("missing_demographics")
    if block:
        return block
    sg = results.get("subgroups") or {}
    return {"n_cases": sg.get("n_total"), **sg["missing_demographics"]} if sg.get("missing_demographics") else None


def _totals(t: dict | None) -> dict | None:
    if not t:
        return None
    return {k: count(t.get(k)) for k in ("n", "positive", "negative", "patients", "positive_patients",
                                         "negative_patients")}


def _date_range(first: str | None, last: str | None) -> str:
    if not first:
        return "not recorded"
    return first if first == last else f"{first} to {last}"


def _dates_text(d: dict | None) -> str:
    """The acquisition-date sentence.

    >>> _dates_text(None)
    'Acquisition dates: not recorded (no DICOM acquisition or study date in the manifests).'
    >>> _dates_text({"first": "2020-01-02", "last": "2021-05-06", "n_recorded": 9, "n": 10})
    'Acquisition dates: 2020-01-02 to 2021-05-06 (recorded for 9 of 10 images).'
    """
    if not d:
        return "Acquisition dates: not recorded (no DICOM acquisition or study date in the manifests)."
    return (f"Acquisition dates: {_date_range(d.get('first'), d.get('last'))} "
            f"(recorded for {count(d.get('n_recorded'))} of {count(d.get('n'))} images).")


def _eligibility(results: dict) -> dict:
    """The protocol's inclusion/exclusion criteria, verbatim; absent → to be supplied by the sponsor."""
    e = (results.get("protocol") or {}).get("eligibility") or {}
    inclusion, exclusion = list(e.get("inclusion") or []), list(e.get("exclusion") or [])
    return {"inclusion": inclusion, "exclusion": exclusion,
            "missing": None if inclusion or exclusion else f"Eligibility criteria: {SPONSOR}."}
