"""Vector figures for the report, written as SVG strings (no plotting library).

Each figure carries ``<title>`` and ``<desc>`` (its alt text) and draws only numbers it
is given from results.json; the arithmetic here is layout (data → page coordinates).
All text is XML-escaped.

>>> svg = roc_svg([0, 0.1, 1], [0, 0.8, 1], op_fpr=0.1, op_tpr=0.8, threshold=0.5, auc_label="AUC 0.900")
>>> svg.startswith("<svg") and "<title" in svg and "AUC 0.900" in svg
True
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import Any, Sequence

from valkit.report.formatting import pct

from valkit.report.svg import (
    ACCENT,
    INK,
    MUTED,
    POOLED,
    RULE,
    finite as _finite,
    lines as _lines,
    open_svg as _open,
    text as _text,
)


# --------------------------------------------------------------------------- ROC curve
def _unit_square(left: float, top: float, w: float, h: float) -> list[str]:
    """Frame, 0.2-step grid with tick labels, and the dashed diagonal of a [0, 1] x [0, 1] plot."""
    out = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="{RULE}"/>']
    for i in range(0, 11, 2):
        v = i / 10
        x, y = left + v * w, top + (1 - v) * h
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + h}" stroke="#eeeeee"/>')
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="#eeeeee"/>')
        out.append(_text(x, top + h + 14, f"{v:.1f}", anchor="middle", size=9.5, fill=MUTED))
        out.append(_text(left - 6, y + 3.5, f"{v:.1f}", anchor="end", size=9.5, fill=MUTED))
    out.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top}" stroke="{MUTED}" '
               'stroke-dasharray="4 3" stroke-width="0.8"/>')
    return out


def roc_svg(fpr: Sequence[float], tpr: Sequence[float], *, op_fpr: float | None, op_tpr: float | None,
            threshold: float | None, auc_label: str, op_text: str = "", size: int = 340,
            axes: tuple[str, str] = ("1 − specificity (false-positive rate)",
                                     "Sensitivity (true-positive rate)")) -> str:
    """The empirical ROC curve with the chance diagonal and the operating point marked.

    ``op_text`` describes the operating point in words for the alt text (e.g. its
    sensitivity and specificity as printed elsewhere in the report). ``axes``: the x and y axis
    titles (agreement words when the comparator is not a reference standard).
    """
    left, right, top, bottom = 52, 14, 14, 46
    w, h = size - left - right, size - top - bottom

    def px(x: float) -> float:
        return left + x * w

    def py(y: float) -> float:
        return top + (1 - y) * h

    op_known = _finite(op_fpr) and _finite(op_tpr)
    op_desc = (f"The operating point (threshold {threshold}) is marked. {op_text}" if op_known
               else "The operating point is not estimable.")
    desc = (f"Empirical receiver operating characteristic curve: {axes[1]} (y axis) against "
            f"{axes[0]} (x axis), {len(fpr)} vertices. {auc_label}. {op_desc} "
            "The dashed diagonal is chance performance.")
    out = _open(size, size, "ROC curve of the index test on the analysed cases", desc, "roc")
    out += _unit_square(left, top, w, h)
    pts = " ".join(f"{px(x):.2f},{py(y):.2f}" for x, y in zip(fpr, tpr) if _finite(x) and _finite(y))
    if pts:
        out.append(f'<polyline points="{pts}" fill="none" stroke="{ACCENT}" stroke-width="1.8" '
                   'stroke-linejoin="round"/>')
    out.append(_text(left + w / 2, size - 10, axes[0], anchor="middle"))
    out.append(_text(14, top + h / 2, axes[1], anchor="middle",
                     extra=f' transform="rotate(-90 14 {top + h / 2:.1f})"'))
    if op_known:
        cx, cy = px(op_fpr), py(op_tpr)
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="#ffffff" stroke="{INK}" stroke-width="1.6"/>')
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="1.8" fill="{INK}"/>')
        label = f"operating point (threshold {threshold})"
        out.append(_text(cx + 9, cy + 16, label, size=9.5))
    out.append(f'<rect x="{px(0.42):.1f}" y="{py(0.17):.1f}" width="{w * 0.56:.1f}" height="22" '
               'fill="#ffffff" stroke="#dddddd"/>')
    out.append(_text(px(0.70), py(0.17) + 15, auc_label, anchor="middle", size=10))
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- STARD flow diagram
@dataclass(frozen=True)
class FlowCounts:
    """The counts a STARD flow diagram shows, as printed strings taken from results.json."""

    in_manifest: str
    failed: str
    failed_positive: str
    failed_negative: str
    failure_reasons: Sequence[tuple[str, str]]
    analysed: str
    positive: str
    negative: str
    tp: str
    fn: str
    fp: str
    tn: str
    positive_label: str = "Reference standard positive"
    negative_label: str = "Reference standard negative"
    # images outside the model card's accepts block; None for results.json written before exclusions existed
    excluded: str | None = None
    excluded_positive: str = "0"
    excluded_negative: str = "0"
    exclusion_reasons: Sequence[tuple[str, str]] = ()
    # cases whose reference standard is indeterminate: scored ones (a box of their own; None: none, or a
    # results.json from before indeterminate references) and those among the excluded and failed cases
    indeterminate: str | None = None
    excluded_indeterminate: str = "0"
    failed_indeterminate: str = "0"


def _box(x: float, y: float, w: float, h: float, lines: Sequence[str], *, bold_first: bool = True,
         fill: str = "#ffffff", size: float = 11) -> str:
    leading = size + 3
    y0 = y + h / 2 - (len(lines) - 1) * leading / 2 + size / 3
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="3" fill="{fill}" '
            f'stroke="{INK}" stroke-width="0.9"/>'
            + _lines(x + w / 2, y0, lines, size=size, leading=leading, weight_first=bold_first))


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{INK}" '
            'stroke-width="0.9" marker-end="url(#arrowhead)"/>')


def _by_reference(pos: str, neg: str, indeterminate: str = "0") -> str:
    """'3 reference positive, 2 negative' (and ', 1 indeterminate' when there are such cases): adds up to the box.

    Each count is tied to its word by a no-break space, so that a wrapped line never ends on a bare number.
    """
    return f"{pos}\u00a0reference positive, {neg}\u00a0negative" + (
        f", {indeterminate}\u00a0indeterminate" if indeterminate not in ("0", "") else "")


def _side_lines(title: str, n: str, pos: str, neg: str, reasons: Sequence[tuple[str, str]],
                indeterminate: str = "0") -> list[str]:
    wrapped: list[str] = []
    for r in [f"{r}: {k}" for r, k in reasons] or ["none"]:
        wrapped.extend(textwrap.wrap(r, 44) or [""])
    return [f"{title}: {n}", *textwrap.wrap(f"({_by_reference(pos, neg, indeterminate)})", 44), *wrapped]


def flow_svg(c: FlowCounts, width: int = 620) -> str:
    """STARD-style flow of cases: manifest → excluded, not analysed (with reasons) or reference standard
    indeterminate → analysed → reference → index test."""
    reasons = [f"{r}: {n}" for r, n in c.failure_reasons] or ["none"]
    side = []  # boxes to the right of the trunk, top to bottom
    if c.excluded is not None:
        side.append(_side_lines("Excluded, outside the card's inputs", c.excluded, c.excluded_positive,
                                c.excluded_negative, c.exclusion_reasons, c.excluded_indeterminate))
    side.append(_side_lines("Not analysed", c.failed, c.failed_positive, c.failed_negative, c.failure_reasons,
                            c.failed_indeterminate))
    if c.indeterminate is not None:
        side.append([f"Reference standard indeterminate: {c.indeterminate}", "(scored; outside the primary analysis,",
                     "counted both ways in the results)"])
    heights = [18 + 14 * len(lines) for lines in side]
    top_h = 40
    side_end = 4 + top_h + 8 + sum(heights) + 8 * (len(side) - 1)
    mid_y = max(74, side_end - 22)
    height = mid_y + 44 + 50 + 60 + 40 + 10
    excluded = "" if c.excluded is None else (
        f"{c.excluded} excluded as outside the model's declared inputs "
        f"({'; '.join(f'{r}: {n}' for r, n in c.exclusion_reasons) or 'none'}); ")
    indeterminate = "" if c.indeterminate is None else (
        f"{c.indeterminate} with an indeterminate reference standard (scored, outside the primary analysis, "
        f"counted both ways); ")
    desc = (f"Flow of cases. {c.in_manifest} cases in the manifest; {excluded}{c.failed} not analysed "
            f"({'; '.join(reasons)}); {indeterminate}{c.analysed} analysed: {c.positive} reference positive "
            f"(index test positive {c.tp}, negative {c.fn}) and {c.negative} reference negative "
            f"(index test positive {c.fp}, negative {c.tn}).")
    out = _open(width, height, "Flow of cases through the study (STARD)", desc, "flow")
    out.append('<defs><marker id="arrowhead" markerWidth="8" markerHeight="8" refX="7" refY="4" '
               f'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{INK}"/></marker></defs>')
    cx, bw = 190, 230
    out.append(_box(cx - bw / 2, 4, bw, top_h, ["Cases in manifest", f"n = {c.in_manifest}"]))
    # the exclusion and failure boxes to the right of the trunk
    fx, fw = 352, width - 356
    fy = 4 + top_h + 8
    for lines, h in zip(side, heights):
        out.append(_box(fx, fy, fw, h, lines, size=10, fill="#f6f6f6"))
        out.append(_arrow(cx, fy + h / 2, fx - 1, fy + h / 2))
        fy += h + 8
    out.append(f'<line x1="{cx}" y1="{4 + top_h}" x2="{cx}" y2="{mid_y}" stroke="{INK}" stroke-width="0.9" '
               'marker-end="url(#arrowhead)"/>')
    out.append(_box(cx - bw / 2, mid_y, bw, 44, ["Analysed (index test result)", f"n = {c.analysed}"]))
    ry = mid_y + 44 + 40
    col = (20, 320)
    rw = 260
    out.append(f'<line x1="{cx}" y1="{mid_y + 44}" x2="{cx}" y2="{ry - 20}" stroke="{INK}" stroke-width="0.9"/>')
    out.append(f'<line x1="{col[0] + rw / 2}" y1="{ry - 20}" x2="{col[1] + rw / 2}" y2="{ry - 20}" '
               f'stroke="{INK}" stroke-width="0.9"/>')
    for x, label, n, a, b, la, lb in ((col[0], c.positive_label, c.positive, c.tp, c.fn, "Index test positive",
                                       "Index test negative"),
                                      (col[1], c.negative_label, c.negative, c.fp, c.tn, "Index test positive",
                                       "Index test negative")):
        out.append(_arrow(x + rw / 2, ry - 20, x + rw / 2, ry - 1))
        out.append(_box(x, ry, rw, 44, [label, f"n = {n}"]))
        half = (rw - 10) / 2
        out.append(_arrow(x + half / 2, ry + 44, x + half / 2, ry + 70))
        out.append(_arrow(x + rw - half / 2, ry + 44, x + rw - half / 2, ry + 70))
        out.append(_box(x, ry + 71, half, 40, [la, f"n = {a}"], size=10))
        out.append(_box(x + rw - half, ry + 71, half, 40, [lb, f"n = {b}"], size=10))
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- forest plot
@dataclass(frozen=True)
class ForestRow:
    """One row of a forest plot: point and interval from results.json, or a reason not to draw."""

    label: str
    n_text: str
    value: float | None
    low: float | None
    high: float | None
    note: str = ""  # e.g. "insufficient evidence": drawn as text instead of a point


@dataclass(frozen=True)
class ForestPanel:
    """One metric's column of a forest plot: a row per level, the protocol goal (dashed line) and
    the overall estimate (solid line) when given."""

    metric: str
    rows: Sequence[ForestRow]
    goal: float | None = None
    overall: float | None = None
    axis: tuple[float, float] | None = None  # fixed x range (e.g. differences around 0); default [<=0.5, 1]
    goal_label: str = "goal"  # e.g. "margin" for a non-inferiority limit


@dataclass(frozen=True)
class ForestGroup:
    """A titled block of ``size`` consecutive rows (e.g. the levels of one column), optionally closed
    by a random-effects pooled estimate per panel, ``(value, low, high)``, drawn as a diamond."""

    title: str
    size: int
    pooled: Sequence[tuple[float | None, float | None, float | None]] = ()


def _row_desc(r: ForestRow) -> str:
    if r.note:
        return f"{r.label}: {r.note}"
    if _finite(r.value):
        return f"{r.label}: {pct(r.value)} ({pct(r.low)} to {pct(r.high)})"
    return f"{r.label}: not estimable"


def _panel_desc(p: ForestPanel) -> str:
    extra = (f", overall {pct(p.overall)}" if _finite(p.overall) else "") + \
        (f" ({p.goal_label} {pct(p.goal)}, dashed line)" if _finite(p.goal) else "")
    return f"{p.metric} with 95% confidence intervals{extra}: " + "; ".join(_row_desc(r) for r in p.rows) + "."


def forest_svg(panels: Sequence[ForestPanel], *, title: str, groups: Sequence[ForestGroup] | None = None,
               width: int = 640) -> str:
    """Point estimates with CIs per level, one panel per metric side by side; the one forest plot
    of the report (sites, scanners, subgroups, localisation).

    ``groups`` split the rows into titled blocks (each with an optional pooled diamond); without
    it the rows form one untitled block. Every panel has a row per level, in the same order.
    The numbers themselves are in the table printed next to the figure; the alt text repeats them.

    >>> rows = [ForestRow("F", "58/165", 0.76, 0.66, 0.85), ForestRow("O", "2/3", None, None, None, "insufficient")]
    >>> svg = forest_svg([ForestPanel("Sensitivity", rows, goal=0.7, overall=0.8)], title="By sex",
    ...                  groups=[ForestGroup("Sex", 2, pooled=[(0.75, 0.7, 0.8)])])
    >>> "F: 76.0% (66.0% to 85.0%)" in svg and "O: insufficient" in svg and "<polygon" in svg
    True
    """
    n_rows = len(panels[0].rows)
    groups = list(groups) if groups else [ForestGroup("", n_rows)]
    if sum(g.size for g in groups) != n_rows or any(len(p.rows) != n_rows for p in panels):
        raise ValueError("forest_svg: every panel needs one row per level, and the groups must cover them")
    layout: list[tuple[str, Any]] = []  # (kind, object) per drawn row: header, item (row index), pooled
    start = 0
    for g in groups:
        if g.title:
            layout.append(("header", g.title))
        layout.extend(("item", i) for i in range(start, start + g.size))
        if g.pooled:
            layout.append(("pooled", g))
        start += g.size
    label_w, n_w, gap, row_h, top, leading = 170, 58, 22, 18, 30, 11
    x0 = label_w + n_w + 10
    pw = (width - x0 - gap * (len(panels) - 1) - 6) / len(panels)
    indent = 8 if any(g.title for g in groups) else 0
    # labels are wrapped, never cut: two sites that share a long prefix must stay distinguishable
    wrapped = {obj: _wrap_label(panels[0].rows[obj].label, label_w - indent) for kind, obj in layout if kind == "item"}
    heights = [row_h + leading * (len(wrapped[obj]) - 1) if kind == "item" else row_h for kind, obj in layout]
    centres = [top + sum(heights[:i]) + heights[i] / 2 for i in range(len(layout))]
    bottom = top + sum(heights)
    height = int(bottom + 40)
    out = _open(width, height, title, f"{title}. " + " ".join(_panel_desc(p) for p in panels), "forest")
    out.append(_text(0, 16, "Level", weight="bold", size=10))
    out.append(_text(label_w + n_w, 16, "pos/neg", anchor="end", weight="bold", size=10))
    for i, (kind, obj) in enumerate(layout):
        y = centres[i]
        if kind == "item" and i % 2 == 0:
            out.append(f'<rect x="0" y="{y - heights[i] / 2:.1f}" width="{width}" height="{heights[i]}" fill="#f5f5f5"/>')
        if kind == "header":
            out.append(_text(0, y + 4, obj, weight="bold", size=10))
        elif kind == "item":
            r = panels[0].rows[obj]
            lines = wrapped[obj]
            y_first = y + 4 - leading * (len(lines) - 1) / 2
            out.append(_lines(indent, y_first, lines, anchor="start", size=10, leading=leading))
            out.append(_text(label_w + n_w, y + 4, r.n_text, anchor="end", size=10))
        else:
            out.append(_text(indent, y + 4, "Random-effects pooled", size=10, fill=POOLED))
    for k, panel in enumerate(panels):
        px0 = x0 + k * (pw + gap)
        lows = [r.low for r in panel.rows if _finite(r.low) and not r.note]
        lows += [v for v in (panel.overall, panel.goal) if _finite(v)]
        lo_axis = min(0.5, math.floor(min(lows) * 10) / 10) if lows else 0.0
        hi_axis = 1.0
        ticks = [t10 / 10 for t10 in range(int(round(lo_axis * 10)), 11, 1 if lo_axis >= 0.5 else 2)]
        if panel.axis is not None:
            lo_axis, hi_axis = panel.axis
            step = _nice_step((hi_axis - lo_axis) / 3)
            ticks = [k * step for k in range(math.ceil(lo_axis / step - 1e-9), math.floor(hi_axis / step + 1e-9) + 1)]

        def px(v: float, px0: float = px0, lo_axis: float = lo_axis, hi_axis: float = hi_axis) -> float:
            return px0 + (min(max(v, lo_axis), hi_axis) - lo_axis) / (hi_axis - lo_axis) * pw

        out.append(_text(px0 + pw / 2, 16, f"{panel.metric} (95% CI)", anchor="middle", weight="bold", size=10))
        for v in ticks:
            out.append(f'<line x1="{px(v):.1f}" y1="{top}" x2="{px(v):.1f}" y2="{bottom}" stroke="#dddddd"/>')
            out.append(_text(px(v), bottom + 12, f"{v:.1f}" if panel.axis is None else (f"{v:+.2f}" if abs(v) > 1e-12 else "0"),
                             anchor="middle", size=9, fill=MUTED))
        out.append(f'<line x1="{px0:.1f}" y1="{bottom}" x2="{px0 + pw:.1f}" y2="{bottom}" stroke="{MUTED}"/>')
        if _finite(panel.overall):
            out.append(f'<line x1="{px(panel.overall):.1f}" y1="{top - 2}" x2="{px(panel.overall):.1f}" '
                       f'y2="{bottom}" stroke="{ACCENT}" stroke-width="0.8"/>')
            out.append(_text(px(panel.overall), bottom + 24, f"overall {pct(panel.overall)}", anchor="middle",
                             size=9, fill=ACCENT))
        if _finite(panel.goal):
            out.append(f'<line x1="{px(panel.goal):.1f}" y1="{top - 2}" x2="{px(panel.goal):.1f}" y2="{bottom}" '
                       'stroke="#333333" stroke-dasharray="4 3"/>')
            out.append(_text(px(panel.goal), bottom + (35 if _finite(panel.overall) else 26),
                             f"{panel.goal_label} {pct(panel.goal)}", anchor="middle", size=9))
        for i, (kind, obj) in enumerate(layout):
            y = centres[i]
            if kind == "item":
                r = panel.rows[obj]
                if r.note or not _finite(r.value):
                    note = r.note or "not estimable"
                    out.append(f'<rect x="{px0 + 2:.1f}" y="{y - 7:.1f}" width="{len(note) * 5.2 + 6:.1f}" '
                               'height="14" fill="#ffffff"/>')
                    out.append(_text(px0 + 5, y + 4, note, size=9, fill=MUTED, extra=' font-style="italic"'))
                    continue
                if _finite(r.low) and _finite(r.high):
                    out.append(f'<line x1="{px(r.low):.1f}" y1="{y:.1f}" x2="{px(r.high):.1f}" y2="{y:.1f}" '
                               f'stroke="{INK}" stroke-width="1.2"/>')
                out.append(f'<rect x="{px(r.value) - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{ACCENT}"/>')
            elif kind == "pooled" and k < len(obj.pooled):
                v, lo, hi = obj.pooled[k]
                if _finite(v) and _finite(lo) and _finite(hi):
                    out.append(f'<polygon points="{px(lo):.1f},{y:.1f} {px(v):.1f},{y - 5:.1f} {px(hi):.1f},{y:.1f} '
                               f'{px(v):.1f},{y + 5:.1f}" fill="{POOLED}"/>')
    out.append("</svg>")
    return "".join(out)


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw`` (axis ticks).

    >>> _nice_step(0.013), _nice_step(0.04), _nice_step(0.3)
    (0.02, 0.05, 0.5)
    """
    if not raw > 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw - 1e-12)


