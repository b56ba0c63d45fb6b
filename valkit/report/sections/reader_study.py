"""Report section "Reader study" and its row in the executive summary.

Reads the typed ``reader_study`` block (:class:`valkit.results_schema.reader_study.ReaderStudy`,
written by :func:`valkit.reader_study.run.reader_study_section`; as every section of
:data:`valkit.report.context.SECTIONS`) as attributes and only formats it: every number printed is
in results.json. Differences are printed with their sign (``+0.043``), intervals as ``-0.012 to +0.098``.

>>> signed(0.0431, "auc"), signed(-0.012, "proportion"), signed(None, "auc")
('+0.043', '-1.2 pp', 'not estimable')
"""
from __future__ import annotations

import re

import math
from typing import Any

from markupsafe import Markup

from valkit.report.formatting import NOT_ESTIMABLE, ci_text, count, file_name, num, p_value, pct, value_text
from valkit.report.reader_study_figures import RocPanel, reader_dot_svg, reader_roc_svg
from valkit.report.sections.common import VERDICT_WORDS, level_label, verdict_class
from valkit.results_schema import Results
from valkit.results_schema.base import Interval, Num, TestResult
from valkit.results_schema.reader_study import (
    ReaderDifference,
    ReaderStudy,
    ReaderStudyBinaryAnalysis,
    ReaderStudyEndpoint,
)

DESIGN_WORDS = {
    "factorial": "fully crossed: every reader read every case in every reading condition",
    "cases_nested_in_reader": "cases nested in reader (split-plot): each case read by one reader, in every "
                              "reading condition",
    "cases_nested_in_modality": "cases nested in reading condition: each case read in one condition only, "
                                "by every reader",
}
COVARIANCE_WORDS = {
    "jackknife": "jackknife",
    "DeLong": "DeLong (DeLong, DeLong & Clarke-Pearson 1988)",
    "delong": "DeLong (DeLong, DeLong & Clarke-Pearson 1988)",
    "unbiased": "unbiased U-statistic (Gallas, Pennello & Myers 2007)",
}
HYPOTHESIS_WORDS = {"superiority": "superiority", "non_inferiority": "non-inferiority"}


#: Obuchowski–Rockette variance components as printed (results.json keys → symbols)
COMPONENT_SYMBOLS = {"var_R": "σ²R", "var_TR": "σ²TR", "cov1": "Cov1", "cov2": "Cov2", "cov3": "Cov3",
                     "var_error": "σ²ε"}


def component_words(text: str) -> str:
    """A warning with the variance components' keys replaced by their printed symbols.

    >>> component_words("sensitivity: var_TR: the OR variance component estimate is negative")
    'sensitivity: σ²TR: the OR variance component estimate is negative'
    """
    for key in sorted(COMPONENT_SYMBOLS, key=len, reverse=True):
        text = re.sub(rf"\b{key}\b", COMPONENT_SYMBOLS[key], text)
    return text


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _kind(fom: str) -> str:
    return "auc" if fom in ("auc", "binormal") else "proportion"


def signed(x: Any, kind: str) -> str:
    """A difference with its sign: AUC units with 3 decimals, proportions in percentage points."""
    if not _finite(x):
        return NOT_ESTIMABLE
    return f"{x:+.3f}" if kind == "auc" else f"{x * 100:+.1f} pp"


def signed_ci(interval: dict | None, kind: str) -> str:
    if not interval or not (_finite(interval.get("low")) and _finite(interval.get("high"))):
        return "no interval"
    return f"{signed(interval['low'], kind)} to {signed(interval['high'], kind)}"


def fom_label(fom: str, threshold: Any = None) -> str:
    """'AUC', 'Sensitivity (rating ≥ 3)'."""
    if fom == "auc":
        return "AUC"
    if fom == "binormal":
        return "binormal AUC"
    t = f" (rating ≥ {threshold:g})" if _finite(threshold) else ""
    return f"{fom.capitalize()}{t}"


def _ordered(rs: ReaderStudy) -> list[str]:
    """Modalities with the reference first, then the test, then any others (sorted labels)."""
    mods = list(rs.modalities)
    ep = rs.endpoint
    first = [m for m in (ep.reference, ep.test) if m in mods]
    return first + [m for m in mods if m not in first]


