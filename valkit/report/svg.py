"""The one SVG kit of the report's figures: palette, font, escaping and the opening of a figure.

Every figure (:mod:`valkit.report.figures`, :mod:`valkit.report.reader_study_figures`, the
computational-performance figures, the heatmap legend) is an SVG string built from these pieces, so
all carry the same font, colours and accessible ``<title>``/``<desc>`` (the alt text of the tagged
PDF), and all escape their text the same way.

>>> "".join(open_svg(100, 50, "A & B", "two bars", "demo"))[:60]
'<svg xmlns="http://www.w3.org/2000/svg" class="figure-svg de'
>>> text(10, 20, "<1%", anchor="end")
'<text x="10.0" y="20.0" text-anchor="end">&lt;1%</text>'
"""
from __future__ import annotations

import hashlib
import math
from html import escape
from typing import Any, Sequence

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
INK = "#1a1a1a"
MUTED = "#666666"
RULE = "#bbbbbb"
ACCENT = "#1f4e79"
POOLED = "#8a4b00"


def escape_text(text: Any) -> str:
    """``text`` XML-escaped (quotes included), for element text and attribute values."""
    return escape(str(text), quote=True)


def finite(x: Any) -> bool:
    """A real, finite number (not a bool, not None, not NaN)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def open_svg(width: int, height: int, title: str, desc: str, kind: str, *, font_size: float = 11) -> list[str]:
    """The opening ``<svg>`` with its ``<title>`` and ``<desc>`` (role="img", labelled by both).

    Ids come from the content, so re-rendering the same results gives byte-identical HTML.
    """
    uid = f"{kind}-{hashlib.sha256((title + desc).encode()).hexdigest()[:10]}"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="figure-svg {kind}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{uid}-t {uid}-d" font-family="{FONT}" font-size="{font_size:g}" fill="{INK}">',
        f'<title id="{uid}-t">{escape_text(title)}</title>',
        f'<desc id="{uid}-d">{escape_text(desc)}</desc>',
    ]


def text(x: float, y: float, content: Any, *, anchor: str = "start", size: float | None = None,
         weight: str | None = None, fill: str | None = None, extra: str = "") -> str:
    """One ``<text>`` element at (x, y), its content escaped."""
    attrs = f'x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"'
    if size:
        attrs += f' font-size="{size}"'
    if weight:
        attrs += f' font-weight="{weight}"'
    if fill:
        attrs += f' fill="{fill}"'
    return f"<text {attrs}{extra}>{escape_text(content)}</text>"


def lines(x: float, y: float, rows: Sequence[str], *, anchor: str = "middle", size: float = 11,
          leading: float = 14, weight_first: bool = False) -> str:
    """Several lines of text, one under the other (the first in bold with ``weight_first``)."""
    return "".join(text(x, y + i * leading, row, anchor=anchor, size=size,
                        weight="bold" if weight_first and i == 0 else None) for i, row in enumerate(rows))


__all__ = ["ACCENT", "FONT", "INK", "MUTED", "POOLED", "RULE", "escape_text", "finite", "lines", "open_svg", "text"]
