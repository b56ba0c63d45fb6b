"""Score distributions by reference standard, with the threshold line (SVG, no plotting library).

Draws the histogram counts results.json holds (``primary.score_histogram``, binned by the
analysis); the arithmetic here is layout only. Built on the helpers of :mod:`valkit.report.figures`.

>>> svg = score_histogram_svg([0, 0.5, 1], [1, 3], [4, 0], threshold=0.5, positive_label="Reference positive",
...                           negative_label="Reference negative")
>>> svg.startswith("<svg") and "threshold 0.5" in svg and "<desc" in svg
True
"""
from __future__ import annotations

from typing import Sequence

from valkit.report.figures import _nice_step
from valkit.report.svg import ACCENT, MUTED, RULE, finite as _finite, open_svg as _open, text as _text

POSITIVE = "#b2182b"
NEGATIVE = ACCENT


def _panel(out: list[str], counts: Sequence[int], edges: Sequence[float], *, top: float, height: float, left: float,
           width: float, color: str, label: str, threshold: float | None) -> None:
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    peak = max(max(counts, default=0), 1)
    step = _nice_step(peak / 4)
    ymax = step * max(1, -(-peak // step))

    def px(x: float) -> float:
        return left + (x - lo) / span * width

    def py(v: float) -> float:
        return top + height - v / ymax * height

    out.append(f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="{RULE}"/>')
    tick = 0.0
    while tick <= ymax + 1e-9:
        out.append(f'<line x1="{left}" y1="{py(tick):.1f}" x2="{left + width}" y2="{py(tick):.1f}" stroke="#eeeeee"/>')
        out.append(_text(left - 5, py(tick) + 3.5, f"{tick:g}", anchor="end", size=9, fill=MUTED))
        tick += step
    for a, b, c in zip(edges, edges[1:], counts):
        if c:
            out.append(f'<rect x="{px(a) + 0.5:.1f}" y="{py(c):.1f}" width="{max(px(b) - px(a) - 1, 0.5):.1f}" '
                       f'height="{py(0) - py(c):.1f}" fill="{color}" fill-opacity="0.75"/>')
    out.append(_text(left, top - 6, label, size=10, weight="bold", fill=color))  # above the panel, clear of bars
    if _finite(threshold) and lo <= threshold <= hi:
        x = px(threshold)
        out.append(f'<line x1="{x:.1f}" y1="{top - 3}" x2="{x:.1f}" y2="{top + height}" stroke="#1a1a1a" '
                   'stroke-width="1.4" stroke-dasharray="5 3"/>')


def score_histogram_svg(edges: Sequence[float], positive: Sequence[int], negative: Sequence[int], *,
                        threshold: float | None, positive_label: str, negative_label: str,
                        width: int = 560) -> str:
    """Two stacked histograms (reference positive above, negative below) on one score axis, with the
    threshold as a dashed vertical line: cases right of it are called positive."""
    left, right, top, gap, panel_h, bottom = 52, 16, 22, 30, 110, 50
    w = width - left - right
    height = top + 2 * panel_h + gap + bottom
    n_pos, n_neg = sum(positive), sum(negative)
    above_pos = sum(c for a, c in zip(edges, positive) if _finite(threshold) and a >= threshold)
    desc = (f"Histograms of the model's score, {len(positive)} equal bins from {edges[0]:g} to {edges[-1]:g}: "
            f"{positive_label.lower()} cases (n = {n_pos}) above, {negative_label.lower()} cases (n = {n_neg}) below. "
            + (f"The dashed vertical line is the threshold {threshold:g}; a case at or above it is called positive "
               f"({above_pos} positive cases fall in bins wholly at or above it)." if _finite(threshold) else
               "The threshold is not recorded."))
    out = _open(width, height, "Score distributions by reference standard, with the threshold", desc, "scores")
    _panel(out, positive, edges, top=top, height=panel_h, left=left, width=w, color=POSITIVE,
           label=f"{positive_label} (n = {n_pos})", threshold=threshold)
    _panel(out, negative, edges, top=top + panel_h + gap, height=panel_h, left=left, width=w, color=NEGATIVE,
           label=f"{negative_label} (n = {n_neg})", threshold=threshold)
    base = top + 2 * panel_h + gap
    lo, hi = edges[0], edges[-1]
    for i in range(0, 6):
        v = lo + (hi - lo) * i / 5
        out.append(_text(left + w * i / 5, base + 14, f"{v:g}", anchor="middle", size=9.5, fill=MUTED))
    out.append(_text(left + w, height - 6, "Model score", anchor="end"))
    out.append(_text(14, top + panel_h + gap / 2, "Cases per bin", anchor="middle",
                     extra=f' transform="rotate(-90 14 {top + panel_h + gap / 2:.1f})"'))
    if _finite(threshold) and lo <= threshold <= hi:  # named under the axis, where no bar or label is
        x = left + (threshold - lo) / ((hi - lo) or 1.0) * w
        out.append(_text(x, base + 29, f"threshold {threshold:g}", anchor="middle" if x > left + 40 else "start",
                         size=9.5, weight="bold"))
    out.append("</svg>")
    return "".join(out)
