"""The reference standard section: what the truth is, how it was made, and how well its makers agreed.

Reads the typed results (:class:`~valkit.results_schema.Results`): the protocol
echo's ``reference_standard`` block and ``reference_agreement``
(:class:`~valkit.results_schema.reference.ReferenceAgreement`, built by
:mod:`valkit.analyses.truther_agreement`); nothing is computed here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.report.formatting import count, estimate_cells, pct
from valkit.report.sections.common import comparison_terms, method_text

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.reference import Kappa, ReferenceAgreement

SPONSOR = "not recorded in the protocol — to be supplied by the sponsor"

#: a kappa's interval method in words (valkit.stats.agreement's method names); the shared CI_METHODS text of
#: cluster_bootstrap_percentile describes the outcome-stratified bootstrap of proportions, not this one
KAPPA_CI_METHODS = {
    "cohen_fleiss_cohen_everitt_1969": "Wald interval, large-sample standard error (Fleiss, Cohen & Everitt 1969)",
    "fleiss_nee_landis_1979_null_se": "Wald interval, standard error of Fleiss, Nee & Landis (1979)",
    "cluster_bootstrap_percentile": "patient-clustered percentile bootstrap, resampling patients "
                                    "(Davison & Hinkley 1997)",
}


def _kappa_row(label: str, who: str, block: Kappa) -> dict:
    cells = estimate_cells(block.kappa.model_dump(), "auc")  # a coefficient in [-1, 1]: three decimals
    method = block.kappa.method
    return {"label": label, "who": who, "n": count(block.n_subjects), "counts": "",
            "value": cells["value"], "ci": cells["ci"], "estimable": cells["estimable"],
            "method_text": KAPPA_CI_METHODS[method] if method in KAPPA_CI_METHODS else method_text(method),
            "warnings": cells["warnings"]}


def _agreement(block: ReferenceAgreement | None) -> dict | None:
    if block is None:  # the protocol names fewer than two truther columns
        return None
    pct_cells = estimate_cells(block.percent_agreement.model_dump())
    truthers = block.truther_columns
    rows = [{"label": "Percent agreement (all truthers gave the same label)", "who": f"all {len(truthers)}",
             "n": pct_cells["n"], "counts": pct_cells["counts"], "value": pct_cells["value"], "ci": pct_cells["ci"],
             "estimable": pct_cells["estimable"], "method_text": method_text("wilson"), "warnings": []}]
    rows.append(_kappa_row("Fleiss' kappa", f"all {len(truthers)}", block.fleiss))
    for pair in block.cohen:
        rows.append(_kappa_row("Cohen's kappa", " and ".join(pair.truthers), pair))
    return {
        "truthers": ", ".join(truthers),
        "n_truthers": len(truthers),
        "n_cases": count(block.n_cases),
        "n_complete": count(block.n_complete),
        "n_incomplete": block.n_incomplete,
        "n_incomplete_text": count(block.n_incomplete),
        "several_images": block.several_images_per_patient,
        "clustered": block.clustered,  # the kappas' intervals resample patients
        "n_resamples": count(block.fleiss.n_resamples) if block.fleiss.n_resamples else "",
        "n_patients": count(block.n_patients),
        "rows": rows,
        "positives": [{"truther": p.truther, "positive": count(p.positive), "n": count(p.n)}
                      for p in block.positive_by_truther],
        "observed": pct(block.fleiss.observed),
        "expected": pct(block.fleiss.expected),
        "warnings": [w for r in rows for w in r["warnings"]],
    }


def reference_standard(results: Results, doc: dict) -> dict:
    ref = results.protocol.reference_standard
    primary = results.primary
    flow = results.data.flow
    terms = comparison_terms(results)
    truthers = ref.truthers
    process = [
        {"key": "Truthers (readers who established it)",
         "value": f"{truthers.number}: {truthers.qualifications}" if truthers is not None else SPONSOR},
        {"key": "Adjudication of disagreements", "value": ref.adjudication or SPONSOR},
        {"key": "Each truther's own label", "value": "recorded in the manifest, one column per truther: "
                                                     + ", ".join(ref.truther_columns)
         if ref.truther_columns else "not given to valkit: agreement between truthers cannot be computed"},
    ]
    return {
        "description": ref.description,
        "column": ref.column,
        "true_reference": not terms["comparator"],
        "terms": terms,
        "process": process,
        "agreement": _agreement(results.reference_agreement),
        "n_positive": count(primary.n_positive),
        "n_negative": count(primary.n_negative),
        "failed_positive": count(flow.failed_positive),
        "failed_negative": count(flow.failed_negative),
    }
