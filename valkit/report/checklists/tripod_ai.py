"""TRIPOD+AI cross-reference: reporting of clinical prediction models that use regression or machine learning.

Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement: updated guidance for reporting clinical
prediction models that use regression or machine learning methods. BMJ 2024;385:e078378 (27 items,
several in parts). Item texts are paraphrased and shortened; the numbering is the checklist's.

TRIPOD+AI covers development and evaluation. This report evaluates a locked model, so the items that
only concern development (choice of predictors, model building and tuning, class imbalance handling,
updating) are marked not applicable with the reason; the items marked in the statement for evaluation
studies are mapped to the section that answers them.
"""
from __future__ import annotations

from valkit.report.checklists import (MISSING, NOT_APPLICABLE, PARTLY, SAMPLE_SIZE_NOTE, SPONSOR, Checklist, Item,
                                      always, eligibility_stated, has, model_card, never)


_DEV = "development only: this report evaluates a model that was locked before the test data were opened"

ITEMS: tuple[Item, ...] = tuple(Item(*row) for row in (
    ("1", "Title", "Identifies the study as developing or evaluating a prediction model, the population and the "
     "outcome", "executive-summary", always, "evaluation of the named device on the protocol's population",
     MISSING, ""),
    ("2", "Abstract", "See TRIPOD+AI for Abstracts", "executive-summary", always, "", MISSING, ""),
    ("3a", "Background", "Healthcare context and rationale for evaluating the model", "intended-use", always,
     "", MISSING, ""),
    ("3b", "Background", "Target population and intended purpose of the model in the care pathway",
     "intended-use", always, "intended use from the protocol and the model card", MISSING, ""),
    ("3c", "Background", "Known health inequalities between sociodemographic groups", "subgroups-and-fairness",
     never, "", PARTLY, "performance gaps between groups are measured; the known inequalities in the "
     "condition are " + SPONSOR),
    ("4", "Objectives", "Study objectives, including development or validation", "objectives", has("endpoints"),
     "", MISSING, ""),
    ("5a", "Data", "Sources of data and why they are representative of the target population", "test-data",
     has("data"), "manifests, sites and scanners", MISSING, ""),
    ("5b", "Data", "Dates of the collected participant data", "test-data", never, "", PARTLY,
     "acquisition dates where the images record them; the collection period is " + SPONSOR),
    ("6a", "Participants", "Study setting: primary or secondary care, number and location of centres",
     "test-data", has("data"), "sites of the test set", MISSING, ""),
    ("6b", "Participants", "Eligibility criteria", "test-data", eligibility_stated,
     "the protocol's inclusion and exclusion criteria, printed as written; the case flow accounts for every row",
     PARTLY,
     "the case flow accounts for every manifest row; the clinical eligibility criteria are " + SPONSOR),
    ("6c", "Participants", "Details of any treatments received, if relevant", "test-data", never, "",
     NOT_APPLICABLE, "the model reads images taken before any treatment decision; " + SPONSOR + " if relevant"),
    ("7", "Data preparation", "Data preprocessing and quality checking, and whether it was similar across "
     "sociodemographic groups", "device-and-model", model_card, "preprocessing from the model card, identical for "
     "every case; cases the model could not score are counted with their reason", MISSING,
     "external predictions: the vendor's preprocessing is " + SPONSOR),
    ("8a", "Outcome", "Outcome being predicted, and how and when it was assessed", "reference-standard", always,
     "reference standard as described in the protocol", MISSING, ""),
    ("8b", "Outcome", "Qualifications and demographics of the outcome assessors", "reference-standard", never,
     "", MISSING, SPONSOR),
    ("8c", "Outcome", "Blinding of the outcome assessment", "design", has("traceability"),
     "masking statements and the timeline of the protocol lock", MISSING, SPONSOR),
    ("9a", "Predictors", "Choice of initial predictors and any pre-selection", "device-and-model", never, "",
     NOT_APPLICABLE, "the input is the image; " + _DEV),
    ("9b", "Predictors", "Definition of the predictors, how and when they were measured", "device-and-model",
     model_card, "the image input, its size and intensity window", MISSING, SPONSOR),
    ("9c", "Predictors", "Qualifications and demographics of the predictor assessors", "device-and-model", never,
     "", NOT_APPLICABLE, "the predictors are pixel data read by software, not assessed by people"),
    ("10", "Sample size", "Study size and how it was determined, including the sample size calculation",
     "statistical-methods", has("sample_size"), SAMPLE_SIZE_NOTE, MISSING,
     "plan it with valkit plan before the study and cite the plan in the protocol", "", PARTLY),
    ("11", "Missing data", "How missing data were handled, and reasons for omitting data", "test-data",
     has("data"), "cases without a result counted with their reason, and counted both ways", MISSING, ""),
    ("12a", "Analytical methods", "How the data were used (development, evaluation), including partitioning",
     "statistical-methods", has("methods"), "the whole test set evaluates the locked model", MISSING, ""),
    ("12b", "Analytical methods", "How predictors were handled in the analyses", "device-and-model", never, "",
     NOT_APPLICABLE, _DEV),
    ("12c", "Analytical methods", "Model type, building, hyperparameter tuning and internal validation",
     "device-and-model", never, "", NOT_APPLICABLE, _DEV),
    ("12d", "Analytical methods", "How heterogeneity in performance across clusters (e.g. sites) was handled",
     "sites-and-scanners", has("sites_and_scanners"), "random-effects pooling, I² and leave-one-site-out",
     MISSING, "not analysed in this report"),
    ("12e", "Analytical methods", "Performance measures and their rationale, including for subgroups",
     "statistical-methods", has("methods"), "", MISSING, ""),
    ("12f", "Analytical methods", "Any model updating (e.g. recalibration) after evaluation", "device-and-model",
     never, "", NOT_APPLICABLE, "the model is evaluated as locked; no updating"),
    ("12g", "Analytical methods", "How the model predictions were calculated for evaluation", "index-test",
     has("inference"), "the locked model scored every image in the run described", MISSING,
     "external predictions: how the vendor computed them is " + SPONSOR),
    ("13", "Class imbalance", "Methods used to handle class imbalance, and their rationale", "device-and-model",
     never, "", NOT_APPLICABLE, _DEV + "; the test set is analysed as collected"),
    ("14", "Fairness", "Approaches to address model fairness, and their rationale", "subgroups-and-fairness",
     has("fairness"), "fairness gaps between groups with 95% CIs against the protocol's criteria", MISSING,
     "no fairness analysis in the protocol"),
    ("15", "Model output", "The model output (probabilities, classification) and the threshold used",
     "device-and-model", has("operating_point"), "score, operating point and how it was chosen", MISSING, ""),
    ("16", "Training versus evaluation", "Differences between development and evaluation data in setting, "
     "eligibility, outcome and predictors", "test-data", never, "", PARTLY,
     "the test data are described; a comparison with the development data is " + SPONSOR),
    ("17", "Ethical approval", "Name of the ethics committee and approval or waiver", "executive-summary", never,
     "", MISSING, SPONSOR),
    ("18a", "Open science", "Sources of funding and role of the funders", "executive-summary", never, "",
     MISSING, SPONSOR),
    ("18b", "Open science", "Conflicts of interest and financial disclosures", "executive-summary", never, "",
     MISSING, SPONSOR),
    ("18c", "Open science", "Where the study protocol can be accessed", "objectives", always,
     "the protocol file is identified by its SHA-256 (Provenance); where it is filed is " + SPONSOR,
     MISSING, ""),
    ("18d", "Open science", "Study registration", "executive-summary", never, "", MISSING, SPONSOR),
    ("18e", "Open science", "Availability of the study data", "provenance", has("per_case_listing"),
     "per-case listing (pseudonymous) in the last appendix and as a CSV beside the report; access to the images is " + SPONSOR, MISSING, SPONSOR,
     "", PARTLY),
    ("18f", "Open science", "Availability of the analytical code", "provenance", has("provenance"),
     "valkit version and the packages of the run", MISSING, ""),
    ("19", "Patient and public involvement", "Patient and public involvement, or its absence", "executive-summary",
     never, "", MISSING, SPONSOR),
    ("20a", "Participants", "Flow of participants, with the number with and without the outcome",
     "test-data", has("data"), "flow diagram of every manifest row", MISSING, ""),
    ("20b", "Participants", "Characteristics overall and by data source, including key demographics",
     "test-data", has("data"), "Table 1 by reference standard, by site and scanner", MISSING, ""),
    ("20c", "Participants", "Comparison of the evaluation data with the development data", "test-data", never,
     "", MISSING, SPONSOR),
    ("21", "Model development", "Number of participants and outcome events in each analysis", "primary-results",
     has("primary"), "2×2 counts with every estimate", MISSING, ""),
    ("22", "Model specification", "Details of the full model, or how to access it", "device-and-model", model_card,
     "model card and weights digest; access to the model is " + SPONSOR, MISSING, SPONSOR, "", PARTLY),
    ("23a", "Model performance", "Performance estimates with confidence intervals, including for key subgroups",
     "primary-results", has("primary"), "every estimate with its 95% CI; subgroups in their section", MISSING, ""),
    ("23b", "Model performance", "Results of any heterogeneity in performance across clusters",
     "sites-and-scanners", has("sites_and_scanners"), "", MISSING, "not analysed in this report"),
    ("24", "Model updating", "Results of any model updating", "device-and-model", never, "", NOT_APPLICABLE,
     "the model is evaluated as locked; no updating"),
    ("25", "Interpretation", "Overall interpretation, including fairness in light of the objectives",
     "conclusions", has("endpoints"), "", MISSING, ""),
    ("26", "Limitations", "Limitations: non-representative sample, sample size, overfitting, missing data",
     "limitations", always, "", MISSING, ""),
    ("27a", "Usability", "How poor-quality or unavailable input data should be assessed and handled",
     "index-test", has("inference"), "cases the model could not score, by reason", MISSING, "", "", PARTLY),
    ("27b", "Usability", "Whether users interact with the model, and the expertise required", "intended-use",
     never, "", MISSING, SPONSOR),
    ("27c", "Usability", "Next steps for future research, with a view to applicability and generalisability",
     "conclusions", never, "", MISSING, SPONSOR),
))

CHECKLIST = Checklist(
    id="tripod-ai-checklist",
    title="TRIPOD+AI",
    citation="Collins et al., BMJ 2024;385:e078378",
    intro="Where this report answers each item of TRIPOD+AI, the reporting guideline for clinical prediction "
          "models that use regression or machine learning. This report evaluates a locked model: items that "
          "concern only its development are not applicable, with the reason.",
    closing="Items marked not in this report are for the sponsor to add before submission.",
    items=ITEMS,
)

__all__ = ["CHECKLIST", "ITEMS"]
