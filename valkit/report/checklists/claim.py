"""CLAIM 2024 cross-reference: the Checklist for Artificial Intelligence in Medical Imaging, 2024 update.

Tejani AS, Klontzas ME, Gatti AA, et al. Checklist for Artificial Intelligence in Medical Imaging
(CLAIM): 2024 Update. Radiol Artif Intell 2024;6(4):e240300 (44 items), which replaces Mongan J, Moy L,
Kahn CE Jr., Radiol Artif Intell 2020;2(2):e200029 (42 items). Item numbers, order and headings are those
of the official checklist as published by the RSNA (repository RSNA/CLAIM, docs/checklist.md; copied
with its provenance to tests/data/checklists/claim_2024_items.csv, against which a test checks this
table). Item texts are paraphrased and shortened. The 2024 update says "reference standard" for
"ground truth" and tells internal from external testing (items 32, 33).

valkit validates a locked model on a test set: the development items (partitions, initialisation,
training, model selection, ensembling, evaluation on the development source) are not part of this study
and are marked not applicable, with the model card's development summary pointed to where the run
recorded one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.report.checklists import (MISSING, NOT_APPLICABLE, PARTLY, SAMPLE_SIZE_NOTE, SPONSOR, Checklist, Item,
                                      always, eligibility_stated, has, model_card, never, truthers_stated)

if TYPE_CHECKING:
    from valkit.results_schema import Results


def _training(r: Results) -> bool:
    """The model card records how the model was trained (its development partitions)."""
    return r.model.kind == "model_card" and r.model.training is not None


def _annotation(r: Results) -> bool:
    """The protocol says who labelled the test set or how their disagreements were resolved."""
    ref = r.protocol.reference_standard
    return ref.truthers is not None or ref.adjudication is not None


_DEV = ("development of the model is not part of this validation (the model was locked before the test data "
        "were opened); " + SPONSOR + " from the development record")

ITEMS: tuple[Item, ...] = tuple(Item(*row) for row in (
    ("1", "Title / abstract", "Identification as a study of AI methodology, naming the category of technology "
     "(e.g. deep learning)", "device-and-model", has("model"), "cover; the architecture is named under Device and "
     "model", MISSING, ""),
    ("2", "Abstract", "Summary of study design, methods, results and conclusions", "executive-summary",
     always, "", MISSING, ""),
    ("3", "Introduction", "Scientific and clinical background, intended use and role of the AI approach",
     "intended-use", always, "intended use from the protocol and the model card", MISSING, ""),
    ("4", "Introduction", "Study aims, objectives and hypotheses", "objectives", has("endpoints"),
     "endpoints, goals and H0/H1 fixed in the protocol", MISSING, ""),
    ("5", "Study design", "Prospective or retrospective study", "test-data", never, "", MISSING,
     SPONSOR + " (valkit does not know how the images were collected)"),
    ("6", "Study design", "Study goal (model creation, exploratory, feasibility, non-inferiority …)", "objectives",
     has("endpoints"), "validation of a locked model against performance goals set before the run", MISSING, ""),
    ("7", "Data", "Data sources", "test-data", has("data"), "manifests, sites (with country) and scanners", MISSING,
     ""),
    ("8", "Data", "Inclusion and exclusion criteria", "test-data", eligibility_stated,
     "the protocol's inclusion and exclusion criteria; the case flow accounts for every manifest row", PARTLY,
     "the case flow accounts for every manifest row; the clinical eligibility criteria are " + SPONSOR),
    ("9", "Data", "Data pre-processing", "device-and-model", model_card, "input size, intensity window and "
     "output mapping from the model card", MISSING, "external predictions: the vendor's preprocessing is " + SPONSOR),
    ("10", "Data", "Selection of data subsets, if applicable", "test-data", has("data"),
     "every manifest row analysed or excluded, with the reason", MISSING, ""),
    ("11", "Data", "De-identification methods", "test-data", never, "", PARTLY,
     "the report shows pseudonymous case ids only; the de-identification of the images is " + SPONSOR),
    ("12", "Data", "How missing data were handled", "test-data", has("data"),
     "cases without a result counted with their reason; missing demographics reported", MISSING, ""),
    ("13", "Data", "Image acquisition protocol (manufacturer, acquisition parameters)", "test-data", has("data"),
     "manufacturers, models and acquisition parameters read from the DICOM headers; the acquisition protocols "
     "themselves are " + SPONSOR, MISSING, "", "", PARTLY),
    ("14", "Reference standard", "Definition of the methods used to obtain the reference standard, in detail "
     "sufficient for replication", "reference-standard", always, "as described in the protocol", MISSING, ""),
    ("15", "Reference standard", "Rationale for choosing the reference standard", "reference-standard", never, "",
     PARTLY, "the description is printed; its rationale is " + SPONSOR),
    ("16", "Reference standard", "Source of the reference standard annotations; qualifications of the annotators",
     "reference-standard", truthers_stated, "the truthers and their qualifications as stated in the protocol", MISSING,
     SPONSOR),
    ("17", "Reference standard", "Annotation of the test set: steps, instructions and tools", "reference-standard",
     _annotation, "the number of truthers and the adjudication rule as stated in the protocol; annotation "
     "instructions and tools are " + SPONSOR, MISSING, SPONSOR, "", PARTLY),
    ("18", "Reference standard", "Measures of inter- and intra-rater variability, and how discrepancies were "
     "resolved", "reference-standard", has("reference_agreement"), "Cohen's and Fleiss' kappa with 95% CIs between "
     "the truthers; intra-rater variability is " + SPONSOR, MISSING, SPONSOR, "", PARTLY),
    ("19", "Data partitions", "How data were assigned to partitions; proportions", "device-and-model", _training,
     "this study uses a test set only; the model card's training, tuning and check data are listed",
     NOT_APPLICABLE, "this study uses a test set only; the development partitions are " + SPONSOR),
    ("20", "Data partitions", "Level at which partitions are disjoint (e.g. patient)", "test-data", never, "",
     PARTLY, "the test set is described under Test data; its independence from the development data at the "
     "patient level is " + SPONSOR),
    ("21", "Testing data", "Intended sample size of the test set and how it was determined", "statistical-methods",
     has("sample_size"), SAMPLE_SIZE_NOTE, MISSING, "plan it with valkit plan before the study and cite the plan "
     "in the protocol", "", PARTLY),
    ("22", "Model", "Detailed description of the model: inputs, outputs, layers and connections",
     "device-and-model", model_card, "architecture, its parameters, input and output from the model card", MISSING,
     "external predictions: the vendor's model description is " + SPONSOR),
    ("23", "Model", "Software libraries, frameworks and packages", "provenance", has("provenance"),
     "package versions and hardware of the run", MISSING, ""),
    ("24", "Model", "Initialisation of model parameters", "device-and-model", never, "", NOT_APPLICABLE, _DEV),
    ("25", "Training", "Details of the training approach: augmentation, hyperparameters, number of models trained",
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
    ("32", "Evaluation", "Evaluation on internal data (same source as the training data)", "test-data", never, "",
     NOT_APPLICABLE, "this study tests a locked model on a separate test set; results on the development "
     "data are " + SPONSOR),
    ("33", "Evaluation", "Testing on external data", "test-data", never, "", PARTLY,
     "the test set is separate from the development data and described by site and country; whether it comes "
     "from institutions other than the training data's is " + SPONSOR),
    ("34", "Evaluation", "Clinical trial registration", "executive-summary", never, "", MISSING, SPONSOR),
    ("35", "Results: data", "Numbers of patients or examinations included and excluded, with a flow diagram",
     "test-data", has("data"), "flow diagram of every manifest row", MISSING, ""),
    ("36", "Results: data", "Demographic and clinical characteristics of cases in each partition", "test-data",
     has("data"), "Table 1 of the test set, by images and patients", MISSING, ""),
    ("37", "Results: model performance",
     "Performance metrics with measures of statistical uncertainty, on all partitions and demographic subgroups",
     "primary-results", has("primary"), "on the test set, overall and in every pre-specified subgroup, with N and "
     "a 95% CI", MISSING, ""),
    ("38", "Results: model performance",
     "Estimates of diagnostic performance and their precision; ROC and calibration; the subpopulations where the "
     "model worked best and worst", "primary-results", has("primary"),
     "every estimate with N, counts and its CI; ROC curve; calibration where scores are probabilities; weakest "
     "subgroup named in the executive summary", MISSING, ""),
    ("39", "Results: model performance", "Failure analysis of incorrect results", "failure-analysis",
     has("explainability"),
     "false-negative and false-positive galleries with heatmaps", MISSING,
     "not run (the protocol has no explainability block)"),
    ("40", "Discussion", "Study limitations: bias, statistical uncertainty, generalisability", "limitations",
     always, "", MISSING, ""),
    ("41", "Discussion", "Implications for practice, intended use and clinical role", "conclusions",
     has("endpoints"), "conclusions and scope of claims", MISSING, ""),
    ("42", "Other information", "Reference to the full study protocol or additional technical details",
     "objectives", always, "the protocol file is identified by its SHA-256 (Provenance); where it is filed is "
     + SPONSOR, MISSING, "", "", PARTLY),
    ("43", "Other information", "Availability of software, trained model and/or data", "provenance",
     has("provenance"), "the valkit version and the model weights' SHA-256 are recorded; where the software, "
     "model and data can be obtained is " + SPONSOR, MISSING, SPONSOR, "", PARTLY),
    ("44", "Other information", "Sources of funding and other support; role of funders", "executive-summary", never,
     "", MISSING, SPONSOR),
))

CHECKLIST = Checklist(
    id="claim-checklist",
    title="CLAIM 2024 checklist",
    citation="Tejani et al., Radiol Artif Intell 2024;6(4):e240300",
    intro="Where this report answers each of the 44 items of CLAIM 2024, the checklist for artificial intelligence "
          "in medical imaging (Tejani et al. 2024, which updates the 42-item CLAIM of Mongan et al. 2020), numbered "
          "as in the 2024 checklist. This study validates a locked model on a test set, so the items on how the "
          "model was developed are not applicable here.",
    closing="Items marked not in this report are for the sponsor to add before submission.",
    items=ITEMS,
)

__all__ = ["CHECKLIST", "ITEMS"]
