"""CLAIM cross-reference: the Checklist for Artificial Intelligence in Medical Imaging.

Mongan J, Moy L, Kahn CE Jr. Checklist for Artificial Intelligence in Medical Imaging (CLAIM): a guide
for authors and reviewers. Radiol Artif Intell 2020;2(2):e200029 (42 items), updated by Tejani AS,
Klontzas ME, Gatti AA, et al. Checklist for Artificial Intelligence in Medical Imaging (CLAIM): 2024
Update. Radiol Artif Intell 2024;6(4):e240300 (which says "reference standard" for "ground truth").
Item texts are paraphrased and shortened; the numbering is that of the 42-item table (checked against
the item list reproduced in BMJ Health Care Inform, Table 4, and PMC8017414). The 2024 update
revised the table; its item list was not available to check (searched again for issue #15: only a
third-party paraphrase was found, which reports 44 items, e.g. "intended sample size" as item 21), so the
appendix title and intro say that the 2020 numbering is used and never cite 2024 item numbers.

valkit validates a locked model on a test set: the development items (partitions, initialisation,
training, model selection, ensembling) are not part of this study and are marked not applicable,
with the model card's development summary pointed to where the run recorded one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.report.checklists import (MISSING, NOT_APPLICABLE, PARTLY, SAMPLE_SIZE_NOTE, SPONSOR, Checklist, Item,
                                      always, has, model_card, never)

if TYPE_CHECKING:
    from valkit.results_schema import Results


def _training(r: Results) -> bool:
    """The model card records how the model was trained (its development partitions)."""
    return r.model.kind == "model_card" and r.model.training is not None


_DEV = ("development of the model is not part of this validation (the model was locked before the test data "
        "were opened); " + SPONSOR + " from the development record")

ITEMS: tuple[Item, ...] = tuple(Item(*row) for row in (
    ("1", "Title", "Identified as a study of AI methodology, naming the category of technology (e.g. deep learning)",
     "device-and-model", has("model"), "cover; the architecture is named under Device and model", MISSING, ""),
    ("2", "Abstract", "Structured summary of design, methods, results and conclusions", "executive-summary",
     always, "", MISSING, ""),
    ("3", "Introduction", "Scientific and clinical background, intended use and clinical role of the AI approach",
     "intended-use", always, "intended use from the protocol and the model card", MISSING, ""),
    ("4", "Introduction", "Study objectives and hypotheses", "objectives", has("endpoints"),
     "endpoints, goals and H0/H1 fixed in the protocol", MISSING, ""),
    ("5", "Study design", "Prospective or retrospective study", "test-data", never, "", MISSING,
     SPONSOR + " (valkit does not know how the images were collected)"),
    ("6", "Study design", "Study goal (model creation, exploratory, feasibility, non-inferiority …)", "objectives",
     has("endpoints"), "validation of a locked model against performance goals set before the run", MISSING, ""),
    ("7", "Data", "Data sources", "test-data", has("data"), "manifests, sites and scanners", MISSING, ""),
    ("8", "Data", "Eligibility criteria", "test-data", never, "", PARTLY,
     "the case flow accounts for every manifest row; the clinical eligibility criteria are " + SPONSOR),
    ("9", "Data", "Data preprocessing steps", "device-and-model", model_card, "input size, intensity window and "
     "output mapping from the model card", MISSING, "external predictions: the vendor's preprocessing is " + SPONSOR),
    ("10", "Data", "Selection of data subsets, if applicable", "test-data", has("data"),
     "every manifest row analysed or excluded, with the reason", MISSING, ""),
    ("11", "Data", "Definitions of data elements, with references to common data elements", "test-data", never, "",
     PARTLY, "the analysed columns are described; references to common data elements are " + SPONSOR),
    ("12", "Data", "De-identification methods", "test-data", never, "", PARTLY,
     "the report shows pseudonymous case ids only; the de-identification of the images is " + SPONSOR),
    ("13", "Data", "How missing data were handled", "test-data", has("data"),
     "cases without a result counted with their reason; missing demographics reported", MISSING, ""),
    ("14", "Reference standard", "Definition of the reference standard, in detail sufficient for replication",
     "reference-standard", always, "as described in the protocol", MISSING, ""),
    ("15", "Reference standard", "Rationale for choosing the reference standard", "reference-standard", never, "",
     PARTLY, "the description is printed; its rationale is " + SPONSOR),
    ("16", "Reference standard", "Source of the reference annotations; qualifications and preparation of the "
     "annotators", "reference-standard", never, "", MISSING, SPONSOR),
    ("17", "Reference standard", "Annotation tools", "reference-standard", never, "", MISSING, SPONSOR),
    ("18", "Reference standard", "Inter- and intra-rater variability, and how discrepancies were resolved",
     "reference-standard", never, "", MISSING, SPONSOR),
    ("19", "Data partitions", "Intended sample size and how it was determined", "statistical-methods",
     has("sample_size"), SAMPLE_SIZE_NOTE, MISSING, "plan it with valkit plan before the study and cite the plan "
     "in the protocol", "", PARTLY),
    ("20", "Data partitions", "How data were assigned to partitions; proportions", "device-and-model", _training,
     "this study uses a test set only; the model card's training, tuning and check data are listed",
     NOT_APPLICABLE, "this study uses a test set only; the development partitions are " + SPONSOR),
    ("21", "Data partitions", "Level at which partitions are disjoint (e.g. patient)", "test-data", never, "",
     PARTLY, "the test set is described under Test data; its independence from the development data at the "
     "patient level is " + SPONSOR),
    ("22", "Model", "Detailed description of the model: inputs, outputs, layers and connections",
     "device-and-model", model_card, "architecture, its parameters, input and output from the model card", MISSING,
     "external predictions: the vendor's model description is " + SPONSOR),
    ("23", "Model", "Software libraries, frameworks and packages", "provenance", has("provenance"),
     "package versions and hardware of the run", MISSING, ""),
    ("24", "Model", "Initialisation of model parameters", "device-and-model", never, "", NOT_APPLICABLE, _DEV),
    ("25", "Training", "Training approach: augmentation, hyperparameters, number of models trained",
     "device-and-model", never, "", NOT_APPLICABLE, _DEV),
    ("26", "Training", "Method of selecting the final model", "device-and-model", never, "", NOT_APPLICABLE, _DEV),
    ("27", "Training", "Ensembling techniques, if applicable", "device-and-model", never, "", NOT_APPLICABLE, _DEV),
    ("28", "Evaluation", "Metrics of model performance", "statistical-methods", has("methods"), "", MISSING, ""),
    ("29", "Evaluation", "Statistical measures of significance and uncertainty", "statistical-methods",
     has("methods"), "95% confidence intervals by the named methods; goals judged on the interval bound",
     MISSING, ""),
    ("30", "Evaluation", "Robustness or sensitivity analysis", "primary-results", has("failures_counted_as_errors"),
     "cases without a valid result counted both ways", MISSING, "not run in this report"),
    ("31", "Evaluation", "Methods for explainability or interpretability, and how they were validated",
     "failure-analysis", has("explainability"), "Grad-CAM maps with a randomisation sanity check and "
     "localisation", MISSING, "not run (the protocol has no explainability block)"),
    ("32", "Evaluation", "Validation or testing on external data", "test-data", never, "", PARTLY,
     "the test set is separate from the development data; whether it comes from other institutions is "
     + SPONSOR),
    ("33", "Results", "Flow of participants or cases, using a diagram", "test-data", has("data"),
     "flow diagram of every manifest row", MISSING, ""),
    ("34", "Results", "Demographic and clinical characteristics of cases in each partition", "test-data",
     has("data"), "Table 1 of the test set", MISSING, ""),
    ("35", "Results", "Performance metrics for the final model on all data partitions", "primary-results",
     has("primary"), "on the test set, the partition this study evaluates", MISSING, ""),
    ("36", "Results", "Estimates of diagnostic accuracy and their precision (such as 95% CIs)", "primary-results",
     has("primary"), "every estimate with N, counts and its CI", MISSING, ""),
    ("37", "Results", "Failure analysis of incorrectly classified cases", "failure-analysis", has("explainability"),
     "false-negative and false-positive galleries with heatmaps", MISSING,
     "not run (the protocol has no explainability block)"),
    ("38", "Discussion", "Study limitations: bias, statistical uncertainty, generalisability", "limitations",
     always, "", MISSING, ""),
    ("39", "Discussion", "Implications for practice, intended use and clinical role", "conclusions",
     has("endpoints"), "conclusions and scope of claims", MISSING, ""),
    ("40", "Other", "Registration number and name of registry", "executive-summary", never, "", MISSING, SPONSOR),
    ("41", "Other", "Where the full study protocol can be accessed", "objectives", always,
     "the protocol file is identified by its SHA-256 (Provenance); where it is filed is " + SPONSOR,
     MISSING, ""),
    ("42", "Other", "Sources of funding and other support; role of funders", "executive-summary", never, "",
     MISSING, SPONSOR),
))

CHECKLIST = Checklist(
    id="claim-checklist",
    title="CLAIM (numbered as in CLAIM 2020)",
    citation="Mongan et al., Radiol Artif Intell 2020;2:e200029; 2024 update by Tejani et al., "
             "Radiol Artif Intell 2024",
    intro="Where this report answers each item of CLAIM, the checklist for artificial intelligence in medical "
          "imaging. Items are numbered as in CLAIM 2020 (Mongan et al. 2020, 42 items); the 2024 update (Tejani et "
          "al. 2024) revised and renumbered the list, and its numbering has not been checked against this table, "
          "so cite the 2024 item numbers from the published update. This study validates a locked model on a test set, so the items on how the model was "
          "developed are not applicable here.",
    closing="Items marked not in this report are for the sponsor to add before submission.",
    items=ITEMS,
)

__all__ = ["CHECKLIST", "ITEMS"]
