"""FDA cross-reference: the AI-enabled device software functions guidance and the regulation's special controls.

Sources:

* FDA draft guidance "Artificial Intelligence-Enabled Device Software Functions: Lifecycle Management
  and Marketing Submission Recommendations" (January 2025, docket FDA-2024-D-4488): the
  recommended sections of a marketing submission (device description, user interface, labeling,
  risk assessment, data management, model description and development, validation, device
  performance monitoring, cybersecurity, public submission summary) and its appendices on
  performance validation and the model card (Appendix E). Rows name the sections by title.
* The special controls of the regulation named in the protocol (``regulatory.fda.regulation_number``),
  paraphrased: 21 CFR 892.2060 (DEN170022; codified text read on a casetext mirror of the CFR),
  892.2070 (85 FR 3545, 2020-00494; findlaw copy of the CFR), 892.2080 (85 FR 3543, 2020-00496),
  892.2090 (90 FR 24969, 2025-10789; customsmobile copy of the CFR), 892.2050 (class II with
  voluntary standards DICOM, JPEG and SMPTE test pattern, 63 FR 23387 as amended 86 FR 20284).
  Paragraphs (b)(1)(i)-(iii) were read in those texts; the later paragraphs' order follows the same
  codified texts as far as they were available, so check the numbering against eCFR before citing it.

Every row maps to the report section that addresses it, or says "to be supplied by the sponsor":
this report is the performance-validation part of a submission, not the whole of it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.regulatory.product_codes import regulation_section
from valkit.report.checklists import (MISSING, PARTLY, REPORTED, SPONSOR, Checklist, Item, has, model_card, never,
                                      regulatory, targeted)

if TYPE_CHECKING:
    from valkit.results_schema import Results


def _all(*conds):
    return lambda r: all(c(r) for c in conds)


G = "AI-enabled device software functions guidance (draft, January 2025)"

GUIDANCE: tuple[Item, ...] = tuple(Item(*row[:8], group=G, best=row[8] if len(row) > 8 else REPORTED) for row in (
    ("Device description", "Device", "Statement that AI is used; inputs and outputs; how AI achieves the intended "
     "use; intended users and setting", "device-and-model", model_card, "inputs, outputs and model from the model "
     "card; intended use in its section; the full device description (non-AI functions, workflow) is " + SPONSOR,
     MISSING, SPONSOR, PARTLY),
    ("User interface", "Device", "How the user interacts with the device and sees its output", "device-and-model",
     never, "", MISSING, SPONSOR),
    ("Labeling", "Device", "Model inputs and outputs, performance, limitations, the population the device was "
     "validated on", "primary-results", has("primary"), "results, subgroups and limitations in this report are "
     "the evidence for labeling; the labeling itself is " + SPONSOR, MISSING, SPONSOR, PARTLY),
    ("Risk assessment", "Device", "Risk management file, including risks of wrong or missing output",
     "failure-analysis", has("explainability"), "failure modes found in the test data; the risk management "
     "file (ISO 14971) is " + SPONSOR, MISSING, SPONSOR, PARTLY),
    ("Data management", "Data", "Collection, sources, reference standard, representativeness and independence of "
     "the test data from development data", "test-data", has("data"), "test data, sites, scanners, "
     "demographics and case flow; data collection and storage practices are " + SPONSOR, MISSING, SPONSOR, PARTLY),
    ("Model description and development", "Model", "Model architecture, inputs, outputs, training and tuning",
     "device-and-model", model_card, "architecture and the model card's development summary; the full development "
     "record is " + SPONSOR, MISSING, "external predictions: " + SPONSOR, PARTLY),
    ("Validation: performance", "Validation", "Pre-specified standalone performance with 95% CIs against "
     "performance goals", "primary-results", has("primary"), "", MISSING, ""),
    ("Validation: subgroups", "Validation", "Performance across subgroups (sex, age, race/ethnicity, sites, "
     "scanners) with their uncertainty", "subgroups-and-fairness", has("subgroups"), "", MISSING, ""),
    ("Validation: study design", "Validation", "Test data sequestered from development; protocol fixed before "
     "the test data were opened (Appendix C)", "design", has("traceability"),
     "timeline of the protocol lock, the test-set opening and the primary run", MISSING, SPONSOR),
    ("Validation: human factors", "Validation", "Usability evaluation and, where applicable, a reader study of "
     "aided performance", "reader-study", has("reader_study"), "reader study of aided against unaided reading; "
     "the usability evaluation is " + SPONSOR, MISSING, SPONSOR, PARTLY),
    ("Device performance monitoring", "Lifecycle", "Plan to monitor performance after deployment", "conclusions",
     never, "", MISSING, SPONSOR),
    ("Cybersecurity", "Lifecycle", "Cybersecurity controls, including AI-specific threats", "conclusions", never,
     "", MISSING, SPONSOR),
    ("Public submission summary", "Summary", "Summary for the public, including a model card", "executive-summary",
     has("endpoints"), "the executive summary gives the results with 95% CIs; the public summary is " + SPONSOR,
     MISSING, SPONSOR, PARTLY),
    ("Appendix E model card", "Summary", "Model card: intended use, inputs, outputs, architecture, performance "
     "with 95% CIs, limitations, data characterisation", "device-and-model", model_card,
     "model card content under Device and model, with results in their sections", MISSING,
     "external predictions: the vendor's model card is " + SPONSOR, PARTLY),
))

# special-control rows: key -> (section id, condition, status when it holds, note, status otherwise, note)
_MAP = {
    "algorithm": ("device-and-model", model_card, PARTLY, "inputs, outputs, architecture and limitations from the "
                  "model card; each major component is " + SPONSOR, MISSING, SPONSOR),
    "protocol": ("objectives", has("endpoints"), REPORTED, "endpoints, goals and methods fixed in the locked "
                 "protocol; test data in their section", MISSING, SPONSOR),
    "standalone": ("primary-results", has("primary"), REPORTED, "standalone accuracy with 95% CIs (ROC, "
                   "sensitivity, specificity, predictive values)", MISSING, SPONSOR),
    "subsets": ("subgroups-and-fairness", has("subgroups"), REPORTED, "every pre-specified subgroup with its "
                "counts and 95% CI; cells below the evidence rule flagged", MISSING, SPONSOR),
    "reader": ("reader-study", has("reader_study"), REPORTED, "multi-reader study of aided against unaided "
               "reading", MISSING, "no reader study in this report; " + SPONSOR),
    "triage": ("computational-performance", has("latency"), PARTLY, "processing time measured; the effect on "
               "time to review in the clinical workflow is " + SPONSOR, MISSING, SPONSOR),
    "software": ("tool-validation", never, PARTLY, "", MISSING, "device hazard analysis, software requirements "
                 "and design, traceability, verification and cybersecurity are " + SPONSOR),
    "population": ("intended-use", has("data"), PARTLY, "intended use and the tested population; the labeling "
                   "is " + SPONSOR, MISSING, SPONSOR),
    "io": ("device-and-model", model_card, PARTLY, "inputs and outputs from the model card; the labeling is "
           + SPONSOR, MISSING, SPONSOR),
    "hardware": ("test-data", has("data"), PARTLY, "scanners of the test data; the compatible hardware and "
                 "imaging protocols in the labeling are " + SPONSOR, MISSING, SPONSOR),
    "warnings": ("limitations", has("endpoints"), PARTLY, "limitations and failure modes found; the warnings in "
                 "the labeling are " + SPONSOR, MISSING, SPONSOR),
    "summary": ("primary-results", _all(has("primary"), has("subgroups")), REPORTED, "test methods, dataset "
                "characteristics, results and subgroup analyses for the labeling summary", MISSING, SPONSOR),
    "sponsor": ("intended-use", never, PARTLY, "", MISSING, SPONSOR),
    "dicom": ("index-test", has("inference"), PARTLY, "the images were read as DICOM; the device's DICOM "
              "conformance is " + SPONSOR, MISSING, SPONSOR),
}

_DV, _LB = "(b)(1) Design verification and validation", "(b)(2) Labeling"
_CADE_LABELING = (
    ("(2)(i)", _LB, "Patient population for which the device is indicated", "population"),
    ("(2)(ii)", _LB, "Device inputs and outputs", "io"),
    ("(2)(iii)", _LB, "Intended user and user training", "sponsor"),
    ("(2)(iv)", _LB, "Warnings, precautions and limitations, including situations where the device may fail or "
     "perform below expectations (poor image quality, subpopulations)", "warnings"),
    ("(2)(v)", _LB, "Compatible imaging hardware and imaging protocols", "hardware"),
    ("(2)(vi)", _LB, "Intended reading protocol and how to interpret the output", "sponsor"),
    ("(2)(vii)", _LB, "Detailed instructions for use", "sponsor"),
    ("(2)(viii)", _LB, "Summary of performance testing: methods, dataset characteristics, results, sub-analyses "
     "stratified by relevant confounders (lesion and organ characteristics, disease stage, imaging equipment)",
     "summary"),
)
SPECIAL_CONTROLS: dict[str, tuple[str, tuple[tuple[str, str, str, str], ...]]] = {
    "892.2060": ("Radiological computer-assisted diagnostic software for lesions suspicious of cancer", (
        ("(1)(i)", _DV, "Image analysis algorithm: inputs, outputs, each major component, limitations", "algorithm"),
        ("(1)(ii)", _DV, "Pre-specified performance testing protocols and datasets", "protocol"),
        ("(1)(iii)", _DV, "Results showing improved reader performance in the intended use population, with "
         "diagnostic accuracy measures and enough cases in important subsets for their CIs", "reader"),
        ("(1)(iii)", _DV, "… the subsets (confounders, effect modifiers, acquisition characteristics)", "subsets"),
        ("(1)(iv)", _DV, "Standalone performance testing protocols and results", "standalone"),
        ("(1)(v)", _DV, "Software documentation: hazard analysis, requirements, design, traceability, "
         "verification and validation", "software"),
        ("(2)(i)", _LB, "Patient population for which the device is indicated", "population"),
        ("(2)(ii)", _LB, "Intended user and user training", "sponsor"),
        ("(2)(iii)", _LB, "Warnings, precautions and limitations, including where the device may fail",
         "warnings"),
        ("(2)(iv)", _LB, "Detailed instructions for use", "sponsor"),
        ("(2)(v)", _LB, "Summary of performance testing, with sub-analyses by relevant confounders", "summary"),
    )),
    "892.2070": ("Medical image analyzer", (
        ("(1)(i)", _DV, "Image analysis algorithms: inputs, outputs, each major component, limitations",
         "algorithm"),
        ("(1)(ii)", _DV, "Pre-specified performance testing methods and datasets, to assess reader improvement and "
         "to characterise standalone performance", "protocol"),
        ("(1)(ii)", _DV, "… standalone performance", "standalone"),
        ("(1)(iii)", _DV, "Results showing improved reader performance in the intended use population, with "
         "diagnostic accuracy measures", "reader"),
        ("(1)(iii)", _DV, "… with enough cases in important subsets for their performance estimates and CIs",
         "subsets"),
        ("(1)(iv)", _DV, "Software documentation: hazard analysis, cybersecurity, verification and validation",
         "software"),
    ) + _CADE_LABELING),
    "892.2080": ("Radiological computer aided triage and notification software", (
        ("(1)(i)", _DV, "Image analysis algorithm: inputs, outputs, each major component, limitations",
         "algorithm"),
        ("(1)(ii)", _DV, "Pre-specified performance testing methods and datasets to assess effective triage",
         "protocol"),
        ("(1)(iii)", _DV, "Results showing effective triage (e.g. time to review of flagged cases)", "triage"),
        ("(1)(iii)", _DV, "… with enough cases in important subsets for their estimates and CIs", "subsets"),
        ("(1)(iv)", _DV, "Standalone performance testing protocols and results", "standalone"),
        ("(1)(v)", _DV, "Software documentation: hazard analysis, cybersecurity, verification and validation",
         "software"),
        ("(2)(i)", _LB, "Patient population for which the device is indicated", "population"),
        ("(2)(ii)", _LB, "Intended user and user training", "sponsor"),
        ("(2)(iii)", _LB, "Warnings, precautions and limitations", "warnings"),
        ("(2)(iv)", _LB, "Instructions for use", "sponsor"),
        ("(2)(v)", _LB, "Summary of performance testing, with sub-analyses by relevant confounders", "summary"),
    )),
    "892.2090": ("Radiological computer-assisted detection and diagnosis software", (
        ("(1)(i)", _DV, "Image analysis algorithm: inputs, outputs, each major component, how the output relates "
         "to clinical practice, limitations", "algorithm"),
        ("(1)(ii)", _DV, "Pre-specified performance testing protocols and datasets for assisted reading and to "
         "characterise standalone performance (standalone, side-by-side and/or reader study)", "protocol"),
        ("(1)(iii)", _DV, "Standalone performance results with diagnostic accuracy measures", "standalone"),
        ("(1)(iii)", _DV, "… with enough cases in important subsets for their estimates and CIs", "subsets"),
        ("(1)(iv)", _DV, "Results showing improved assisted-read performance by the intended users", "reader"),
        ("(1)(v)", _DV, "Software documentation: hazard analysis, cybersecurity, verification and validation",
         "software"),
    ) + _CADE_LABELING),
    "892.2050": ("Medical image management and processing system", (
        ("(b)", "(b) Class II: voluntary standards", "Digital Imaging and Communications in Medicine (DICOM)",
         "dicom"),
        ("(b)", "(b) Class II: voluntary standards", "Joint Photographic Experts Group (JPEG)", "sponsor"),
        ("(b)", "(b) Class II: voluntary standards", "SMPTE test pattern (display)", "sponsor"),
    )),
}


def special_control_items(results: Results) -> tuple[Item, ...]:
    """The rows of the special controls of the protocol's regulation; none when valkit has no table for it."""
    target = regulatory(results).fda
    named = None if target is None else target.regulation_number
    if not named:
        return ()
    section = regulation_section(named)
    if section not in SPECIAL_CONTROLS:
        return (Item("—", "Special controls", f"Special controls of {named}", "regulatory-basis", never, "",
                     MISSING, "valkit has no table of this regulation's special controls; the mapping is " + SPONSOR,
                     f"Special controls of {named}"),)
    name, rows = SPECIAL_CONTROLS[section]
    items = []
    for number, part, text, key in rows:
        anchor, when, best, note, otherwise, otherwise_note = _MAP[key]
        items.append(Item(number, part.split(" ", 1)[1], text, anchor, when, note, otherwise, otherwise_note,
                          f"Special controls of 21 CFR {section} ({name})", best))
    return tuple(items)


def items(results: Results) -> tuple[Item, ...]:
    return GUIDANCE + special_control_items(results)


CHECKLIST = Checklist(
    id="fda-cross-reference",
    title="FDA cross-reference",
    citation="FDA draft guidance on AI-enabled device software functions, January 2025; 21 CFR part 892",
    intro="Where this report addresses the sections of FDA's draft guidance on AI-enabled device software "
          "functions that concern performance validation, and the special controls of the regulation named in "
          "the protocol. This report is the performance-validation part of the submission; the other parts "
          "are the sponsor's.",
    closing="",
    items=items,
    applies=targeted("FDA"),
)

__all__ = ["CHECKLIST", "GUIDANCE", "SPECIAL_CONTROLS", "items", "special_control_items"]