def _wrap_label(text: str, width_px: float, *, size: float = 10) -> list[str]:
    """``text`` in lines that fit ``width_px`` at font ``size`` (DejaVu Sans: about 0.6 em a character),
    broken at spaces (a word longer than a line is split); nothing is dropped.

    >>> _wrap_label("Ganga Valley Medical College", 100)
    ['Ganga Valley', 'Medical College']
    """
    chars = max(4, int(width_px / (0.6 * size)))
    return textwrap.wrap(str(text), chars, break_long_words=True, break_on_hyphens=False) or [""]


def reliability_svg(mean_predicted: Sequence[float], observed: Sequence[float], low: Sequence[float],
                    high: Sequence[float], counts: Sequence[int], *, size: int = 340) -> str:
    """Reliability diagram: observed frequency (with 95% CI) against mean predicted probability per bin."""
    left, right, top, bottom = 52, 14, 14, 46
    w, h = size - left - right, size - top - bottom

    def px(x: float) -> float:
        return left + x * w

    def py(y: float) -> float:
        return top + (1 - y) * h

    desc = (f"Reliability diagram with {len(observed)} bins of equal size (cases per bin: "
            f"{', '.join(str(c) for c in counts)}): observed proportion of positives with 95% Wilson intervals "
            "against the mean predicted probability. The dashed diagonal is perfect calibration.")
    out = _open(size, size, "Calibration (reliability diagram) of the model's probabilities", desc, "calibration")
    out += _unit_square(left, top, w, h)
    pts = []
    for x, y, lo, hi in zip(mean_predicted, observed, low, high):
        if not (_finite(x) and _finite(y)):
            continue
        if _finite(lo) and _finite(hi):
            out.append(f'<line x1="{px(x):.1f}" y1="{py(lo):.1f}" x2="{px(x):.1f}" y2="{py(hi):.1f}" '
                       f'stroke="{INK}" stroke-width="1"/>')
        out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{ACCENT}"/>')
        pts.append(f"{px(x):.2f},{py(y):.2f}")
    if pts:
        out.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{ACCENT}" stroke-width="1.2"/>')
    out.append(_text(left + w / 2, size - 10, "Mean predicted probability", anchor="middle"))
    out.append(_text(14, top + h / 2, "Observed proportion positive", anchor="middle",
                     extra=f' transform="rotate(-90 14 {top + h / 2:.1f})"'))
    out.append("</svg>")
    return "".join(out)
