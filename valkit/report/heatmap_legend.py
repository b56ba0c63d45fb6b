"""The legend and colour scale printed above the heatmap galleries (an SVG string).

The overlays (:func:`valkit.explain.images.overlay_rgb`) colour each pixel with matplotlib's
``turbo`` map at the heatmap's value, scaled per image from its minimum (0) to its maximum (1),
blended over the gray image in proportion to that value. The scale here draws the same map from
fixed stops (no plotting library in the renderer); a test checks them against matplotlib.

>>> svg = heatmap_legend_svg()
>>> svg.startswith("<svg") and "<title" in svg and "lesion box" in svg
True
"""
from __future__ import annotations

from valkit.report.svg import INK, MUTED, open_svg as _open, text as _text

#: matplotlib's ``turbo`` at 0, 1/8, ..., 1 (matplotlib 3.x, ``colors.to_hex(colormaps["turbo"](i / 8))``)
TURBO_STOPS = ("#30123b", "#466be3", "#28bceb", "#32f298", "#a4fc3c", "#eecf3a", "#fb7e21", "#d02f05", "#7a0403")
BOX = "#ff00ff"  # valkit.explain.images.BOX_COLOUR


def heatmap_legend_svg(width: int = 620) -> str:
    """Colour scale (low → high heatmap value) and the marks drawn on every gallery image."""
    desc = ("Colour scale of the heatmaps: from dark blue (lowest value in the image, drawn almost transparent) "
            "through green and yellow to dark red (the image's highest value). Magenta rectangle: the lesion box "
            "of the reference standard where one exists. White cross: the heatmap's maximum.")
    out = _open(width, 52, "Legend of the heatmap galleries", desc, "heatmap-legend")
    n = len(TURBO_STOPS) - 1
    out.append('<defs><linearGradient id="turbo-scale" x1="0" x2="1" y1="0" y2="0">'
               + "".join(f'<stop offset="{i / n:.3f}" stop-color="{c}"/>' for i, c in enumerate(TURBO_STOPS))
               + "</linearGradient></defs>")
    x0, bar_w = 0, 240
    out.append(_text(x0, 12, "Heatmap value (scaled per image)", size=10, weight="bold"))
    out.append(f'<rect x="{x0}" y="18" width="{bar_w}" height="12" fill="url(#turbo-scale)" stroke="{INK}" '
               'stroke-width="0.5"/>')
    for frac, label in ((0, "0 (image minimum)"), (0.5, "0.5"), (1, "1 (maximum)")):
        anchor = "start" if frac == 0 else "end" if frac == 1 else "middle"
        out.append(_text(x0 + frac * bar_w, 43, label, anchor=anchor, size=9, fill=MUTED))
    lx = 290
    out.append(f'<rect x="{lx}" y="8" width="16" height="12" fill="none" stroke="{BOX}" stroke-width="2"/>')
    out.append(_text(lx + 24, 18, "lesion box (reference standard), where one exists", size=10))
    cy = 36
    out.append(f'<rect x="{lx}" y="{cy - 8}" width="16" height="16" fill="#444444"/>')
    out.append(f'<path d="M{lx + 8} {cy - 6}V{cy + 6}M{lx + 2} {cy}H{lx + 14}" stroke="#ffffff" stroke-width="1.6"/>')
    out.append(_text(lx + 24, cy + 4, "heatmap maximum", size=10))
    out.append("</svg>")
    return "".join(out)
