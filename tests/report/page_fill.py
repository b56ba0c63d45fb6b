"""How full each page of a PDF is: the share of the body height (inside the A4 margins) down to the
lowest word, from poppler's ``pdftotext -bbox``. Figures are drawn SVG with text labels, and gallery
images have captions under them, so their extent is counted through their text."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MARGIN_PT = 20 / 25.4 * 72  # report.css: @page margin 20 mm top and bottom


@dataclass(frozen=True)
class PageFill:
    number: int
    fill: float  # 0 (empty) .. 1 (text down to the bottom margin)
    first_line: str  # the first line of the body (below the running header)


@dataclass(frozen=True)
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def page_words(pdf: Path) -> list[tuple[float, float, list[Word]]]:
    """(width, height, words) of each page, in points from the top left."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found: install poppler-utils (`make sysdeps`) to measure the page layout")
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True,
                         text=True).stdout
    pages = []
    for w, h, body in re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', xml, re.S):
        words = [Word(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in re.findall(
            r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', body)]
        pages.append((float(w), float(h), words))
    return pages


def page_fills(pdf: Path) -> list[PageFill]:
    out = []
    for i, (_, height, page_words_) in enumerate(page_words(pdf), 1):
        words = [(w.y0, w.y1, w.text) for w in page_words_]
        body = [(y0, y1, w) for y0, y1, w in words if MARGIN_PT <= y0 and y1 <= height - MARGIN_PT]
        if not body:
            out.append(PageFill(i, 0.0, ""))
            continue
        top = min(y0 for y0, _, _ in body)
        first = " ".join(w for y0, _, w in body if abs(y0 - top) < 3)
        fill = (max(y1 for _, y1, _ in body) - MARGIN_PT) / (height - 2 * MARGIN_PT)
        out.append(PageFill(i, round(fill, 3), first))
    return out