def _interval(iv: Interval | None, kind: str) -> str:
    """:func:`signed_ci` of a typed interval."""
    return signed_ci(None if iv is None else iv.model_dump(), kind)


def _estimate_rows(block: ReaderStudy | ReaderStudyBinaryAnalysis, mods: list[str], kind: str
                   ) -> list[dict[str, str]]:
    rows = []
    for m in mods:
        est = block.estimates[m]
        iv = None if est.interval is None else est.interval.model_dump()
        rows.append({"label": m, "value": value_text(est.value, kind),
                     "ci": ci_text(iv, kind) if _finite(est.value) else "",
                     "n": count(est.n)})
    return rows


def _minus(comparison: str | None) -> str:
    """'aided - unaided' as 'aided − unaided' (typography only)."""
    return (comparison or "").replace(" - ", " − ")


def _row(label: str | None, method: str, kind: str, estimate: Num, interval: Interval | None, p: Num,
         df: Any) -> dict[str, str]:
    """A difference with its interval and p, as printed."""
    return {"label": _minus(label), "method": method, "value": signed(estimate, kind),
            "ci": _interval(interval, kind), "p": p_value(p), "p_text": _p_text(p),
            "df": num(df, 1) if _finite(df) else "—"}


def _diff_row(label: str | None, d: ReaderDifference, kind: str, method: str) -> dict[str, str]:
    """An Obuchowski-Rockette difference (``estimate``) with its interval and p."""
    return _row(label, method, kind, d.estimate, d.interval, d.p_value, d.df)


def _test_row(label: str, t: TestResult, kind: str, method: str) -> dict[str, str]:
    """A difference test (``difference``) with its interval and p."""
    return _row(label, method, kind, t.difference, t.interval, t.p_value, t.df)


def _analysis_rows(rs: ReaderStudy, kind: str) -> list[dict[str, str]]:
    """The mean difference under RRRC, FRRC and RRFC (the same estimate, different intervals)."""
    names = {"RRRC": "random readers and cases (RRRC, Hillis ddf)",
             "FRRC": "fixed readers, random cases (FRRC, normal)",
             "RRFC": "random readers, fixed cases (RRFC, t on r − 1 df)"}
    rows = []
    for key, words in names.items():
        test = getattr(rs.tests, key)
        if test is None:
            continue
        rows += [_diff_row(d.comparison, d, kind, words) for d in test.differences]
    return rows


def _per_reader(rs: ReaderStudy, mods: list[str], kind: str) -> list[dict[str, Any]]:
    frrc = {(r.reader, r.comparison): r for r in (rs.tests.FRRC.readers if rs.tests.FRRC is not None else [])}
    rows = []
    for row in rs.per_reader:
        diffs = [(c, d) for (rd, c), d in frrc.items() if rd == row.reader]
        rows.append({"reader": row.reader, "values": [value_text(row.fom(m), kind) for m in mods],
                     "diffs": [{"comparison": _minus(c), "value": signed(d.estimate, kind),
                                "ci": _interval(d.interval, kind), "p": p_value(d.p_value)}
                               for c, d in diffs]})
    return rows


def _model_rows(rs: ReaderStudy, mods: list[str], kind: str) -> tuple[str, list[dict[str, str]]]:
    model = rs.model
    if model is None:
        return "", []
    by_mod = {v.modality: v for v in model.vs_readers}
    rows = []
    for m in mods:
        v = by_mod[m]
        rows.append({**_diff_row(f"model − readers {m}", v.RRRC, kind, ""),
                     "readers": value_text(v.readers_fom, kind)})
    return value_text(model.value, kind), rows


