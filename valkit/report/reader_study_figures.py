"""Vector figures of the reader-study section: ROC curves per modality, reader FOMs per modality.

Drawn from the points stored in results.json (``reader_study.roc``, ``per_reader``); the
arithmetic here is layout only. Every figure has ``<title>`` and ``<desc>`` (its alt text).

>>> panel = RocPanel("unaided", [([0, 0.2, 1], [0, 0.7, 1])], ([0, 0.2, 1], [0, 0.7, 1]), "AUC 0.750")
>>> svg = reader_roc_svg([panel], model=([0, 0.1, 1], [0, 0.8, 1]), model_label="model AUC 0.850",
...                      desc_extra="Reader-averaged AUC unaided 0.750.")
>>> svg.startswith("<svg") and "<desc" in svg and "model AUC 0.850" in svg
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from valkit.report.svg import ACCENT, INK, MUTED, RULE, finite as _finite, open_svg as _open, text as _text

MODEL_INK = "#b35900"
READER_INK = "#8fa9c4"

Curve = tuple[Sequence[float], Sequence[float]]


@dataclass(frozen=True)
class RocPanel:
    """One modality: each reader's empirical curve, the vertically averaged curve, the printed FOM."""

    modality: str
    readers: Sequence[Curve]
    mean: Curve | None
    fom_label: str  # e.g. "reader-averaged AUC 0.812 (0.741–0.883)"


def _points(curve: Curve, px, py) -> str:
    xs, ys = curve
    return " ".join(f"{px(x):.2f},{py(y):.2f}" for x, y in zip(xs, ys) if _finite(x) and _finite(y))


def reader_roc_svg(panels: Sequence[RocPanel], *, model: Curve | None, model_label: str, desc_extra: str,
                   width: int = 620) -> str:
    """One ROC panel per modality: readers thin, their vertical average thick, the model dashed."""
    n = max(1, len(panels))
    gap, left, top, bottom_pad = 22, 44, 24, 58
    panel_w = (width - left - gap * (n - 1) - 8) / n
    side = min(panel_w, 230)
    height = int(top + side + bottom_pad)
    desc = (f"Empirical ROC curves (sensitivity against 1 minus specificity), one panel per reading condition "
            f"({', '.join(p.modality for p in panels)}): each reader's curve as a thin line, the vertically "
            "averaged curve of the readers as a thick line"
            + (f", and the model's standalone curve as a dashed line ({model_label})" if model else "")
            + f". The dotted diagonal is chance performance. {desc_extra}")
    out = _open(width, height, "ROC curves of the readers by reading condition", desc, "reader-roc")
    for k, panel in enumerate(panels):
        x0 = left + k * (panel_w + gap)

        def px(v: float, x0: float = x0) -> float:
            return x0 + v * side

        def py(v: float) -> float:
            return top + (1 - v) * side

        out.append(_text(x0 + side / 2, top - 9, panel.modality, anchor="middle", weight="bold", size=10.5))
        out.append(f'<rect x="{x0:.1f}" y="{top}" width="{side:.1f}" height="{side:.1f}" fill="none" '
                   f'stroke="{RULE}"/>')
        for i in range(0, 11, 2):
            v = i / 10
            out.append(f'<line x1="{px(v):.1f}" y1="{top}" x2="{px(v):.1f}" y2="{top + side:.1f}" stroke="#eeeeee"/>')
            out.append(f'<line x1="{x0:.1f}" y1="{py(v):.1f}" x2="{x0 + side:.1f}" y2="{py(v):.1f}" '
                       'stroke="#eeeeee"/>')
            out.append(_text(px(v), top + side + 12, f"{v:.1f}", anchor="middle", size=8.5, fill=MUTED))
            if k == 0:
                out.append(_text(x0 - 5, py(v) + 3, f"{v:.1f}", anchor="end", size=8.5, fill=MUTED))
        out.append(f'<line x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(1):.1f}" y2="{py(1):.1f}" stroke="{MUTED}" '
                   'stroke-dasharray="1.5 2.5" stroke-width="0.8"/>')
        for curve in panel.readers:
            pts = _points(curve, px, py)
            if pts:
                out.append(f'<polyline points="{pts}" fill="none" stroke="{READER_INK}" stroke-width="0.9"/>')
        if model is not None:
            pts = _points(model, px, py)
            if pts:
                out.append(f'<polyline points="{pts}" fill="none" stroke="{MODEL_INK}" stroke-width="1.5" '
                           'stroke-dasharray="5 3"/>')
        if panel.mean is not None:
            pts = _points(panel.mean, px, py)
            if pts:
                out.append(f'<polyline points="{pts}" fill="none" stroke="{ACCENT}" stroke-width="2.2" '
                           'stroke-linejoin="round"/>')
        out.append(_text(x0 + side / 2, top + side + 26, panel.fom_label, anchor="middle", size=9))
        out.append(_text(x0 + side / 2, top + side + 38, "1 − specificity", anchor="middle", size=9, fill=MUTED))
    out.append(_text(11, top + side / 2, "Sensitivity", anchor="middle", size=9, fill=MUTED,
                     extra=f' transform="rotate(-90 11 {top + side / 2:.1f})"'))
    # legend
    ly = height - 8
    items = [(READER_INK, "0.9", "", "each reader"), (ACCENT, "2.2", "", "readers, vertical average")]
    if model is not None:
        items.append((MODEL_INK, "1.5", ' stroke-dasharray="5 3"', "model standalone"))
    x = left
    for colour, w, dash, label in items:
        out.append(f'<line x1="{x:.1f}" y1="{ly - 3:.1f}" x2="{x + 22:.1f}" y2="{ly - 3:.1f}" stroke="{colour}" '
                   f'stroke-width="{w}"{dash}/>')
        out.append(_text(x + 27, ly, label, size=9))
        x += 40 + 5.6 * len(label)
    out.append("</svg>")
    return "".join(out)


