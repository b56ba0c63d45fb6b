"""Test data (flow of cases, Table 1, acquisition, clustering) and the reference standard."""
from __future__ import annotations

from markupsafe import Markup

from valkit.report.figures import FlowCounts, flow_svg
from valkit.report.formatting import count, file_name, plural
from valkit.report.sections.common import true_reference

TABLE1_TITLES = {
    "site": "Site",
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
    agree = not true_reference(results)
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
        analysed=count(flow.get("analysed")),
        positive=count(primary.get("n_positive")),
        negative=count(primary.get("n_negative")),
        tp=count(conf.get("tp")), fn=count(conf.get("fn")), fp=count(conf.get("fp")), tn=count(conf.get("tn")),
        positive_label="Reference positive" if not agree else "Comparator positive",
        negative_label="Reference negative" if not agree else "Comparator negative",
    )
    return Markup(flow_svg(counts))


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
                 "negative": count(r.get("negative")), "missing": r.get("level") == "missing"}
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
            "failed_positive": count(flow.get("failed_positive")),
            "failed_negative": count(flow.get("failed_negative")),
            "reasons": [{"reason": r.get("reason", ""), "n": count(r.get("n"))}
                        for r in flow.get("failure_reasons") or []],
            "excluded": count(flow.get("excluded")) if _shows_exclusions(results) else None,
            "excluded_positive": count(flow.get("excluded_positive")),
            "excluded_negative": count(flow.get("excluded_negative")),
            "exclusion_reasons": [{"reason": r.get("reason", ""), "n": count(r.get("n"))}
                                  for r in flow.get("exclusion_reasons") or []],
        },
        "flow_svg": _flow_figure(results),
        "external_scores": external_scores_line(data.get("external_scores")),
        "table1": groups,
        "missing": [g for g in groups if g["missing"]],
        "acquisition": [{"manufacturer": r.get("manufacturer", ""), "model": r.get("model", ""),
                         "n": count(r.get("n")), "cells": [r.get(c, "") or "—" for c in extra_cols]}
                        for r in acquisition],
        "acquisition_columns": [ACQUISITION_TITLES.get(c, c) for c in extra_cols],
        "clustering": {
            "n_patients": count(clustering.get("n_patients")),
            "n_images": count(clustering.get("n_images")),
            "clustered": bool(clustering.get("clustered")),
            "per_patient": per_patient,
        } if clustering else None,
        "manifests": [{"path": file_name(m.get("path")), "rows": count(m.get("rows")), "site": m.get("site")}
                      for m in (results.get("provenance") or {}).get("manifests") or []],
    }


def reference_standard(results: dict, doc: dict) -> dict | None:
    ref = (results.get("protocol") or {}).get("reference_standard")
    if not ref:
        return None
    primary = results.get("primary") or {}
    flow = (results.get("data") or {}).get("flow") or {}
    return {
        "description": ref.get("description", ""),
        "column": ref.get("column", "label"),
        "true_reference": bool(ref.get("is_true_reference_standard", True)),
        "n_positive": count(primary.get("n_positive")),
        "n_negative": count(primary.get("n_negative")),
        "failed_positive": count(flow.get("failed_positive")),
        "failed_negative": count(flow.get("failed_negative")),
    }