def _binary(rs: ReaderStudy, mods: list[str]) -> dict[str, Any] | None:
    b = rs.binary
    if b is None:
        return None
    out = []
    for fom in ("sensitivity", "specificity"):
        block = getattr(b, fom)
        diffs = [_test_row(d.method.split(": ")[-1], d, "proportion", "RRRC") for d in block.differences]
        out.append({"label": fom_label(fom, b.threshold), "estimates": _estimate_rows(block, mods, "proportion"),
                    "diffs": diffs,
                    "n": f"{count(block.n_positive)} positive" if fom == "sensitivity"
                    else f"{count(block.n_negative)} negative",
                    "model": pct(block.model.value) if block.model is not None else ""})
    return {"threshold": f"{b.threshold:g}" if _finite(b.threshold) else "",
            "model_threshold": num(b.model_threshold, 3) if _finite(b.model_threshold) else "",
            "rows": out}


def _reading_time(rs: ReaderStudy, mods: list[str]) -> list[dict[str, str]]:
    rt = rs.reading_time
    if rt is None:
        return []
    return [{"label": m, "mean": num(rt[m].mean_s, 1), "median": num(rt[m].median_s, 1)} for m in mods if m in rt]


def _sci(x: Any) -> str:
    return f"{x:.3g}" if _finite(x) else NOT_ESTIMABLE


def _roc_figure(rs: ReaderStudy, mods: list[str], est_rows: list[dict], model_value: str) -> Markup | None:
    curves = rs.roc.by_modality
    panels = []
    for m, e in zip(mods, est_rows):
        if m not in curves:
            continue
        r = curves[m]
        readers = [(c.fpr, c.tpr) for c in r.readers.values()]
        panels.append(RocPanel(m, readers, (r.mean.fpr, r.mean.tpr),
                               f"reader-averaged AUC {e['value']} ({e['ci']})"))
    if not panels:
        return None
    model = rs.roc.model
    curve = (model.fpr, model.tpr) if model is not None else None
    extra = "Reader-averaged AUC with 95% CI: " + "; ".join(f"{e['label']} {e['value']} ({e['ci']})"
                                                           for e in est_rows) + "."
    return Markup(reader_roc_svg(panels, model=curve, model_label=f"model AUC {model_value}", desc_extra=extra))


def _dot_figure(rs: ReaderStudy, mods: list[str], kind: str, label: str) -> Markup | None:
    rows = rs.per_reader
    if not rows:
        return None
    model = rs.model.value if rs.model is not None else None
    values = [[r.fom(m) for m in mods] for r in rows]
    texts = [[value_text(v, kind) for v in row] for row in values]
    return Markup(reader_dot_svg([r.reader for r in rows], mods, values, axis_label=label,
                                 value_text=texts, model=model, model_text=value_text(model, kind)))


def _p_text(p: Any) -> str:
    """'= 0.012' or '< 0.001', to follow a 'p'."""
    text = p_value(p)
    return text if text.startswith("<") or text == NOT_ESTIMABLE else f"= {text}"


def _verdict(ep: ReaderStudyEndpoint, kind: str, label: str) -> dict[str, Any]:
    d = ep.difference
    bound = ep.bound
    word = VERDICT_WORDS.get(ep.verdict, ep.verdict)
    return {
        "hypothesis": HYPOTHESIS_WORDS.get(ep.hypothesis, ep.hypothesis),
        "margin": "" if ep.margin is None else num(ep.margin, 3) if kind == "auc" else f"{ep.margin * 100:.1f} pp",
        "delta": f"Δ{label} ({ep.test} − {ep.reference})",
        "h0": f"Δ{label} ≤ {signed(bound, kind) if bound else '0'}",
        "h1": f"Δ{label} > {signed(bound, kind) if bound else '0'}",
        "bound": signed(bound, kind) if bound else "0",
        "value": signed(d.estimate, kind),
        "ci": _interval(d.interval, kind),
        "level": level_label(ep.confidence_level),
        "lower": signed(d.interval.low, kind),
        "p_one_sided": _p_text(ep.p_one_sided),
        "p_two_sided": _p_text(d.p_value),
        "verdict": word,
        "verdict_class": verdict_class(ep.verdict),
        "conclusion": ep.conclusion,
        "comparator": {"PASS": ">", "FAIL": "≤"}.get(ep.verdict, "vs"),
    }