def reader_dot_svg(readers: Sequence[str], modalities: Sequence[str], values: Sequence[Sequence[float | None]],
                   *, axis_label: str, value_text: Sequence[Sequence[str]], model: float | None = None,
                   model_text: str = "", width: int = 620) -> str:
    """Each reader's FOM in each condition, joined by a line (a dumbbell plot), the model as a line.

    ``values[r][t]`` is reader r's FOM in modality t; ``value_text`` the same numbers as printed.
    """
    finite = [v for row in values for v in row if _finite(v)] + ([model] if _finite(model) else [])
    lo = min(finite, default=0.0)
    hi = max(finite, default=1.0)
    lo, hi = max(0.0, int(lo * 20) / 20 - 0.05), min(1.0, int(hi * 20) / 20 + 0.1)
    if hi <= lo:
        lo, hi = 0.0, 1.0
    label_w, row_h, top = 120, 18, 26
    x0, x1 = label_w, width - 20
    height = top + row_h * len(readers) + 40

    def px(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    marks = ("circle", "square", "diamond")
    desc = (f"{axis_label} of each reader in each reading condition ("
            + "; ".join(f"{r}: " + ", ".join(f"{m} {t}" for m, t in zip(modalities, texts))
                        for r, texts in zip(readers, value_text))
            + ")" + (f"; the dashed vertical line is the model standalone ({model_text})" if _finite(model) else "")
            + ".")
    out = _open(width, height, f"{axis_label} per reader and reading condition", desc, "reader-dots")
    step = 0.05 if hi - lo <= 0.5 else 0.1
    v = round(lo / step) * step
    while v <= hi + 1e-9:
        out.append(f'<line x1="{px(v):.1f}" y1="{top - 4}" x2="{px(v):.1f}" y2="{top + row_h * len(readers):.1f}" '
                   'stroke="#eeeeee"/>')
        out.append(_text(px(v), top + row_h * len(readers) + 12, f"{v:.2f}", anchor="middle", size=8.5, fill=MUTED))
        v += step
    out.append(_text((x0 + x1) / 2, top + row_h * len(readers) + 26, axis_label, anchor="middle", size=9,
                     fill=MUTED))
    if _finite(model):
        out.append(f'<line x1="{px(model):.1f}" y1="{top - 6}" x2="{px(model):.1f}" '
                   f'y2="{top + row_h * len(readers):.1f}" stroke="{MODEL_INK}" stroke-dasharray="5 3"/>')
    for i, (reader, row) in enumerate(zip(readers, values)):
        y = top + row_h * i + row_h / 2
        out.append(_text(0, y + 3.5, reader, size=9))
        pts = [(px(v), t) for t, v in enumerate(row) if _finite(v)]
        if len(pts) > 1:
            xs = [p[0] for p in pts]
            out.append(f'<line x1="{min(xs):.1f}" y1="{y:.1f}" x2="{max(xs):.1f}" y2="{y:.1f}" stroke="{RULE}" '
                       'stroke-width="1.5"/>')
        for x, t in pts:
            out.append(_mark(marks[t % len(marks)], x, y, ACCENT if t else INK))
    lx = x0
    for t, m in enumerate(modalities):
        out.append(_mark(marks[t % len(marks)], lx + 4, 12, ACCENT if t else INK))
        out.append(_text(lx + 12, 15.5, m, size=9))
        lx += 30 + 5.6 * len(m)
    if _finite(model):
        out.append(f'<line x1="{lx:.1f}" y1="12" x2="{lx + 20:.1f}" y2="12" stroke="{MODEL_INK}" '
                   'stroke-dasharray="5 3"/>')
        out.append(_text(lx + 25, 15.5, "model standalone", size=9))
    out.append("</svg>")
    return "".join(out)


def _mark(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    if kind == "diamond":
        return (f'<path d="M{x:.1f},{y - 4.5:.1f} L{x + 4.5:.1f},{y:.1f} L{x:.1f},{y + 4.5:.1f} '
                f'L{x - 4.5:.1f},{y:.1f} z" fill="{colour}"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.8" fill="#ffffff" stroke="{colour}" stroke-width="1.6"/>'


__all__ = ["RocPanel", "reader_roc_svg", "reader_dot_svg"]
