"""Pointing game, energy fraction and box geometry on constructed heatmaps with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valkit.explain.localisation import (
    Box,
    box_from_pixels,
    box_mask,
    box_to_input_grid,
    energy_fraction,
    localisation_estimates,
    pointing_game_hit,
)


def test_box_conventions_and_validation():
    assert box_from_pixels(1, 2, 4, 6) == Box(1, 2, 4, 6)
    assert box_from_pixels(1, 2, 3, 5, convention="inclusive") == Box(1, 2, 4, 6)
    with pytest.raises(ValueError, match="empty"):
        box_from_pixels(4, 2, 4, 6)
    with pytest.raises(ValueError, match="outside the 10 x 20"):
        box_from_pixels(15, 2, 21, 6, shape=(10, 20))
    with pytest.raises(ValueError, match="finite"):
        box_from_pixels(float("nan"), 2, 4, 6)


def test_box_mask_counts_partial_pixels_by_area():
    m = box_mask(Box(1.5, 0.25, 3.0, 2.0), (3, 4))
    expected = np.array([[0, 0.375, 0.75, 0], [0, 0.5, 1.0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(m, expected)


@settings(max_examples=60, deadline=None)
@given(x0=st.floats(-5, 20), w=st.floats(0.01, 15), y0=st.floats(-5, 12), h=st.floats(0.01, 10))
def test_box_mask_matches_supersampling(x0, w, y0, h):
    box = Box(x0, y0, x0 + w, y0 + h)
    m = box_mask(box, (12, 20))
    # brute force: 40 x 40 subsamples per pixel
    s = 40
    sub = (np.arange(12 * s) + 0.5) / s, (np.arange(20 * s) + 0.5) / s
    inside = np.outer((sub[0] >= box.y0) & (sub[0] < box.y1), (sub[1] >= box.x0) & (sub[1] < box.x1))
    brute = inside.reshape(12, s, 20, s).mean(axis=(1, 3))
    np.testing.assert_allclose(m, brute, atol=2.0 / s)
    clipped = max(0, min(box.x1, 20) - max(box.x0, 0)) * max(0, min(box.y1, 12) - max(box.y0, 0))
    assert m.sum() == pytest.approx(clipped)


def test_box_to_input_grid_scales_each_axis():
    # 400 rows x 800 columns resized to 64 x 32 (H x W): x scale 32/800, y scale 64/400
    assert box_to_input_grid(Box(100, 50, 300, 150), (400, 800), (64, 32)) == Box(4.0, 8.0, 12.0, 24.0)


def test_pointing_game_on_constructed_maps():
    yy, xx = np.mgrid[0:32, 0:32] + 0.5
    gauss = np.exp(-((xx - 20.5) ** 2 + (yy - 8.5) ** 2) / 8.0)  # peak at pixel (row 8, col 20)
    assert pointing_game_hit(gauss, Box(18, 6, 23, 11))
    assert not pointing_game_hit(gauss, Box(0, 0, 20, 8))  # the peak pixel's centre (20.5, 8.5) is outside
    assert pointing_game_hit(gauss, Box(0, 0, 20, 8), tolerance=0.75)  # distance is sqrt(0.5) ~ 0.707
    assert not pointing_game_hit(np.zeros((8, 8)), Box(0, 0, 8, 8))  # no peak: a miss
    ties = np.zeros((8, 8))
    ties[1, 1] = ties[6, 6] = 1.0
    assert not pointing_game_hit(ties, Box(0, 0, 3, 3))  # one of two equal peaks outside
    assert pointing_game_hit(ties, Box(0, 0, 8, 8))


def test_energy_fraction_on_constructed_maps():
    h = np.zeros((10, 10))
    h[2:4, 2:4] = 3.0  # 12 units inside
    h[8, 8] = 4.0  # 4 units outside
    assert energy_fraction(h, Box(2, 2, 4, 4)) == pytest.approx(0.75)
    assert energy_fraction(h, Box(2, 2, 3, 4)) == pytest.approx(0.375)  # half the blob
    assert energy_fraction(h, Box(2.5, 2, 4, 4)) == pytest.approx(0.5625)  # a half-pixel column
    assert energy_fraction(np.zeros((4, 4)), Box(0, 0, 2, 2)) == 0.0
    assert energy_fraction(h, Box(0, 0, 10, 10)) == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3))
def test_energy_fraction_properties(seed, scale):
    rng = np.random.default_rng(seed)
    h = rng.random((16, 16))
    x0, y0 = rng.uniform(0, 10, 2)
    box = Box(x0, y0, x0 + rng.uniform(0.5, 6), y0 + rng.uniform(0.5, 6))
    e = energy_fraction(h, box)
    assert 0.0 <= e <= 1.0
    assert energy_fraction(h * scale, box) == pytest.approx(e)  # scale-free
    # a uniform map scores the box's area share: the chance level
    assert energy_fraction(np.ones((16, 16)), box) == pytest.approx(box_mask(box, (16, 16)).sum() / 256)


def test_estimates_use_wilson_without_clusters():
    # statsmodels 0.15.0: proportion_confint(7, 10, method="wilson") = (0.396778, 0.892209)
    est = localisation_estimates([1] * 7 + [0] * 3, np.linspace(0, 1, 10), seed=1, n_resamples=500)
    pg = est["pointing_game"]
    assert pg.method == "wilson" and (pg.numerator, pg.denominator) == (7, 10)
    assert pg.interval.low == pytest.approx(0.3968, abs=1e-4) and pg.interval.high == pytest.approx(0.8922, abs=1e-4)
    ef = est["energy_fraction"]
    assert ef.value == pytest.approx(0.5) and ef.interval.low < 0.5 < ef.interval.high
    assert ef.method == "bootstrap_percentile"


def test_estimates_cluster_by_patient_when_patients_repeat():
    hits = [1, 1, 0, 0, 1, 1]
    est = localisation_estimates(hits, [0.9, 0.8, 0.1, 0.2, 0.7, 0.6], ["a", "a", "b", "b", "c", "c"],
                                 seed=3, n_resamples=300)
    assert est["pointing_game"].method == "cluster_bootstrap_percentile"
    assert est["pointing_game"].value == pytest.approx(4 / 6)
    assert est["energy_fraction"].method == "cluster_bootstrap_percentile"
    # same seed, same answer
    again = localisation_estimates(hits, [0.9, 0.8, 0.1, 0.2, 0.7, 0.6], ["a", "a", "b", "b", "c", "c"],
                                   seed=3, n_resamples=300)
    assert again["energy_fraction"].interval == est["energy_fraction"].interval


def test_estimates_empty_is_not_estimable_without_escaping_warnings():
    est = localisation_estimates([], [], seed=0)
    assert math.isnan(est["pointing_game"].value) and est["pointing_game"].warnings
    assert math.isnan(est["energy_fraction"].value)


def test_cell_pointing_game_counts_the_peak_cell():
    from valkit.explain.localisation import cell_box, cell_chance, pointing_game_cell_hit

    # an 8 x 8 feature grid upsampled to 128 x 128: cells of 16 px; the maximum sits at a cell centre
    h = np.zeros((128, 128))
    h[40, 88] = 1.0  # cell (2, 5): rows 32-48, columns 80-96
    assert cell_box((2, 5), (8, 8), (128, 128)) == Box(80, 32, 96, 48)
    small = Box(92, 44, 97, 49)  # a 5-px lesion in the corner of that cell, away from the peak pixel
    assert pointing_game_cell_hit(h, small, (8, 8)) and not pointing_game_hit(h, small)
    assert not pointing_game_cell_hit(h, Box(97, 44, 100, 47), (8, 8))  # the neighbouring cell
    assert not pointing_game_cell_hit(np.zeros((128, 128)), small, (8, 8))
    assert cell_chance(small, (8, 8), (128, 128)) == pytest.approx(4 / 64)  # the box touches 4 cells
    assert cell_chance(Box(0, 0, 128, 128), (8, 8), (128, 128)) == 1.0


def test_peak_on_border_border_band_and_chance():
    from valkit.explain.localisation import border_band, border_chance, mass_share, peak_on_border

    h = np.zeros((32, 32))
    h[16, 16] = 1.0
    assert not peak_on_border(h, (8, 8))
    h[0, 31] = 1.0  # a tie between an inner and a border peak: not every peak on the border
    assert not peak_on_border(h, (8, 8))
    h[16, 16] = 0.0
    assert peak_on_border(h, (8, 8))
    assert not peak_on_border(np.zeros((32, 32)), (8, 8))  # no positive evidence: no peak
    band = border_band((8, 8), (32, 32))
    assert band.sum() == 32 * 32 - 24 * 24 and band.mean() == border_chance((8, 8))
    assert mass_share(np.ones((32, 32)), band) == pytest.approx(band.mean())
    assert mass_share(np.zeros((32, 32)), band) == 0.0


def test_clustered_all_hits_get_the_wilson_interval_on_patients():
    from valkit.explain.localisation import localisation_estimates
    from valkit.stats import wilson_interval

    est = localisation_estimates([1] * 6, [0.5] * 6, ["a", "a", "b", "b", "c", "d"], seed=1, n_resamples=200)
    pg = est["pointing_game"]
    assert pg.value == 1.0 and pg.method == "wilson_patients"
    assert pg.interval.low == pytest.approx(wilson_interval(4, 4).low) and pg.interval.high == 1.0
