"""Limitations and conclusions: what the verdict means and the scope of the claims."""
from __future__ import annotations

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


def _levels(results: dict, key: str) -> list[str]:
    return [str(r.get("level", "")) for r in results.get(key) or []]


def _scanner_models(results: dict) -> list[str]:
    rows = (((results.get("data") or {}).get("table1") or {}).get("model") or {}).get("rows") or []
    return [r["level"] for r in rows if r.get("level") not in (None, "missing")]


_NOUNS = {"site": "sites", "manufacturer": "scanner manufacturers", "model": "scanner models"}


def limitations(results: dict, doc: dict) -> dict:
    items: list[str] = []
    model = results.get("model") or {}
    flow = (results.get("data") or {}).get("flow") or {}
    methods = results.get("methods") or {}
    table1 = (results.get("data") or {}).get("table1") or {}
    if doc["exploratory"]:
        items.append("The operating point was chosen on the test data themselves; every estimate at this "
                     "threshold is optimistic and the results are exploratory, not confirmatory.")
    if model.get("kind") == "external_predictions":
        items.append("valkit did not run the model: the scores were supplied in an external file, identified "
                     "only by its SHA-256 digest. That these scores came from the released model version "
                     "must be documented by the manufacturer.")
    if flow.get("failed"):
        items.append(f"{count(flow['failed'])} of {count(flow.get('in_manifest'))} cases produced no valid "
                     "result and are excluded from the primary analysis; the results with these cases counted "
                     "as errors are reported beside the primary results.")
    if methods.get("clustered"):
        unit = methods.get("cluster_unit", "patient")
        if methods.get("proportion_ci") == "wilson":
            prop = "Wilson intervals for proportions treat images as independent and may be too narrow"
        else:
            prop = f"intervals for proportions resample whole {unit}s"
        items.append(f"Some {unit}s contributed more than one image: {prop}, and the AUC interval uses the "
                     f"{CI_METHODS_SHORT.get(methods.get('auc_ci'), methods.get('auc_ci', ''))} method. Images of one {unit} are not independent evidence.")
    for col, block in table1.items():
        if block.get("missing"):
            items.append(f"{col.replace('_', ' ').capitalize()} is missing for {plural(block['missing'], 'case')}; "
                         "performance in those cases cannot be attributed to a level.")
    for key, noun in (("by_site", "site"), ("by_manufacturer", "manufacturer")):
        thin = [str(r.get("level")) for r in results.get(key) or [] if not r.get("sufficient_evidence", True)]
        if thin:
            items.append(f"Too few positive or negative cases to estimate performance for "
                         f"{'this ' + noun if len(thin) == 1 else 'these ' + noun + 's'}: "
                         f"{', '.join(thin)}.")
    for fam in (results.get("sites_and_scanners") or {}).get("families") or []:
        for metric, t in (fam.get("tests") or {}).items():
            if t.get("verdict") == "heterogeneous":
                items.append(f"{metric.capitalize()} differs between {_NOUNS.get(fam.get('name'), fam.get('name'))} "
                             f"beyond chance (I² = {100 * (t.get('i2') or 0):.0f}%"
                             + (f"; {t['flagged_summary']}" if t.get("flagged_summary") else "")
                             + "): the pooled estimate does not describe every "
                             f"{_NOUNS.get(fam.get('name'), fam.get('name')).rstrip('s')} (section Sites and scanners).")
    border = ((results.get("explainability") or {}).get("border") or {})
    if (border.get("overall") or {}).get("flagged"):
        rate = {g.get("group"): (g.get("peak_on_border") or {}).get("value") for g in border.get("by_category") or []}
        fp = rate.get("false_positive")
        items.append("The heatmaps peak on the image border more often than chance"
                     + (f" ({100 * fp:.0f}% of false positives)" if fp is not None else "")
                     + ": the model may respond to the image edge rather than the anatomy (section Failure analysis).")
    if not true_reference(results):
        items.append("The comparator is not a true reference standard; agreement (PPA/NPA), not accuracy, "
                     "is reported.")
    items += [str(x) for x in model.get("limitations") or []]
    return {"points": items}


_KIND_WORDS = {"endpoint": "endpoint", "fairness": "fairness criterion", "latency": "latency budget",
               "reader_study": "reader study", "tool_validation": "tool validation",
               "baseline": "non-inferiority to the cleared version",
               "determinism": "determinism check"}


def conclusions(results: dict, doc: dict) -> dict:
    rows = endpoint_rows(results)
    verdict = doc["verdict"]
    criteria = (results.get("acceptance") or {}).get("criteria") or []
    primary = [r for r in rows if r["primary"]]
    # every gating criterion that did not pass, whatever its kind: the reason for a FAIL
    not_passed = [{"kind": _KIND_WORDS.get(c.get("kind"), c.get("kind") or "criterion"),
                   "criterion": criterion_label(c, results), "verdict": c.get("verdict", ""), "rule": c.get("rule", ""),
                   "verdict_class": verdict_class(c.get("verdict"))}
                  for c in criteria if c.get("gates") and c.get("verdict") != "PASS"]
    other = [{"kind": _KIND_WORDS.get(c.get("kind"), c.get("kind")), "criterion": criterion_label(c, results),
              "verdict": c.get("verdict", ""), "rule": c.get("rule", ""), "gates": bool(c.get("gates"))}
             for c in criteria if c.get("kind") in ("fairness", "latency", "tool_validation", "baseline", "determinism")
             and not (c.get("gates") and c.get("verdict") != "PASS")]  # those are listed as not met
    return {
        "verdict": VERDICT_WORDS.get(verdict, verdict),
        "verdict_class": doc["verdict_class"],
        "raw_verdict": verdict,
        "primary": primary,
        "primary_all_pass": bool(primary) and all(r["verdict_class"] == "pass" for r in primary if r["has_goal"]),
        "not_passed": not_passed,
        "other_criteria": other,
        "secondary": [r for r in rows if not r["primary"]] + reader_study.endpoint_rows(results),
        "sites": _levels(results, "by_site"),
        "manufacturers": _levels(results, "by_manufacturer"),
        "scanner_models": _scanner_models(results),
        "exploratory": doc["exploratory"],
        "sens_label": metric_label("sensitivity", results),
        "baseline": baseline.conclusion(results),
    }
