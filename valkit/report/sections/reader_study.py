"""Report section "Reader study" and its row in the executive summary.

Reads ``results["reader_study"]`` (written by :func:`valkit.reader_study.run.reader_study_section`)
and only formats it: every number printed is in results.json. Differences are printed with
their sign (``+0.043``), intervals as ``-0.012 to +0.098``.

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


def _ordered(rs: dict) -> list[str]:
    """Modalities with the reference first, then the test, then any others (sorted labels)."""
    mods = list(rs.get("modalities") or [])
    ep = rs.get("endpoint") or {}
    first = [m for m in (ep.get("reference"), ep.get("test")) if m in mods]
    return first + [m for m in mods if m not in first]


def _estimate_rows(block: dict, mods: list[str], kind: str) -> list[dict[str, str]]:
    rows = []
    for m in mods:
        est = (block.get("estimates") or {}).get(m) or {}
        rows.append({"label": m, "value": value_text(est.get("value"), kind),
                     "ci": ci_text(est.get("interval"), kind) if _finite(est.get("value")) else "",
                     "n": count(est.get("n"))})
    return rows


def _minus(comparison: Any) -> str:
    """'aided - unaided' as 'aided − unaided' (typography only)."""
    return str(comparison or "").replace(" - ", " − ")


def _diff_row(label: str, d: dict | None, kind: str, method: str) -> dict[str, str]:
    """A difference (``estimate``, or ``difference`` in a TestResult) with its interval and p."""
    d = d or {}
    est = d["estimate"] if "estimate" in d else d.get("difference")
    return {"label": _minus(label), "method": method, "value": signed(est, kind),
            "ci": signed_ci(d.get("interval"), kind), "p": p_value(d.get("p_value")),
            "p_text": _p_text(d.get("p_value")),
            "df": num(d.get("df"), 1) if _finite(d.get("df")) else "—"}


def _analysis_rows(rs: dict, kind: str) -> list[dict[str, str]]:
    """The mean difference under RRRC, FRRC and RRFC (the same estimate, different intervals)."""
    tests = rs.get("tests") or {}
    names = {"RRRC": "random readers and cases (RRRC, Hillis ddf)",
             "FRRC": "fixed readers, random cases (FRRC, normal)",
             "RRFC": "random readers, fixed cases (RRFC, t on r − 1 df)"}
    rows = []
    for key, words in names.items():
        for d in (tests.get(key) or {}).get("differences") or []:
            rows.append(_diff_row(d.get("comparison") or "", d, kind, words))
    return rows


def _per_reader(rs: dict, mods: list[str], kind: str) -> list[dict[str, Any]]:
    frrc = {(r.get("reader"), r.get("comparison")): r for r in ((rs.get("tests") or {}).get("FRRC") or {})
            .get("readers") or []}
    rows = []
    for row in rs.get("per_reader") or []:
        reader = row.get("reader")
        diffs = [(c, d) for (rd, c), d in frrc.items() if rd == reader]
        rows.append({"reader": reader, "values": [value_text(row.get(m), kind) for m in mods],
                     "diffs": [{"comparison": _minus(c), "value": signed(d.get("estimate"), kind),
                                "ci": signed_ci(d.get("interval"), kind), "p": p_value(d.get("p_value"))}
                               for c, d in diffs]})
    return rows


def _model_rows(rs: dict, mods: list[str], kind: str) -> tuple[str, list[dict[str, str]]]:
    model = rs.get("model") or {}
    if not model:
        return "", []
    by_mod = {v.get("modality"): v for v in model.get("vs_readers") or []}
    rows = []
    for m in mods:
        v = by_mod.get(m) or {}
        rr = v.get("RRRC") or {}
        rows.append({**_diff_row(f"model − readers {m}", rr, kind, ""),
                     "readers": value_text(v.get("readers_fom"), kind)})
    return value_text(model.get("value"), kind), rows


def _binary(rs: dict, mods: list[str]) -> dict[str, Any] | None:
    b = rs.get("binary")
    if not b:
        return None
    out = []
    for fom in ("sensitivity", "specificity"):
        block = b.get(fom)
        if not block:
            continue
        diffs = [_diff_row(d.get("method", "").split(": ")[-1], d, "proportion", "RRRC")
                 for d in block.get("differences") or []]
        model = block.get("model") or {}
        out.append({"label": fom_label(fom, b.get("threshold")), "estimates": _estimate_rows(block, mods, "proportion"),
                    "diffs": diffs,
                    "n": f"{count(block.get('n_positive'))} positive" if fom == "sensitivity"
                    else f"{count(block.get('n_negative'))} negative",
                    "model": pct(model.get("value")) if model else ""})
    return {"threshold": f"{b['threshold']:g}" if _finite(b.get("threshold")) else "",
            "model_threshold": num(b.get("model_threshold"), 3) if _finite(b.get("model_threshold")) else "",
            "rows": out}


def _reading_time(rs: dict, mods: list[str]) -> list[dict[str, str]]:
    rt = rs.get("reading_time") or {}
    return [{"label": m, "mean": num((rt.get(m) or {}).get("mean_s"), 1),
             "median": num((rt.get(m) or {}).get("median_s"), 1)} for m in mods if m in rt]


def _sci(x: Any) -> str:
    return f"{x:.3g}" if _finite(x) else NOT_ESTIMABLE


def _roc_figure(rs: dict, mods: list[str], est_rows: list[dict], model_value: str) -> Markup | None:
    roc = rs.get("roc") or {}
    panels = []
    for m, e in zip(mods, est_rows):
        r = roc.get(m)
        if not r:
            continue
        readers = [(c.get("fpr") or [], c.get("tpr") or []) for c in (r.get("readers") or {}).values()]
        mean = r.get("mean")
        panels.append(RocPanel(m, readers, (mean.get("fpr") or [], mean.get("tpr") or []) if mean else None,
                               f"reader-averaged AUC {e['value']} ({e['ci']})"))
    if not panels:
        return None
    model = roc.get("model")
    curve = (model.get("fpr") or [], model.get("tpr") or []) if model else None
    extra = "Reader-averaged AUC with 95% CI: " + "; ".join(f"{e['label']} {e['value']} ({e['ci']})"
                                                           for e in est_rows) + "."
    return Markup(reader_roc_svg(panels, model=curve, model_label=f"model AUC {model_value}", desc_extra=extra))


def _dot_figure(rs: dict, mods: list[str], kind: str, label: str) -> Markup | None:
    rows = rs.get("per_reader") or []
    if not rows:
        return None
    model = (rs.get("model") or {}).get("value")
    values = [[r.get(m) for m in mods] for r in rows]
    texts = [[value_text(v, kind) for v in row] for row in values]
    return Markup(reader_dot_svg([str(r.get("reader")) for r in rows], mods, values, axis_label=label,
                                 value_text=texts, model=model, model_text=value_text(model, kind)))


def _p_text(p: Any) -> str:
    """'= 0.012' or '< 0.001', to follow a 'p'."""
    text = p_value(p)
    return text if text.startswith("<") or text == NOT_ESTIMABLE else f"= {text}"


def _verdict(rs: dict, kind: str, label: str) -> dict[str, Any] | None:
    ep = rs.get("endpoint")
    if not ep:
        return None
    d = ep.get("difference") or {}
    iv = d.get("interval") or {}
    bound = ep.get("bound")
    word = VERDICT_WORDS.get(ep.get("verdict"), ep.get("verdict"))
    return {
        "hypothesis": HYPOTHESIS_WORDS.get(ep.get("hypothesis"), ep.get("hypothesis")),
        "margin": (num(ep["margin"], 3) if kind == "auc" else f"{ep['margin'] * 100:.1f} pp")
        if _finite(ep.get("margin")) else "",
        "delta": f"Δ{label} ({ep.get('test')} − {ep.get('reference')})",
        "h0": f"Δ{label} ≤ {signed(bound, kind) if bound else '0'}",
        "h1": f"Δ{label} > {signed(bound, kind) if bound else '0'}",
        "bound": signed(bound, kind) if bound else "0",
        "value": signed(d.get("estimate"), kind),
        "ci": signed_ci(iv, kind),
        "level": level_label(ep.get("confidence_level")),
        "lower": signed(iv.get("low"), kind),
        "p_one_sided": _p_text(ep.get("p_one_sided")),
        "p_two_sided": _p_text(d.get("p_value")),
        "verdict": word,
        "verdict_class": verdict_class(ep.get("verdict")),
        "conclusion": ep.get("conclusion") or "",
        "comparator": {"PASS": ">", "FAIL": "≤"}.get(ep.get("verdict"), "vs"),
    }


def build(results: dict, doc: dict) -> dict | None:
    """Context of the "Reader study" section (None when the run had no reader study)."""
    rs = results.get("reader_study")
    if not rs:
        return None
    prot = rs.get("protocol") or {}
    fom = (rs.get("settings") or {}).get("fom") or "auc"
    kind = _kind(fom)
    label = fom_label(fom, prot.get("threshold"))
    mods = _ordered(rs)
    est_rows = _estimate_rows(rs, mods, kind)
    model_value, model_rows = _model_rows(rs, mods, kind)
    inputs = rs.get("inputs") or {}
    vc = rs.get("variance_components") or {}
    warnings = list(rs.get("warnings") or [])
    for fom_b in ("sensitivity", "specificity"):
        block = (rs.get("binary") or {}).get(fom_b) or {}
        if block and fom_b != fom:
            warnings += [f"{fom_b}: {w}" for w in block.get("warnings") or []]
    ep = rs.get("endpoint") or {}
    return {
        "label": label,
        "kind": kind,
        "n_readers": count(len(rs.get("readers") or [])),
        "n_cases": count(rs.get("n_cases")),
        "n_positive": count(rs.get("n_positive")),
        "n_negative": count(rs.get("n_negative")),
        "modalities": mods,
        "design": DESIGN_WORDS.get(rs.get("design"), str(rs.get("design"))),
        "washout": f"{prot['washout_days']} days" if prot.get("washout_days") is not None else "",
        "description": (prot.get("description") or "").strip(),
        "covariance": COVARIANCE_WORDS.get(rs.get("covariance"), str(rs.get("covariance"))),
        "ratings": file_name(inputs.get("ratings")),
        "ratings_sha256": inputs.get("ratings_sha256", ""),
        "model_from": inputs.get("model_scores_from", ""),
        "estimates": est_rows,
        "model_value": model_value,
        "model_rows": model_rows,
        "rrrc": [_diff_row(d.get("comparison") or "", d, kind, "")
                 for d in ((rs.get("tests") or {}).get("RRRC") or {}).get("differences") or []],
        "analyses": _analysis_rows(rs, kind),
        "verdict": _verdict(rs, kind, label),
        "per_reader": _per_reader(rs, mods, kind),
        "roc": _roc_figure(rs, mods, est_rows, model_value) if kind == "auc" else None,
        "dots": _dot_figure(rs, mods, kind, label),
        "binary": _binary(rs, mods),
        "reading_time": _reading_time(rs, mods),
        "components": [{"key": COMPONENT_SYMBOLS[k], "value": _sci(vc.get(k))}
                       for k in ("var_R", "var_TR", "cov1", "cov2", "cov3", "var_error") if k in vc],
        "warnings": [component_words(w) for w in warnings],
        "level": level_label(ep.get("confidence_level")),
    }


def endpoint_rows(results: dict) -> list[dict[str, Any]]:
    """The reader-study verdict as a secondary row of the executive summary / objectives tables."""
    rs = results.get("reader_study") or {}
    ep = rs.get("endpoint")
    if not ep:
        return []
    fom = ep.get("fom") or "auc"
    kind = _kind(fom)
    label = fom_label(fom, (rs.get("protocol") or {}).get("threshold"))
    v = _verdict(rs, kind, label)
    d = ep.get("difference") or {}
    estimable = _finite(d.get("estimate"))
    return [{
        "id": ep.get("id", "reader_study"),
        "label": f"Reader study: Δ{label} {ep.get('test')} − {ep.get('reference')} ({v['hypothesis']})",
        "short": f"Δ{label}",
        "primary": False,
        "insufficient": False,  # the OR analysis has no evidence rule; keys match summary.endpoint_rows
        "estimable": estimable,
        "value": v["value"],
        "ci": v["ci"] if estimable else "",
        "counts": f"{count(ep.get('n_readers'))} readers, {count(ep.get('n_cases'))} cases",
        "n": count(ep.get("n_cases")),
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
        "judged_on": ep.get("judged_on") or "",
        "p_value": p_value(ep.get("p_one_sided")),
        "has_goal": True,
        "h0": v["h0"],
        "h1": v["h1"],
    }]


__all__ = ["build", "endpoint_rows", "signed", "signed_ci", "fom_label"]
