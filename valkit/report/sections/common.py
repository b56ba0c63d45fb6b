"""Pieces shared by the section builders: document control, labels, estimate rows, verdicts."""
from __future__ import annotations

from typing import Any

from valkit.report.formatting import count, estimate_cells, level_text, pct

METRIC_LABELS = {
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "Positive predictive value (PPV)",
    "npv": "Negative predictive value (NPV)",
    "accuracy": "Accuracy",
    "auc": "Area under the ROC curve (AUC)",
    "lr_positive": "Positive likelihood ratio (LR+)",
    "lr_negative": "Negative likelihood ratio (LR−)",
}
#: Without a true reference standard, agreement is what is measured (FDA 2007 statistical guidance).
AGREEMENT_LABELS = {
    "sensitivity": "Positive percent agreement (PPA)",
    "specificity": "Negative percent agreement (NPA)",
}
SHORT_LABELS = {"sensitivity": "Sensitivity", "specificity": "Specificity", "auc": "AUC", "ppv": "PPV",
                "npv": "NPV", "accuracy": "Accuracy"}
METRIC_KIND = {"auc": "auc", "lr_positive": "ratio", "lr_negative": "ratio"}

CI_METHODS = {
    "wilson": "Wilson score interval (Wilson 1927)",
    "clopper_pearson": "Clopper–Pearson exact interval (Clopper & Pearson 1934)",
    "jeffreys": "Jeffreys interval (Brown, Cai & DasGupta 2001)",
    "agresti_coull": "Agresti–Coull interval (Agresti & Coull 1998)",
    "delong": "DeLong variance (DeLong, DeLong & Clarke-Pearson 1988)",
    "clustered": "clustered (patient-level) AUC variance (Obuchowski 1997)",
    "bootstrap": "percentile bootstrap",
    "bootstrap_percentile": "percentile bootstrap",
    "cluster_bootstrap_percentile": "patient-clustered, outcome-stratified percentile bootstrap "
                                    "(Davison & Hinkley 1997)",
    "cluster_bootstrap_bca": "patient-clustered, outcome-stratified BCa bootstrap (Efron 1987)",
    "wilson_patients": "Wilson score interval with the patients as the sample size: the patient-clustered "
                       "bootstrap had no spread (0 or n of n, or every patient with the same proportion), so the "
                       "largest design effect is assumed (Wilson 1927; Kish 1965)",
    "simel_log": "log method for likelihood ratios (Simel, Samsa & Matchar 1991)",
}

#: short names, for a table cell beside an estimate
CI_METHODS_SHORT = {
    "wilson": "Wilson", "clopper_pearson": "Clopper–Pearson", "jeffreys": "Jeffreys", "agresti_coull": "Agresti–Coull",
    "delong": "DeLong", "clustered": "patient-clustered (Obuchowski)", "bootstrap": "bootstrap",
    "bootstrap_percentile": "bootstrap", "cluster_bootstrap_percentile": "patient-clustered bootstrap",
    "cluster_bootstrap_bca": "patient-clustered BCa bootstrap", "wilson_patients": "Wilson on patients",
}


def method_used_text(used: str | None, requested: str | None, clustering: str | None = None) -> str:
    """The method actually used, short; marked † when it is not the one the protocol named (the
    note under the table says why: the protocol's clustering rule, or a deviation).

    >>> method_used_text("cluster_bootstrap_percentile", "wilson")
    'patient-clustered bootstrap †'
    >>> method_used_text("wilson", "wilson")
    'Wilson'
    """
    if not used:
        return ""
    text = CI_METHODS_SHORT.get(used, used)
    return text + " †" if requested and requested != used else text


VERDICT_WORDS = {
    "PASS": "PASS",
    "FAIL": "FAIL",
    "NO GOAL": "no goal set",
    "NO GOALS": "no goals set",
    "NOT ESTIMABLE": "NOT ESTIMABLE",
}


def true_reference(results: dict) -> bool:
    """Whether the comparator is a true reference standard (protocol ``reference_standard.kind``;
    results.json written before ``kind`` existed has only ``is_true_reference_standard``)."""
    ref = (results.get("protocol") or {}).get("reference_standard") or {}
    if ref.get("kind"):
        return ref["kind"] != "comparator"
    return bool(ref.get("is_true_reference_standard", True))