def build(results: Results, doc: dict) -> dict | None:
    """Context of the "Reader study" section (None when the run had no reader study)."""
    rs = results.reader_study
    if rs is None:
        return None
    prot = rs.protocol
    fom = rs.settings.fom
    kind = _kind(fom)
    label = fom_label(fom, prot.threshold)
    mods = _ordered(rs)
    est_rows = _estimate_rows(rs, mods, kind)
    model_value, model_rows = _model_rows(rs, mods, kind)
    inputs = rs.inputs
    vc = rs.variance_components
    warnings = list(rs.warnings)
    if rs.binary is not None:
        for fom_b in ("sensitivity", "specificity"):
            if fom_b != fom:
                warnings += [f"{fom_b}: {w}" for w in getattr(rs.binary, fom_b).warnings]
    ep = rs.endpoint
    return {
        "label": label,
        "kind": kind,
        "n_readers": count(len(rs.readers)),
        "n_cases": count(rs.n_cases),
        "n_positive": count(rs.n_positive),
        "n_negative": count(rs.n_negative),
        "modalities": mods,
        "design": DESIGN_WORDS.get(rs.design, rs.design),
        "washout": f"{prot.washout_days} days" if prot.washout_days is not None else "",
        "description": prot.description.strip() if prot.description is not None else "",
        "covariance": COVARIANCE_WORDS.get(rs.covariance, rs.covariance),
        "ratings": file_name(inputs.ratings),
        "ratings_sha256": inputs.ratings_sha256,
        "model_from": inputs.model_scores_from,
        "estimates": est_rows,
        "model_value": model_value,
        "model_rows": model_rows,
        "rrrc": [_diff_row(d.comparison, d, kind, "")
                 for d in (rs.tests.RRRC.differences if rs.tests.RRRC is not None else [])],
        "analyses": _analysis_rows(rs, kind),
        "verdict": _verdict(ep, kind, label),
        "per_reader": _per_reader(rs, mods, kind),
        "roc": _roc_figure(rs, mods, est_rows, model_value) if kind == "auc" else None,
        "dots": _dot_figure(rs, mods, kind, label),
        "binary": _binary(rs, mods),
        "reading_time": _reading_time(rs, mods),
        "components": [{"key": COMPONENT_SYMBOLS[k], "value": _sci(getattr(vc, k))}
                       for k in ("var_R", "var_TR", "cov1", "cov2", "cov3", "var_error")],
        "warnings": [component_words(w) for w in warnings],
        "level": level_label(ep.confidence_level),
    }


def endpoint_rows(results: Results) -> list[dict[str, Any]]:
    """The reader-study verdict as a secondary row of the executive summary / objectives tables."""
    rs = results.reader_study
    if rs is None:
        return []
    ep = rs.endpoint
    kind = _kind(ep.fom)
    label = fom_label(ep.fom, rs.protocol.threshold)
    v = _verdict(ep, kind, label)
    estimable = _finite(ep.difference.estimate)
    return [{
        "id": ep.id,
        "label": f"Reader study: Δ{label} {ep.test} − {ep.reference} ({v['hypothesis']})",
        "short": f"Δ{label}",
        "primary": False,
        "insufficient": False,  # the OR analysis has no evidence rule; keys match summary.endpoint_rows
        "estimable": estimable,
        "value": v["value"],
        "ci": v["ci"] if estimable else "",
        "counts": f"{count(ep.n_readers)} readers, {count(ep.n_cases)} cases",
        "n": count(ep.n_cases),
        "method": "OR RRRC",
        "level": "",
        "warnings": [],
        "ci_label": v["level"],
        "method_text": "Obuchowski–Rockette, random readers and cases, Hillis ddf",
        "method_requested_text": "Obuchowski–Rockette, random readers and cases, Hillis ddf",
        "method_used": "Obuchowski–Rockette (RRRC)",
        "ci_note": "",
        "goal": f"> {v['bound']}",
        "lower": v["lower"],
        "verdict": v["verdict"],
        "verdict_class": v["verdict_class"],
        "judged_on": ep.judged_on,
        "p_value": p_value(ep.p_one_sided),
        "has_goal": True,
        "h0": v["h0"],
        "h1": v["h1"],
    }]


__all__ = ["build", "endpoint_rows", "signed", "signed_ci", "fom_label"]
