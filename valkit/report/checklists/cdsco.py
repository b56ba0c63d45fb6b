"""CDSCO cross-reference: India's Medical Devices Rules, 2017, Device Master File and Essential Principles.

Sources: Medical Devices Rules, 2017 (G.S.R. 78(E), 31 January 2017), Fourth Schedule, Appendix II
"Device Master File" (executive summary; device description and product specification; labelling;
design and manufacturing information; essential principles checklist; risk analysis and control
summary; product verification and validation, including software verification and validation and
clinical evidence; post-marketing surveillance data), and the Essential Principles for safety and
performance of medical devices that the DMF's checklist follows (after the GHTF/IMDRF essential
principles); CDSCO draft guidance document on medical device software (October 2025). Rows name the
DMF sections and the Essential Principles by title, not by paragraph number: check the numbering of
the edition the application uses.

Only the parts that concern performance evaluation map to this report; the rest is the sponsor's.
"""
from __future__ import annotations

from valkit.report.checklists import MISSING, PARTLY, SPONSOR, Checklist, Item, has, model_card, never, targeted


DMF = "Device Master File (Fourth Schedule, Appendix II)"
EP = "Essential Principles checklist (rows on software and performance)"

ITEMS: tuple[Item, ...] = tuple(Item(*row) for row in (
    ("DMF", "Executive summary", "Overview of the device, intended use, and the evidence", "executive-summary",
     has("endpoints"), "the summary of the performance evaluation; the DMF executive summary is " + SPONSOR,
     MISSING, SPONSOR, DMF, PARTLY),
    ("DMF", "Device description", "Device description and product specification, including software and its "
     "inputs and outputs", "device-and-model", model_card, "model, inputs, outputs and operating point; the full "
     "product specification is " + SPONSOR, MISSING, SPONSOR, DMF, PARTLY),
    ("DMF", "Labelling", "Labels, instructions for use and their performance claims", "conclusions",
     has("endpoints"), "the performance claims this report supports and their scope; the labelling is "
     + SPONSOR, MISSING, SPONSOR, DMF, PARTLY),
    ("DMF", "Design and manufacturing", "Design and manufacturing information", "device-and-model", never, "",
     MISSING, SPONSOR, DMF),
    ("DMF", "Risk analysis and control", "Risk analysis and control summary (ISO 14971)", "failure-analysis",
     has("explainability"), "failure modes found in the test data; the risk file is " + SPONSOR, MISSING,
     SPONSOR, DMF, PARTLY),
    ("DMF", "Verification and validation", "Product verification and validation: performance testing against "
     "the specification", "primary-results", has("primary"), "pre-specified performance goals judged on the 95% "
     "CI bound", MISSING, SPONSOR, DMF),
    ("DMF", "Software verification and validation", "Software verification and validation, including the "
     "tested version", "index-test", has("inference"), "the tested model version and weights digest, the run "
     "environment and valkit's own verification; the software life-cycle records (IEC 62304) are " + SPONSOR,
     MISSING, SPONSOR, DMF, PARTLY),
    ("DMF", "Clinical evidence", "Clinical evidence: performance evaluation on clinical data", "primary-results",
     has("primary"), "clinical performance on the test images, by subgroup, site and scanner; a clinical "
     "investigation, if required, is " + SPONSOR, MISSING, SPONSOR, DMF, PARTLY),
    ("DMF", "Post-marketing surveillance", "Post-marketing surveillance data and plan", "conclusions", never, "",
     MISSING, SPONSOR, DMF),
    ("EP", "Performance", "The device achieves the performance intended by the manufacturer", "primary-results",
     has("endpoints"), "each goal fixed in the protocol, judged on its 95% CI bound", MISSING, SPONSOR, EP),
    ("EP", "Benefit and risk", "Risks are acceptable when weighed against the benefits", "limitations", never, "",
     MISSING, SPONSOR, EP),
    ("EP", "Diagnostic function", "Devices with a diagnostic function give sufficient accuracy, within stated "
     "limits", "primary-results", has("primary"), "sensitivity, specificity and AUC with 95% CIs; subgroups",
     MISSING, SPONSOR, EP),
    ("EP", "Performance across the population", "Performance holds across the intended population and conditions "
     "of use", "subgroups-and-fairness", has("subgroups"), "pre-specified subgroups, fairness, sites and scanners",
     MISSING, SPONSOR, EP),
    ("EP", "Software", "Software is validated according to the state of the art (life cycle, risk management, "
     "verification and validation)", "tool-validation", has("tool_validation"), "the performance validation of "
     "the locked version and the verification of the analysis software; the life-cycle documentation is "
     + SPONSOR, MISSING, SPONSOR, EP, PARTLY),
    ("EP", "IT security", "Protection against unauthorised access (cybersecurity)", "index-test", never, "",
     MISSING, SPONSOR, EP),
    ("EP", "Information supplied", "Labelling and instructions give the performance and its limitations",
     "limitations", has("endpoints"), "limitations and scope of claims; the labelling is " + SPONSOR, MISSING,
     SPONSOR, EP, PARTLY),
    ("EP", "Clinical evaluation", "Clinical evidence supports the safety and performance claims", "conclusions",
     has("endpoints"), "conclusions on the acceptance criteria and the scope of claims", MISSING, SPONSOR, EP,
     PARTLY),
))


CHECKLIST = Checklist(
    id="cdsco-cross-reference",
    title="CDSCO cross-reference",
    citation="Medical Devices Rules, 2017, Fourth Schedule, Appendix II; Essential Principles",
    intro="Where this report addresses the parts of the Device Master File under India's Medical Devices Rules, "
          "2017, and the rows of the Essential Principles checklist that concern software and performance. "
          "The other parts of the file are the sponsor's.",
    closing="",
    items=ITEMS,
    applies=targeted("CDSCO"),
)

__all__ = ["CHECKLIST", "ITEMS"]
