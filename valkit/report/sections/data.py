"""Test data (flow of cases, Table 1, acquisition, clustering).

Reads the typed results (:class:`~valkit.results_schema.Results`, as every section of
:data:`valkit.report.context.SECTIONS`): every field read here is declared by
:mod:`valkit.results_schema.data`; an optional part that the section can do without is tested
``is None``. Helpers shared with other sections take the typed results too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from valkit.report.figures import FlowCounts, flow_svg
from valkit.report.formatting import count, file_name, plural
from valkit.report.sections.common import comparison_terms
from valkit.report.sections.missing_data import missing_demographics_statement
from valkit.report.sections.training_data import SPONSOR, training_data

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.data import AcquisitionDates, CaseFlow, ExternalScores, Table1Totals
    from valkit.results_schema.subgroups import MissingDemographics

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


def _shows_exclusions(results: Results) -> bool:
    """Exclusions are shown (even zero) where the model card's accepts block was applied, or any happened."""
    return bool(results.data.flow.excluded or results.model.kind == "model_card")


def _indeterminate_part(total: int, positive: int, negative: int) -> int:
    """Cases of a box (failed or excluded) whose reference standard is indeterminate: neither of the
    box's positive and negative counts (results.json records those two and the box's total).

    >>> _indeterminate_part(5, 2, 1)
    2
    """
    return max(0, total - positive - negative)


def _failed_indeterminate(flow: CaseFlow) -> int:
    return _indeterminate_part(flow.failed, flow.failed_positive, flow.failed_negative)


def _excluded_indeterminate(flow: CaseFlow) -> int:
    return _indeterminate_part(flow.excluded, flow.excluded_positive, flow.excluded_negative)


def _indeterminate(flow: CaseFlow) -> str | None:
    """The scored cases with an indeterminate reference standard; ``None`` when there are none (no box)."""
    return count(flow.indeterminate_reference) if flow.indeterminate_reference else None


def _flow_figure(results: Results) -> Markup:
    flow = results.data.flow
    primary = results.primary
    conf = primary.confusion
    terms = comparison_terms(results)
    counts = FlowCounts(
        in_manifest=count(flow.in_manifest),
        failed=count(flow.failed),
        failed_positive=count(flow.failed_positive),
        failed_negative=count(flow.failed_negative),
        failure_reasons=[(r.reason, count(r.n)) for r in flow.failure_reasons],
        excluded=count(flow.excluded) if _shows_exclusions(results) else None,
        excluded_positive=count(flow.excluded_positive),
        excluded_negative=count(flow.excluded_negative),
        exclusion_reasons=[(r.reason, count(r.n)) for r in flow.exclusion_reasons],
        indeterminate=_indeterminate(flow),
        excluded_indeterminate=count(_excluded_indeterminate(flow)),
        failed_indeterminate=count(_failed_indeterminate(flow)),
        analysed=count(flow.analysed),
        positive=count(primary.n_positive),
        negative=count(primary.n_negative),
        tp=count(conf.tp), fn=count(conf.fn), fp=count(conf.fp), tn=count(conf.tn),
        positive_label=terms["positive"],
        negative_label=terms["negative"],
    )
    return Markup(flow_svg(counts))


def external_scores_line(acc: ExternalScores | None) -> str | None:
    """The accountability line for an external scores file: every row matched to a case or listed.

    >>> from valkit.results_schema.data import ExternalScores
    >>> external_scores_line(ExternalScores(path="s.csv", rows_in_file=5, matched=4, not_in_manifest=1,
    ...                                     not_in_manifest_examples=["X1"], score_range=[0, 100]))
    'Scores file s.csv (score range [0, 100]): 5 rows, 4 matched to manifest cases; 1 case id not in the manifest was not analysed (X1).'
    """
    if acc is None:
        return None
    lo, hi = acc.score_range
    text = (f"Scores file {file_name(acc.path)} (score range [{lo:g}, {hi:g}]): {count(acc.rows_in_file)} rows, "
            f"{count(acc.matched)} matched to manifest cases")
    n_out = acc.not_in_manifest
    if not n_out:
        return text + "; every row matched a manifest case."
    shown = acc.not_in_manifest_examples
    more = ", …" if n_out > len(shown) else ""
    return (text + f"; {plural(n_out, 'case id')} not in the manifest {'was' if n_out == 1 else 'were'} not analysed "
            f"({', '.join(shown)}{more}).")


def _flow(results: Results) -> dict:
    flow = results.data.flow
    return {
        "in_manifest": count(flow.in_manifest),
        "analysed": count(flow.analysed),
        "failed": count(flow.failed),
        "indeterminate": _indeterminate(flow),
        "failed_positive": count(flow.failed_positive),
        "failed_negative": count(flow.failed_negative),
        "failed_indeterminate": count(_failed_indeterminate(flow)),
        "reasons": [{"reason": r.reason, "n": count(r.n)} for r in flow.failure_reasons],
        "excluded": count(flow.excluded) if _shows_exclusions(results) else None,
        "excluded_positive": count(flow.excluded_positive),
        "excluded_negative": count(flow.excluded_negative),
        "excluded_indeterminate": count(_excluded_indeterminate(flow)),
        "exclusion_reasons": [{"reason": r.reason, "n": count(r.n)} for r in flow.exclusion_reasons],
    }


