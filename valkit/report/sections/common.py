"""Pieces shared by the section builders: document control, labels, estimate rows, verdicts.

Every helper here reads the typed results (:class:`~valkit.results_schema.Results` and its block
models) by attribute, as the sections do: a renamed field is an error, never a blank. The examples
build a minimal typed object with :func:`example_results`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from valkit.report.formatting import count, estimate_cells, level_text, pct

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.accuracy import Criterion
    from valkit.results_schema.base import Estimate

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


def true_reference(results: "Results") -> bool:
    """Whether the comparator is a true reference standard (protocol ``reference_standard.kind``; the
    protocol model reads the older ``is_true_reference_standard`` into ``kind``).

    >>> true_reference(example_results(kind="comparator")), true_reference(example_results())
    (False, True)
    """
    return not results.protocol.reference_standard.is_comparator


#: Why a comparator's results are named agreement, printed wherever the report switches to PPA/NPA.
AGREEMENT_REASON = ("The comparator is not a reference standard, so, following FDA's Statistical Guidance on "
                    "Reporting Results from Studies Evaluating Diagnostic Tests (2007), agreement with it is "
                    "reported as positive percent agreement (PPA: the share of comparator-positive cases the device "
                    "calls positive) and negative percent agreement (NPA: the share of comparator-negative cases "
                    "it calls negative), not as sensitivity and specificity: where the comparator errs, these "
                    "measure agreement with it, not accuracy.")


def roc_axes(results: "Results") -> tuple[str, str]:
    """The ROC figure's x and y axis titles, in agreement words for a comparator.

    >>> roc_axes(example_results(kind="comparator"))[1]
    'Positive percent agreement (PPA)'
    """
    if true_reference(results):
        return "1 − specificity (false-positive rate)", "Sensitivity (true-positive rate)"
    return "1 − negative percent agreement (1 − NPA)", "Positive percent agreement (PPA)"


def comparison_terms(results: "Results") -> dict[str, Any]:
    """The report's words for what the device is compared with, from one place (``doc.terms``).

    A comparator that is not a reference standard gives agreement words (FDA 2007 statistical
    guidance); every template and figure takes its labels from here or :func:`metric_label`.

    >>> comparison_terms(example_results(kind="comparator"))["pair"]
    'Positive and negative percent agreement (PPA and NPA)'
    >>> comparison_terms(example_results())["positive"]
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


def metric_label(metric: str, results: "Results", *, short: bool = False) -> str:
    """A reader's name for a metric; agreement words (PPA/NPA) when the comparator is not a reference standard.

    >>> metric_label("sensitivity", example_results(kind="comparator"), short=True)
    'PPA'
    >>> metric_label("auc", example_results())
    'Area under the ROC curve (AUC)'
    """
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


def estimate_row(metric: str, est: "Estimate | None", results: "Results") -> dict[str, Any]:
    """One printed row (label, value, CI, counts, method, warnings) for an estimate (``None``: not computed)."""
    cells = estimate_cells(None if est is None else est.model_dump(), METRIC_KIND.get(metric, "proportion"))
    return {"metric": metric, "label": metric_label(metric, results), **cells,
            "method_text": method_text(cells["method"])}


def _targets(results: "Results") -> list[str]:
    """The regulatory targets as the cover page names them."""
    reg = results.protocol.regulatory
    targets = []
    for t in reg.targets:
        if t == "FDA":
            fda = reg.fda
            bits = ["510(k)" if fda is None else fda.submission_type]
            if fda is not None and fda.product_code:
                bits.append(f"product code {fda.product_code}")
            if fda is not None and fda.regulation_number:
                bits.append(fda.regulation_number)
            targets.append("US FDA — " + ", ".join(bits))
        elif t == "CDSCO":
            cd = reg.cdsco
            bits = [f"class {'?' if cd is None else cd.device_class} medical device (MDR 2017)"]
            if cd is not None and cd.application:
                bits.append(cd.application)
            targets.append("India CDSCO — " + ", ".join(bits))
        else:
            targets.append(str(t))
    return targets


