"""Heatmap galleries: a colour scale and legend, and a case label (case id, reference standard, score)
on every image (issue 15)."""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from valkit.explain.config import ExplainabilityOptions
from valkit.explain.images import BOX_COLOUR
from valkit.explain.section import explainability_section
from valkit.report.heatmap_legend import BOX, TURBO_STOPS, heatmap_legend_svg

OPTIONS = ExplainabilityOptions.model_validate({
    "gallery": {"true_positive": 2, "false_positive": 1, "false_negative": 1, "true_negative": 1},
    "localisation": {"bootstrap_resamples": 200, "min_group_size": 2},
    "sanity": {"n_images": 2, "stages": 2},
})


def test_colour_scale_is_the_overlay_colour_map():
    from matplotlib import colormaps

    got = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in TURBO_STOPS]) / 255
    want = colormaps["turbo"](np.linspace(0, 1, len(TURBO_STOPS)))[:, :3]
    assert np.abs(got - want).max() < 1 / 255 + 1e-9
    assert BOX == "#{:02x}{:02x}{:02x}".format(*BOX_COLOUR)


def test_legend_names_the_scale_and_the_marks():
    svg = heatmap_legend_svg()
    for words in ("Heatmap value", "0 (image minimum)", "1 (maximum)", "lesion box", "heatmap maximum"):
        assert words in svg
    assert svg.count("<stop ") == len(TURBO_STOPS) and "<title" in svg


@pytest.fixture
def gallery_html(tmp_path, blob_study, blob_predictor, fake_results):
    from valkit.report.render import render_html

    ex = explainability_section(tmp_path / "run", blob_study, blob_predictor, OPTIONS, threshold=0.5, seed=4).written()
    return ex, render_html({**copy.deepcopy(fake_results), "explainability": ex}, results_sha256="0" * 64)


def test_every_gallery_image_has_a_case_label_and_the_legend_precedes_them(gallery_html):
    ex, html = gallery_html
    galleries = html[html.index("<h2>Case galleries</h2>"):]
    assert galleries.index("Legend of the heatmap galleries") < galleries.index('class="gallery-case"')
    cases = [c for block in ex["gallery"].values() for c in block["cases"]]
    figures = re.findall(r'<figure class="gallery-case">(.*?)</figure>', galleries, re.S)
    assert len(figures) == len(cases) > 0
    for case in cases:
        fig = next(f for f in figures if f"<strong>{case['case_id']}</strong>" in f)
        truth = "reference positive" if case["label"] == 1 else "reference negative"
        caption = fig[fig.index("<figcaption>"):]
        assert truth in caption and f"score {case['score']:.3f}" in caption, caption
        alt = re.search(r'alt="([^"]+)"', fig).group(1)
        assert case["case_id"] in alt and truth in alt, alt