#: Why a comparator's results are named agreement, printed wherever the report switches to PPA/NPA.
AGREEMENT_REASON = ("The comparator is not a reference standard, so, following FDA's Statistical Guidance on "
                    "Reporting Results from Studies Evaluating Diagnostic Tests (2007), agreement with it is "
                    "reported as positive percent agreement (PPA: the share of comparator-positive cases the device "
                    "calls positive) and negative percent agreement (NPA: the share of comparator-negative cases "
                    "it calls negative), not as sensitivity and specificity: where the comparator errs, these "
                    "measure agreement with it, not accuracy.")


def roc_axes(results: dict) -> tuple[str, str]:
    """The ROC figure's x and y axis titles, in agreement words for a comparator.

    >>> roc_axes({"protocol": {"reference_standard": {"kind": "comparator"}}})[1]
    'Positive percent agreement (PPA)'
    """
    if true_reference(results):
        return "1 − specificity (false-positive rate)", "Sensitivity (true-positive rate)"
    return "1 − negative percent agreement (1 − NPA)", "Positive percent agreement (PPA)"


def comparison_terms(results: dict) -> dict[str, Any]:
    """The report's words for what the device is compared with, from one place (``doc.terms``).

    A comparator that is not a reference standard gives agreement words (FDA 2007 statistical
    guidance); every template and figure takes its labels from here or :func:`metric_label`.

    >>> comparison_terms({"protocol": {"reference_standard": {"kind": "comparator"}}})["pair"]
    'Positive and negative percent agreement (PPA and NPA)'
    >>> comparison_terms({})["positive"]
    'Reference positive'
    """
    agree = not true_reference(results)
    return {
        "comparator": agree,
        "sens": metric_label("sensitivity", results),
        "spec": metric_label("specificity", results),
        "sens_short": metric_label("sensitivity", results, short=True),
        "spec_short": metric_label("specificity", results, short=True),
        "pair": "Positive and negative percent agreement (PPA and NPA)" if agree else "Sensitivity and specificity",
        "pair_short": "PPA and NPA" if agree else "Sensitivity and specificity",
        "reference": "comparator" if agree else "reference standard",
        "positive": "Comparator positive" if agree else "Reference positive",
        "negative": "Comparator negative" if agree else "Reference negative",
        "reason": AGREEMENT_REASON if agree else "",
    }


def metric_label(metric: str, results: dict, *, short: bool = False) -> str:
    if not true_reference(results) and metric in AGREEMENT_LABELS:
        label = AGREEMENT_LABELS[metric]
        return label.split("(")[1].rstrip(")") if short else label
    if short:
        return SHORT_LABELS.get(metric, METRIC_LABELS.get(metric, metric))
    return METRIC_LABELS.get(metric, metric)


def method_text(method: str | None) -> str:
    if not method:
        return ""
    return CI_METHODS.get(method, method)


def verdict_class(verdict: str | None) -> str:
    return {"PASS": "pass", "FAIL": "fail"}.get(str(verdict), "neutral")


def estimate_row(metric: str, est: dict | None, results: dict) -> dict[str, Any]:
    """One printed row (label, value, CI, counts, method, warnings) for an estimate."""
    cells = estimate_cells(est, METRIC_KIND.get(metric, "proportion"))
    return {"metric": metric, "label": metric_label(metric, results), **cells,
            "method_text": method_text(cells["method"])}