def document_control(results: "Results", *, results_sha256: str) -> dict[str, Any]:
    """Cover page and footer facts: ids, versions, digests, dates, targets."""
    protocol, model, prov, op = results.protocol, results.model, results.provenance, results.operating_point
    reg, report = protocol.regulatory, protocol.report
    finished = prov.finished_utc
    external = model.kind == "external_predictions"
    return {
        "title": protocol.title or "Validation report",
        "device_name": report.device_name or model.name or "the device",
        "sponsor": report.sponsor,
        "authors": list(report.authors),
        "document_id": reg.document_id or protocol.id,
        "revision": reg.revision,
        "protocol_id": protocol.id,
        "protocol_version": protocol.version,
        "protocol_sha256": protocol.sha256 or prov.protocol_sha256,
        "model_name": model.name,
        "model_version": model.version,
        "weights_sha256": model.weights_sha256,
        "weights_label": "Predictions file SHA-256 (external model)" if external else "Model weights SHA-256",
        "external_model": external,
        "date": finished[:10],
        "started_utc": prov.started_utc,
        "finished_utc": finished,
        "targets": _targets(results),
        "results_sha256": results_sha256,
        "exploratory": op.exploratory,
        "exploratory_note": _strip_prefix(op.note, "EXPLORATORY:"),
        "verdict": results.verdict,
        "verdict_class": verdict_class(results.verdict),
        "n_cases": count(results.data.flow.in_manifest),
        "valkit_version": prov.valkit.version,
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


def gap_labels(results: "Results") -> dict[str, str]:
    """:data:`GAP_LABELS` in the report's words: agreement words when the comparator is not a reference standard.

    >>> gap_labels(example_results(kind="comparator"))["tpr_difference"]
    'Positive percent agreement (PPA) difference'
    """
    if true_reference(results):
        return GAP_LABELS
    return {k: v.replace("Sensitivity (TPR)", AGREEMENT_LABELS["sensitivity"])
            .replace("False-positive rate", "1 − NPA (false-positive rate against the comparator)")
            for k, v in GAP_LABELS.items()}


def criterion_label(c: "Criterion", results: "Results") -> str:
    """A reader's name for an acceptance criterion of results.json (its ``criterion`` text, or the metric's words).

    >>> from valkit.results_schema.accuracy import Criterion
    >>> fair = Criterion(kind="fairness", criterion="tpr_difference by age_band", verdict="PASS", gates=True,
    ...                  rule=None, metric="tpr_difference", column="age_band")
    >>> criterion_label(fair, example_results())
    'Sensitivity (TPR) difference by age band'
    >>> criterion_label(fair.model_copy(update={"kind": "latency", "criterion": "latency budget"}), example_results())
    'Latency budget'
    """
    if c.kind == "fairness" and c.metric and c.column:
        return f"{gap_labels(results).get(c.metric, c.metric)} by {column_title(c.column).lower()}"
    if c.kind == "endpoint" and c.metric:
        return metric_label(c.metric, results)
    if c.kind == "tool_validation":
        return "Tool validation (published values re-derived by this installation; Appendix)"
    text = c.criterion
    return text[:1].upper() + text[1:]


def example_results(*, kind: str = "reference_standard") -> "Results":
    """A minimal typed :class:`~valkit.results_schema.Results` for examples and tests of the label helpers:
    only ``protocol.reference_standard.kind`` matters to them (built without validation, so that the other
    blocks need not be invented)."""
    from valkit.reference_standard_config import ReferenceStandard
    from valkit.results_schema import Results
    from valkit.results_schema.run_info import ProtocolEcho

    ref = ReferenceStandard(description="example", kind=kind)
    return Results.model_construct(protocol=ProtocolEcho.model_construct(reference_standard=ref))
