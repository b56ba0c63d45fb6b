"""Limitations and conclusions: what the verdict means and the scope of the claims.

These sections read the typed results (:class:`~valkit.results_schema.Results`), and so do the
helpers they share with other sections (``criterion_label``, ``metric_label``, the baseline and
reader-study rows).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.report.formatting import count, plural
from valkit.report.sections import baseline, reader_study
from valkit.report.sections.common import (
    CI_METHODS_SHORT,
    VERDICT_WORDS,
    criterion_label,
    metric_label,
    true_reference,
    verdict_class,
)
from valkit.report.sections.summary import endpoint_rows

if TYPE_CHECKING:
    from valkit.results_schema import Results


def _scanner_models(results: Results) -> list[str]:
    """The scanner models of Table 1 (none when the manifests record no model column)."""
    column = results.data.table1.get("model")  # table1: a map by manifest column, present columns only
    return [] if column is None else [r.level for r in column.rows if r.level != "missing"]


_NOUNS = {"site": "sites", "manufacturer": "scanner manufacturers", "model": "scanner models"}


def _heterogeneity(results: Results) -> list[str]:
    """One point per site/scanner family and metric whose heterogeneity test says 'heterogeneous'."""
    items: list[str] = []
    if results.sites_and_scanners is None:
        return items
    for fam in results.sites_and_scanners.families:
        nouns = _NOUNS.get(fam.name, fam.name)
        for metric, t in fam.tests.items():
            if t.verdict == "heterogeneous":
                i2 = 0 if t.i2 is None else t.i2
                items.append(f"{metric.capitalize()} differs between {nouns} beyond chance (I² = {100 * i2:.0f}%"
                             + (f"; {t.flagged_summary}" if t.flagged_summary else "")
                             + f"): the pooled estimate does not describe every {nouns.rstrip('s')} "
                             "(section Sites and scanners).")
    return items


def _border(results: Results) -> list[str]:
    """A point when the heatmaps peak on the image border more often than chance."""
    ex = results.explainability
    if ex is None or not ex.available or ex.border is None or not ex.border.available:
        return []
    border = ex.border
    if not border.overall.flagged:
        return []
    rate = {g.group: g.peak_on_border.value for g in border.by_category}
    fp = rate.get("false_positive")
    return ["The heatmaps peak on the image border more often than chance"
            + (f" ({100 * fp:.0f}% of false positives)" if fp is not None else "")
            + ": the model may respond to the image edge rather than the anatomy (section Failure analysis)."]


def limitations(results: Results, doc: dict) -> dict:
    """The points of the Limitations section (also listed on the model card)."""
    items: list[str] = []
    model = results.model
    flow = results.data.flow
    methods = results.methods
    if doc["exploratory"]:
        items.append("The operating point was chosen on the test data themselves; every estimate at this "
                     "threshold is optimistic and the results are exploratory, not confirmatory.")
    if model.kind == "external_predictions":
        items.append("valkit did not run the model: the scores were supplied in an external file, identified "
                     "only by its SHA-256 digest. That these scores came from the released model version "
                     "must be documented by the manufacturer.")
    if flow.failed:
        items.append(f"{count(flow.failed)} of {count(flow.in_manifest)} cases produced no valid "
                     "result and are excluded from the primary analysis; the results with these cases counted "
                     "as errors are reported beside the primary results.")
    if methods.clustered:
        unit = methods.cluster_unit
        if methods.proportion_ci == "wilson":
            prop = "Wilson intervals for proportions treat images as independent and may be too narrow"
        else:
            prop = f"intervals for proportions resample whole {unit}s"
        items.append(f"Some {unit}s contributed more than one image: {prop}, and the AUC interval uses the "
                     f"{CI_METHODS_SHORT.get(methods.auc_ci, methods.auc_ci)} method. Images of one {unit} are not "
                     "independent evidence.")
    for col, column in results.data.table1.items():
        if column.missing:
            items.append(f"{col.replace('_', ' ').capitalize()} is missing for {plural(column.missing, 'case')}; "
                         "performance in those cases cannot be attributed to a level.")
    for rows, noun in ((results.by_site, "site"), (results.by_manufacturer, "manufacturer")):
        thin = [r.level for r in rows if not r.sufficient_evidence]
        if thin:
            items.append(f"Too few positive or negative cases to estimate performance for "
                         f"{'this ' + noun if len(thin) == 1 else 'these ' + noun + 's'}: "
                         f"{', '.join(thin)}.")
    items += _heterogeneity(results)
    items += _border(results)
    if not true_reference(results):
        items.append("The comparator is not a true reference standard; agreement (PPA/NPA), not accuracy, "
                     "is reported.")
    if model.kind == "model_card":  # external predictions carry no card, so no stated limitations
        items += [str(x) for x in model.limitations]
    return {"points": items}


_KIND_WORDS = {"endpoint": "endpoint", "fairness": "fairness criterion", "latency": "latency budget",
               "reader_study": "reader study", "tool_validation": "tool validation",
               "baseline": "non-inferiority to the cleared version",
               "determinism": "determinism check"}


def conclusions(results: Results, doc: dict) -> dict:
    rows = endpoint_rows(results)
    verdict = doc["verdict"]
    criteria = results.acceptance.criteria
    primary = [r for r in rows if r["primary"]]
    # every gating criterion that did not pass, whatever its kind: the reason for a FAIL
    not_passed = [{"kind": _KIND_WORDS[c.kind], "criterion": criterion_label(c, results), "verdict": c.verdict,
                   "rule": c.rule, "verdict_class": verdict_class(c.verdict)}
                  for c in criteria if c.gates and c.verdict != "PASS"]
    other = [{"kind": _KIND_WORDS[c.kind], "criterion": criterion_label(c, results),
              "verdict": c.verdict, "rule": c.rule, "gates": c.gates}
             for c in criteria if c.kind in ("fairness", "latency", "tool_validation", "baseline", "determinism")
             and not (c.gates and c.verdict != "PASS")]  # those are listed as not met
    return {
        "verdict": VERDICT_WORDS.get(verdict, verdict),
        "verdict_class": doc["verdict_class"],
        "raw_verdict": verdict,
        "primary": primary,
        "primary_all_pass": bool(primary) and all(r["verdict_class"] == "pass" for r in primary if r["has_goal"]),
        "not_passed": not_passed,
        "other_criteria": other,
        "secondary": [r for r in rows if not r["primary"]] + reader_study.endpoint_rows(results),
        "sites": [r.level for r in results.by_site],
        "manufacturers": [r.level for r in results.by_manufacturer],
        "scanner_models": _scanner_models(results),
        "exploratory": doc["exploratory"],
        "sens_label": metric_label("sensitivity", results),
        "baseline": baseline.conclusion(results),
    }
