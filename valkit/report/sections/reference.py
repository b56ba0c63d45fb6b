"""The reference standard section: what the truth is, how it was made, and how well its makers agreed.

Reads results.json only: the protocol echo's ``reference_standard`` block and ``reference_agreement``
(:mod:`valkit.analyses.truther_agreement`); nothing is computed here.
"""
from __future__ import annotations

from valkit.report.formatting import count, estimate_cells, pct
from valkit.report.sections.common import comparison_terms, method_text

SPONSOR = "not recorded in the protocol — to be supplied by the sponsor"


def _kappa_row(label: str, who: str, block: dict) -> dict:
    cells = estimate_cells(block.get("kappa"), "auc")  # a coefficient in [-1, 1]: three decimals
    return {"label": label, "who": who, "n": count(block.get("n_subjects")), "counts": "",
            "value": cells["value"], "ci": cells["ci"], "estimable": cells["estimable"],
            "method_text": method_text((block.get("kappa") or {}).get("method")),
            "warnings": cells["warnings"]}


def _agreement(block: dict | None) -> dict | None:
    if not block:
        return None
    pct_cells = estimate_cells(block.get("percent_agreement"))
    truthers = block.get("truther_columns") or []
    rows = [{"label": "Percent agreement (all truthers gave the same label)", "who": f"all {len(truthers)}",
             "n": pct_cells["n"], "counts": pct_cells["counts"], "value": pct_cells["value"], "ci": pct_cells["ci"],
             "estimable": pct_cells["estimable"], "method_text": method_text("wilson"), "warnings": []}]
    rows.append(_kappa_row("Fleiss' kappa", f"all {len(truthers)}", block.get("fleiss") or {}))
    for pair in block.get("cohen") or []:
        rows.append(_kappa_row("Cohen's kappa", " and ".join(pair.get("truthers") or []), pair))
    fleiss = block.get("fleiss") or {}
    return {
        "truthers": ", ".join(truthers),
        "n_truthers": len(truthers),
        "n_cases": count(block.get("n_cases")),
        "n_complete": count(block.get("n_complete")),
        "n_incomplete": block.get("n_incomplete") or 0,
        "n_incomplete_text": count(block.get("n_incomplete")),
        "clustered": bool(block.get("several_images_per_patient")),
        "n_patients": count(block.get("n_patients")),
        "rows": rows,
        "positives": [{"truther": p.get("truther", ""), "positive": count(p.get("positive")), "n": count(p.get("n"))}
                      for p in block.get("positive_by_truther") or []],
        "observed": pct(fleiss.get("observed")),
        "expected": pct(fleiss.get("expected")),
        "warnings": [w for r in rows for w in r["warnings"]],
    }


def reference_standard(results: dict, doc: dict) -> dict | None:
    ref = (results.get("protocol") or {}).get("reference_standard")
    if not ref:
        return None
    primary = results.get("primary") or {}
    flow = (results.get("data") or {}).get("flow") or {}
    terms = comparison_terms(results)
    truthers = ref.get("truthers") or {}
    process = [
        {"key": "Truthers (readers who established it)",
         "value": f"{truthers['number']}: {truthers['qualifications']}" if truthers else SPONSOR},
        {"key": "Adjudication of disagreements", "value": ref.get("adjudication") or SPONSOR},
        {"key": "Each truther's own label", "value": "recorded in the manifest, one column per truther: "
                                                     + ", ".join(ref["truther_columns"])
         if ref.get("truther_columns") else "not given to valkit: agreement between truthers cannot be computed"},
    ]
    return {
        "description": ref.get("description", ""),
        "column": ref.get("column", "label"),
        "true_reference": not terms["comparator"],
        "terms": terms,
        "process": process,
        "agreement": _agreement(results.get("reference_agreement")),
        "n_positive": count(primary.get("n_positive")),
        "n_negative": count(primary.get("n_negative")),
        "failed_positive": count(flow.get("failed_positive")),
        "failed_negative": count(flow.get("failed_negative")),
    }
