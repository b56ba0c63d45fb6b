"""results.json → template context: document control plus one context dict per section.

A section is a :class:`Section`: an anchor id, a title, a partial template under
``reports/templates/sections/`` and a ``build(results, doc)`` function that returns the
section's context, or ``None`` to leave the section out (its data is absent from
results.json).

The context is built only from a validated :class:`~valkit.results_schema.Results` (a dict is
validated first), so every field a section reads exists. Every section, and every helper shared
between sections (:mod:`valkit.report.sections.common`), receives the typed object and reads
attributes (``results.primary.sensitivity.value``), never a key of results.json.
:data:`SECTIONS` lists them in report order; numbering is assigned here,
so an absent optional section leaves no gap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from valkit.report.sections import (
    appendix,
    baseline,
    calibration,
    checklist,
    data,
    design,
    deviations,
    device,
    discussion,
    failure_analysis,
    model_card,
    performance,
    reader_study,
    reference,
    results as results_sections,
    summary,
)
from valkit.report.checklists import cdsco, claim, fda, tripod_ai
from valkit.report.sections.common import document_control
from valkit.report.sections import subgroups as subgroup_sections

if TYPE_CHECKING:
    from valkit.results_schema import Results

Builder = Callable[[Any, dict], "dict | None"]


@dataclass(frozen=True)
class Section:
    """One report section: ``build`` takes the typed :class:`~valkit.results_schema.Results` and the document
    control dict. ``requires``: top-level results.json blocks without which it is omitted."""

    id: str
    title: str
    template: str
    build: Builder
    requires: tuple[str, ...] = ()
    appendix: bool = False
    new_page: bool = False  # start on a fresh page in the PDF


def _sites_and_scanners(results: "Results", doc: dict) -> dict | None:
    """One section for sites and scanners: with the heterogeneity analysis (per-level 2x2 tables,
    random-effects pooling, leave-one-out, forest plots) when results.json has it, else the
    per-level tables of ``by_site`` / ``by_manufacturer`` alone."""
    if results.sites_and_scanners is not None:
        ctx = subgroup_sections.site_heterogeneity(results, doc)
        if ctx is not None:
            sg = results.protocol.subgroups
            return {"mode": "heterogeneity", "min_positives": sg.min_positives,
                    "evidence_unit": results.methods.evidence_unit, "min_negatives": sg.min_negatives, **ctx}
    ctx = results_sections.sites_and_scanners(results, doc)  # the per-level tables
    return None if ctx is None else {"mode": "levels", **ctx}


SECTIONS: tuple[Section, ...] = (
    Section("executive-summary", "Executive summary", "sections/summary.html.j2", summary.executive_summary,
            requires=("endpoints",), new_page=True),
    Section("intended-use", "Intended use", "sections/intended_use.html.j2", summary.intended_use),
    Section("device-and-model", "Device and model", "sections/device.html.j2", device.device_and_model,
            requires=("model", "operating_point")),
    Section("regulatory-basis", "Regulatory basis", "sections/regulatory.html.j2", device.regulatory_basis),
    Section("objectives", "Objectives, endpoints and hypotheses", "sections/objectives.html.j2",
            summary.objectives, requires=("endpoints",)),
    Section("test-data", "Test data", "sections/test_data.html.j2", data.data_summary, requires=("data",)),
    Section("reference-standard", "Reference standard", "sections/reference_standard.html.j2",
            reference.reference_standard),
    Section("index-test", "Index test execution", "sections/index_test.html.j2", device.index_test),
    Section("statistical-methods", "Statistical methods", "sections/methods.html.j2",
            results_sections.statistical_methods, requires=("methods",)),
    Section("design", "Design and pre-specification", "sections/design.html.j2", design.build,
            requires=("traceability",)),
    Section("deviations", "Deviations and data integrity", "sections/deviations.html.j2", deviations.build,
            requires=("deviations",)),
    Section("primary-results", "Primary results", "sections/primary.html.j2", results_sections.primary_results,
            requires=("primary",)),
    Section("calibration", "Calibration", "sections/calibration.html.j2", calibration.build,
            requires=("calibration",)),
    Section("subgroups-and-fairness", "Subgroups and fairness", "sections/subgroups.html.j2",
            subgroup_sections.subgroups_and_fairness, requires=("subgroups",)),
    Section("sites-and-scanners", "Sites and scanners", "sections/sites.html.j2", _sites_and_scanners),
    Section("comparison-with-cleared-version", "Comparison with the cleared version", "sections/baseline.html.j2",
            baseline.build, requires=("baseline",)),
    Section("reader-study", "Reader study", "sections/reader_study.html.j2", reader_study.build,
            requires=("reader_study",)),
    Section("computational-performance", "Computational performance", "sections/performance.html.j2",
            performance.computational_performance, requires=("latency",)),
    Section("failure-analysis", "Failure analysis", "sections/failure_analysis.html.j2", failure_analysis.build,
            requires=("explainability",)),
    Section("limitations", "Limitations", "sections/limitations.html.j2", discussion.limitations),
    Section("conclusions", "Conclusions", "sections/conclusions.html.j2", discussion.conclusions,
            requires=("endpoints",)),
    Section("model-card", "Model card", "sections/model_card.html.j2", model_card.build,
            requires=("model", "operating_point")),
    Section("provenance", "Provenance", "sections/provenance.html.j2", appendix.provenance,
            requires=("provenance",), appendix=True),
    Section("tool-validation", "Tool validation", "sections/tool_validation.html.j2", appendix.tool_validation,
            requires=("tool_validation",), appendix=True),
    Section("stard-checklist", "STARD 2015 checklist", "sections/checklist.html.j2", checklist.build,
            requires=("endpoints",), appendix=True),
    Section("claim-checklist", "CLAIM 2024 checklist", "sections/checklist.html.j2", checklist.builder(claim.CHECKLIST),
            requires=("endpoints",), appendix=True),
    Section("tripod-ai-checklist", "TRIPOD+AI checklist", "sections/checklist.html.j2",
            checklist.builder(tripod_ai.CHECKLIST), requires=("endpoints",), appendix=True),
    Section("fda-cross-reference", "FDA cross-reference", "sections/checklist.html.j2",
            checklist.builder(fda.CHECKLIST), requires=("endpoints",), appendix=True),
    Section("cdsco-cross-reference", "CDSCO cross-reference", "sections/checklist.html.j2",
            checklist.builder(cdsco.CHECKLIST), requires=("endpoints",), appendix=True),
    Section("per-case-listing", "Per-case listing", "sections/cases.html.j2", appendix.per_case_listing,
            appendix=True),
)


def _number(i_main: int, i_appendix: int, is_appendix: bool) -> str:
    return f"Appendix {chr(ord('A') + i_appendix)}" if is_appendix else str(i_main + 1)


def build_context(results: "Results | dict", *, results_sha256: str,
                  sections: tuple[Section, ...] = SECTIONS, signatures: list[dict] | tuple = ()) -> dict[str, Any]:
    """The whole template context: ``doc`` (document control) and the present ``sections``.

    ``results`` is validated first when it is a dict (:func:`valkit.results_schema.validate_results`).
    ``signatures``: the run's ``signatures.json`` entries (:mod:`valkit.audit.signatures`), shown on
    the document-control page with whether each binds this results.json.
    """
    from valkit.audit.signatures import signature_rows

    from valkit.results_schema import Results, validate_results

    typed = results if isinstance(results, Results) else validate_results(results, source="results given to the report")
    doc = document_control(typed, results_sha256=results_sha256)
    doc["signatures"] = signature_rows(list(signatures), results_sha256)
    present = []
    n_main = n_app = 0
    doc["sections_present"] = []  # ids of the sections built so far: cross-references link only to these
    for sec in sections:
        if any(getattr(typed, key) is None for key in sec.requires):
            continue
        ctx = sec.build(typed, doc)
        if ctx is None:
            continue
        number = _number(n_main, n_app, sec.appendix)
        if sec.appendix:
            n_app += 1
        else:
            n_main += 1
        doc["sections_present"].append(sec.id)
        present.append({"id": sec.id, "title": sec.title, "template": sec.template, "number": number,
                        "appendix": sec.appendix, "new_page": sec.new_page, "ctx": ctx})
    return {"doc": doc, "sections": present}