def document_control(results: dict, *, results_sha256: str) -> dict[str, Any]:
    """Cover page and footer facts: ids, versions, digests, dates, targets."""
    protocol = results.get("protocol") or {}
    reg = protocol.get("regulatory") or {}
    report = protocol.get("report") or {}
    model = results.get("model") or {}
    prov = results.get("provenance") or {}
    op = results.get("operating_point") or {}
    targets = []
    for t in reg.get("targets") or []:
        if t == "FDA":
            fda = reg.get("fda") or {}
            bits = [fda.get("submission_type") or "510(k)"]
            if fda.get("product_code"):
                bits.append(f"product code {fda['product_code']}")
            if fda.get("regulation_number"):
                bits.append(fda["regulation_number"])
            targets.append("US FDA — " + ", ".join(bits))
        elif t == "CDSCO":
            cd = reg.get("cdsco") or {}
            bits = [f"class {cd.get('device_class', '?')} medical device (MDR 2017)"]
            if cd.get("application"):
                bits.append(cd["application"])
            targets.append("India CDSCO — " + ", ".join(bits))
        else:
            targets.append(str(t))
    finished = prov.get("finished_utc") or ""
    external = model.get("kind") == "external_predictions"
    return {
        "title": protocol.get("title") or "Validation report",
        "device_name": report.get("device_name") or model.get("name") or "the device",
        "sponsor": report.get("sponsor"),
        "authors": list(report.get("authors") or []),
        "document_id": reg.get("document_id") or protocol.get("id") or "",
        "revision": reg.get("revision") or "",
        "protocol_id": protocol.get("id") or "",
        "protocol_version": protocol.get("version") or "",
        "protocol_sha256": protocol.get("sha256") or prov.get("protocol_sha256") or "",
        "model_name": model.get("name") or "",
        "model_version": model.get("version") or "",
        "weights_sha256": model.get("weights_sha256") or "",
        "weights_label": "Predictions file SHA-256 (external model)" if external else "Model weights SHA-256",
        "external_model": external,
        "date": finished[:10],
        "started_utc": prov.get("started_utc") or "",
        "finished_utc": finished,
        "targets": targets,
        "results_sha256": results_sha256,
        "exploratory": bool(op.get("exploratory")),
        "exploratory_note": _strip_prefix(op.get("note") or "", "EXPLORATORY:"),
        "verdict": results.get("verdict") or "",
        "verdict_class": verdict_class(results.get("verdict")),
        "n_cases": count((results.get("data") or {}).get("flow", {}).get("in_manifest")),
        "valkit_version": (prov.get("valkit") or {}).get("version") or "",
        "terms": comparison_terms(results),
    }


def _strip_prefix(text: str, prefix: str) -> str:
    """The banner already says EXPLORATORY; don't repeat it from the note."""
    return text[len(prefix):].strip() if text.upper().startswith(prefix) else text


def level_label(confidence_level: Any) -> str:
    return f"{level_text(confidence_level)} CI"


def goal_text(goal: Any, metric: str) -> str:
    if goal is None:
        return "—"
    return f"{goal:.3f}" if metric == "auc" else pct(goal)


GAP_LABELS = {
    "tpr_difference": "Sensitivity (TPR) difference", "tpr_ratio": "Sensitivity (TPR) ratio",
    "fpr_difference": "False-positive rate difference", "fpr_ratio": "False-positive rate ratio",
    "equalized_odds_difference": "Equalized-odds difference", "equalized_odds_ratio": "Equalized-odds ratio",
    "demographic_parity_difference": "Demographic-parity difference",
    "demographic_parity_ratio": "Demographic-parity ratio",
}


def column_title(name: str) -> str:
    """A reader's name for a manifest column or an intersection ("sex x age_band" -> "Sex × Age band")."""
    words = {"sex": "Sex", "age_band": "Age band", "site": "Site", "manufacturer": "Scanner manufacturer",
             "model": "Scanner model", "ethnicity": "Race / ethnicity", "race": "Race"}
    return " × ".join(words.get(p, p.replace("_", " ").capitalize()) for p in name.split(" x "))


def gap_labels(results: dict) -> dict[str, str]:
    """:data:`GAP_LABELS` in the report's words: agreement words when the comparator is not a reference standard.

    >>> gap_labels({"protocol": {"reference_standard": {"kind": "comparator"}}})["tpr_difference"]
    'Positive percent agreement (PPA) difference'
    """
    if true_reference(results):
        return GAP_LABELS
    return {k: v.replace("Sensitivity (TPR)", AGREEMENT_LABELS["sensitivity"])
            .replace("False-positive rate", "1 − NPA (false-positive rate against the comparator)")
            for k, v in GAP_LABELS.items()}


def criterion_label(c: dict, results: dict) -> str:
    """A reader's name for an acceptance criterion of results.json (``criterion`` is the key).

    >>> criterion_label({"kind": "fairness", "metric": "tpr_difference", "column": "age_band"}, {})
    'Sensitivity (TPR) difference by age band'
    >>> criterion_label({"kind": "latency", "criterion": "latency budget"}, {})
    'Latency budget'
    """
    kind = c.get("kind")
    if kind == "fairness" and c.get("metric") and c.get("column"):
        return f"{gap_labels(results).get(c['metric'], c['metric'])} by {column_title(c['column']).lower()}"
    if kind == "endpoint" and c.get("metric"):
        return metric_label(c["metric"], results)
    if kind == "tool_validation":
        return "Tool validation (published values re-derived by this installation; Appendix)"
    text = str(c.get("criterion", ""))
    return text[:1].upper() + text[1:]