def _table1(results: Results) -> list[dict]:
    groups = []
    for col, block in results.data.table1.items():
        rows = [{"level": r.level, "n": count(r.n), "positive": count(r.positive),
                 "negative": count(r.negative), "missing": r.level == "missing",
                 "patients": count(r.patients), "positive_patients": count(r.positive_patients),
                 "negative_patients": count(r.negative_patients)}
                for r in block.rows]
        groups.append({"key": col, "title": TABLE1_TITLES.get(col, col.replace("_", " ").capitalize()),
                       "rows": rows, "missing": block.missing})
    return groups


def _acquisition(results: Results) -> dict:
    """The acquisition table: a parameter column for each header the run read (a key written for some row,
    even when every value is empty)."""
    acquisition = results.data.acquisition
    cols = [c for c in ACQUISITION_TITLES if any(c in row.model_fields_set for row in acquisition)]
    return {
        "acquisition": [{"manufacturer": r.manufacturer, "model": r.model, "n": count(r.n),
                         "cells": [getattr(r, c) or "—" for c in cols]}  # c: a declared field of AcquisitionRow
                        for r in acquisition],
        "acquisition_columns": [ACQUISITION_TITLES[c] for c in cols],
        "acquisition_numeric": [c in ACQUISITION_NUMERIC for c in cols],
    }


def data_summary(results: Results, doc: dict) -> dict:
    data = results.data
    groups = _table1(results)
    clustering = data.clustering
    subgroups = results.protocol.subgroups
    return {
        "flow": _flow(results),
        "flow_svg": _flow_figure(results),
        "external_scores": external_scores_line(data.external_scores),
        "table1": groups,
        "table1_totals": _totals(data.table1_totals),
        "by_patient": any(r.patients is not None for b in data.table1.values() for r in b.rows),
        "missing": [g for g in groups if g["missing"]],
        "missing_demographics": missing_demographics_statement(
            _missing_block(results), families=list(subgroups.columns),
            fairness_includes_missing=subgroups.fairness.include_missing),
        "sites": [{"site": r.site, "country": r.country or "not recorded",
                   "images": count(r.images), "patients": count(r.patients),
                   "dates": _date_range(r.first_date, r.last_date)}
                  for r in data.sites or []],  # None: a run written before issue #15, no site table
        "dates": _dates_text(data.acquisition_dates),
        "eligibility": _eligibility(results),
        "independence": training_data(results).independence,
        **_acquisition(results),
        "clustering": {
            "n_patients": count(clustering.n_patients),
            "n_images": count(clustering.n_images),
            "clustered": clustering.clustered,
            "per_patient": [{"images": k, "patients": count(v)} for k, v in clustering.images_per_patient.items()],
        },
        "manifests": [{"path": file_name(m.path), "rows": count(m.rows), "site": m.site}
                      for m in results.provenance.manifests],
    }


def _missing_block(results: Results) -> MissingDemographics | None:
    """``data.missing_demographics``; in a run written before it, the subgroup section's block, out of
    the subgroup analysis' cases."""
    if results.data.missing_demographics is not None:
        return results.data.missing_demographics
    if results.subgroups is None:
        return None
    block = results.subgroups.missing_demographics
    return block if block.n_cases is not None else block.model_copy(update={"n_cases": results.subgroups.n_total})


def _totals(t: Table1Totals | None) -> dict | None:
    if t is None:
        return None
    return {"n": count(t.n), "positive": count(t.positive), "negative": count(t.negative),
            "patients": count(t.patients), "positive_patients": count(t.positive_patients),
            "negative_patients": count(t.negative_patients)}


def _date_range(first: str | None, last: str | None) -> str:
    if not first:
        return "not recorded"
    return first if first == last else f"{first} to {last}"


def _dates_text(d: AcquisitionDates | None) -> str:
    """The acquisition-date sentence.

    >>> from valkit.results_schema.data import AcquisitionDates
    >>> _dates_text(None)
    'Acquisition dates: not recorded (no DICOM acquisition or study date in the manifests).'
    >>> _dates_text(AcquisitionDates(first="2020-01-02", last="2021-05-06", n_recorded=9, n=10))
    'Acquisition dates: 2020-01-02 to 2021-05-06 (recorded for 9 of 10 images).'
    """
    if d is None:
        return "Acquisition dates: not recorded (no DICOM acquisition or study date in the manifests)."
    return (f"Acquisition dates: {_date_range(d.first, d.last)} "
            f"(recorded for {count(d.n_recorded)} of {count(d.n)} images).")


def _eligibility(results: Results) -> dict:
    """The protocol's inclusion/exclusion criteria, verbatim; absent → to be supplied by the sponsor."""
    e = results.protocol.eligibility
    inclusion = list(e.inclusion) if e is not None else []
    exclusion = list(e.exclusion) if e is not None else []
    return {"inclusion": inclusion, "exclusion": exclusion,
            "missing": None if inclusion or exclusion else f"Eligibility criteria: {SPONSOR}."}
