"""STARD 2015 cross-reference: each checklist item, where this report answers it, or what is missing.

Bossuyt PM, Reitsma JB, Bruns DE, et al. STARD 2015: an updated list of essential items for
reporting diagnostic accuracy studies. BMJ 2015;351:h5527. Item texts are paraphrased (shortened);
the numbering is the checklist's. A reviewer expects every item addressed: where valkit cannot know
the answer (how participants were recruited, funding, registration), the row says so and names what
the sponsor must add, instead of claiming it.
"""
from __future__ import annotations

from valkit.report.checklists import (
    MISSING,
    NOT_APPLICABLE,
    PARTLY,
    SAMPLE_SIZE_NOTE,
    Checklist,
    Item,
    always,
    eligibility_stated,
    has,
    model_card,
)

# number, topic, item (paraphrased), section id, condition for REPORTED, note when reported,
# status and note otherwise
_ROWS = (
    ("1", "Title", "Identified as a study of diagnostic accuracy with at least one accuracy measure",
     "executive-summary", always, "cover and executive summary", MISSING, ""),
    ("2", "Abstract", "Structured summary of design, methods, results and conclusions",
     "executive-summary", always, "", MISSING, ""),
    ("3", "Introduction", "Scientific and clinical background, intended use and clinical role of the index test",
     "intended-use", always, "intended use from the protocol and the model card", MISSING, ""),
    ("4", "Introduction", "Study objectives and hypotheses", "objectives", has("endpoints"),
     "endpoints, goals and H0/H1 fixed in the protocol", MISSING, ""),
    ("5", "Design", "Whether data collection was planned before (prospective) or after (retrospective) the tests",
     "test-data", lambda r: False, "", MISSING,
     "valkit does not know how the images were collected; state it in the protocol's intended use or a cover note"),
    ("6", "Participants", "Eligibility criteria", "test-data", eligibility_stated,
     "the protocol's inclusion and exclusion criteria, printed as written; the case flow accounts for every row",
     PARTLY,
     "the manifest defines who is analysed and the case flow accounts for every row; the clinical eligibility "
     "criteria must be stated by the sponsor"),
    ("7", "Participants", "On what basis potentially eligible participants were identified", "test-data",
     lambda r: False, "", MISSING, "to be stated by the sponsor (symptoms, previous tests, registry)"),
    ("8", "Participants", "Where and when potentially eligible participants were identified (setting, dates)",
     "test-data", lambda r: False, "", PARTLY, "sites and scanners are reported; recruitment dates are not recorded"),
    ("9", "Participants", "Consecutive, random or convenience series", "test-data", lambda r: False, "", MISSING,
     "to be stated by the sponsor"),
    ("10a", "Test methods", "Index test in sufficient detail to allow replication", "device-and-model",
     has("model"), "model card, weights digest, preprocessing, threshold, run environment (Index test "
     "execution, Appendix Provenance)", MISSING, ""),
    ("10b", "Test methods", "Reference standard in sufficient detail to allow replication", "reference-standard",
     always, "as described in the protocol", MISSING, ""),
    ("11", "Test methods", "Rationale for choosing the reference standard", "reference-standard", lambda r: False,
     "", PARTLY, "the description is printed; its rationale must be given in the protocol's description"),
    ("12a", "Test methods", "Positivity cut-off of the index test, pre-specified or exploratory", "device-and-model",
     has("operating_point"), "operating point, how it was chosen, exploratory flag", MISSING, ""),
    ("12b", "Test methods", "Positivity cut-offs or categories of the reference standard", "reference-standard",
     always, "binary reference standard from the manifest column", MISSING, ""),
    ("13a", "Test methods", "Whether clinical information and reference standard results were available to the "
     "index test", "index-test", model_card, "the model scores pixel data only; no clinical information or "
     "reference result reaches it", MISSING, "external predictions: the sponsor must state what the "
     "vendor's model saw"),
    ("13b", "Test methods", "Whether clinical information and index test results were available to the assessors "
     "of the reference standard", "reference-standard", lambda r: False, "", MISSING, "to be stated by the sponsor"),
    ("14", "Analysis", "Methods for estimating or comparing measures of diagnostic accuracy", "statistical-methods",
     has("methods"), "", MISSING, ""),
    ("15", "Analysis", "How indeterminate index test or reference standard results were handled",
     "primary-results", has("failures_counted_as_errors"), "cases without a valid result: excluded, and counted "
     "both ways", PARTLY, "the reference standard is binary in the manifest; indeterminate references must be "
     "resolved before the run"),
    ("16", "Analysis", "How missing data on the index test and reference standard were handled", "test-data",
     has("data"), "case flow with the reason for every case without a result; missing demographics reported",
     MISSING, ""),
    ("17", "Analysis", "Analyses of variability in accuracy, pre-specified or exploratory", "subgroups-and-fairness",
     has("subgroups"), "subgroups, fairness, sites and scanners; exploratory families marked", MISSING, ""),
    ("18", "Analysis", "Intended sample size and how it was determined", "statistical-methods", has("sample_size"),
     SAMPLE_SIZE_NOTE, MISSING, "plan it with valkit plan (Buderer or exact binomial) before the study and cite "
     "the plan in the protocol", "", PARTLY),
    ("19", "Results", "Flow of participants, using a diagram", "test-data", has("data"),
     "STARD flow diagram of every manifest row", MISSING, ""),
    ("20", "Results", "Baseline demographic and clinical characteristics", "test-data", has("data"),
     "Table 1 by reference standard, acquisition table", MISSING, ""),
    ("21a", "Results", "Distribution of severity of disease in those with the target condition", "test-data",
     lambda r: False, "", PARTLY, "only what the manifest records (e.g. lesion size as a subgroup column)"),
    ("21b", "Results", "Distribution of alternative diagnoses in those without the target condition", "test-data",
     lambda r: False, "", MISSING, "to be provided by the sponsor (a manifest column can be analysed as a subgroup)"),
    ("22", "Results", "Time interval and clinical interventions between index test and reference standard",
     "reference-standard", lambda r: False, "", MISSING, "to be stated by the sponsor"),
    ("23", "Results", "Cross tabulation of index test results by reference standard results", "primary-results",
     has("primary"), "2×2 table with raw counts", MISSING, ""),
    ("24", "Results", "Estimates of diagnostic accuracy and their precision (such as 95% CIs)", "primary-results",
     has("primary"), "every estimate with N, counts and its CI", MISSING, ""),
    ("25", "Results", "Adverse events from performing the index test or the reference standard", "limitations",
     lambda r: False, "", NOT_APPLICABLE, "software applied to existing images; adverse events of the reference "
     "standard, if any, to be stated by the sponsor"),
    ("26", "Discussion", "Limitations: sources of bias, statistical uncertainty, generalisability", "limitations",
     always, "", MISSING, ""),
    ("27", "Discussion", "Implications for practice, intended use and clinical role", "conclusions",
     has("endpoints"), "conclusions and scope of claims", MISSING, ""),
    ("28", "Other", "Registration number and name of registry", "executive-summary", lambda r: False, "", MISSING,
     "to be added by the sponsor"),
    ("29", "Other", "Where the full study protocol can be accessed", "objectives", always,
     "the protocol file is identified by its SHA-256 (Appendix Provenance); say where it is filed", MISSING, ""),
    ("30", "Other", "Sources of funding and other support; role of funders", "executive-summary", lambda r: False,
     "", MISSING, "to be added by the sponsor"),
)

ITEMS: tuple[Item, ...] = tuple(Item(*row) for row in _ROWS)

CHECKLIST = Checklist(
    id="stard-checklist",
    title="STARD 2015",
    citation="Bossuyt et al., BMJ 2015;351:h5527",
    intro="Where this report answers each item of the STARD 2015 checklist for diagnostic accuracy studies "
          "(30 items, four of them in two parts).",
    closing="valkit cannot know how participants were recruited, the study's registration or funding; the "
            "sponsor must add those before submission.",
    items=ITEMS,
)

__all__ = ["CHECKLIST", "ITEMS"]
