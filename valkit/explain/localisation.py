"""Does the heatmap point at the lesion? Pointing game and energy fraction, with CIs.

Geometry. A pixel (row i, column j) covers the square [j, j+1) x [i, i+1) in *edge
coordinates*; its centre is (j + 0.5, i + 0.5). A lesion box is a continuous rectangle
``[x0, x1) x [y0, y1)`` in those coordinates. valkit's preprocessing resizes the whole
stored image to the model input size with ``align_corners=False`` interpolation (no crop,
no padding, aspect ratio not preserved), which maps edge coordinates linearly:
``x_in = x_stored * W_in / columns`` and ``y_in = y_stored * H_in / rows``, independently
per axis. :func:`box_to_input_grid` applies exactly that.

Metrics (per true-positive image):

* **Pointing game** (Zhang et al., "Top-down neural attention by excitation backprop",
  IJCV 2018): a hit when the heatmap's maximum lies in the box (optionally within a
  tolerance). With several maximal pixels, a hit needs all of them in the box; a map
  that is zero everywhere has no peak and counts as a miss.
* **Pointing game at the heatmap's resolution**: the same with the peak taken as its whole
  feature cell of the target layer's grid (see :func:`pointing_game_cell_hit`).
* **Energy fraction** (the "energy-based pointing game" of Wang et al., Score-CAM, CVPR-W
  2020): the share of the map's total mass inside the box, with pixels cut by the box
  edge weighted by the fraction of their area inside. A zero map counts as 0.

This module is numpy only (plus :mod:`valkit.stats` for the intervals).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from valkit import stats
from valkit.stats.types import Estimate, NotEstimableWarning

__all__ = [
    "Box",
    "box_from_pixels",
    "box_to_input_grid",
    "box_mask",
    "energy_fraction",
    "pointing_game_hit",
    "pointing_game_cell_hit",
    "cell_chance",
    "localisation_estimates",
    "peak_on_border",
    "border_band",
    "border_chance",
    "mass_share",
]


@dataclass(frozen=True)
class Box:
    """A rectangle ``[x0, x1) x [y0, y1)`` in edge coordinates (x = column, y = row)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def area(self) -> float:
        return max(self.x1 - self.x0, 0.0) * max(self.y1 - self.y0, 0.0)

    def to_list(self) -> list[float]:
        return [self.x0, self.y0, self.x1, self.y1]


def box_from_pixels(x0: float, y0: float, x1: float, y1: float, *, convention: str = "half_open",
                    shape: tuple[int, int] | None = None) -> Box:
    """A box given as pixel indices → edge coordinates.

    ``half_open``: columns x0..x1-1 and rows y0..y1-1 are inside (the phantom generator's
    boxes); ``inclusive``: columns x0..x1 and rows y0..y1 are inside. With ``shape``
    (rows, columns) the box must lie within the image. Raises ValueError naming the problem.

    >>> box_from_pixels(2, 3, 5, 7)
    Box(x0=2.0, y0=3.0, x1=5.0, y1=7.0)
    >>> box_from_pixels(2, 3, 4, 6, convention="inclusive")
    Box(x0=2.0, y0=3.0, x1=5.0, y1=7.0)
    """
    values = [float(v) for v in (x0, y0, x1, y1)]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"box {values}: every coordinate must be a finite number")
    if convention == "inclusive":
        values[2] += 1.0
        values[3] += 1.0
    elif convention != "half_open":
        raise ValueError(f"box convention '{convention}': expected 'half_open' or 'inclusive'")
    box = Box(*values)
    if box.x1 <= box.x0 or box.y1 <= box.y0:
        raise ValueError(f"box (x0, y0, x1, y1) = ({x0}, {y0}, {x1}, {y1}) is empty ({convention} convention): "
                         "expected x1 > x0 and y1 > y0")
    if shape is not None:
        rows, cols = shape
        if box.x0 < 0 or box.y0 < 0 or box.x1 > cols or box.y1 > rows:
            raise ValueError(f"box (x0, y0, x1, y1) = ({x0}, {y0}, {x1}, {y1}) lies outside the {rows} x {cols} "
                             "(rows x columns) image; boxes are in stored-pixel coordinates of the DICOM image")
    return box


def box_to_input_grid(box: Box, original_shape: tuple[int, int], input_shape: tuple[int, int]) -> Box:
    """Map a box from the stored image (rows, columns) to the model input grid (H, W).

    Valid for valkit's preprocessing, which resizes the full image to the input size
    (see the module docstring); scales differ per axis when the aspect ratio changes.

    >>> box_to_input_grid(Box(100, 50, 200, 150), (400, 800), (64, 64))
    Box(x0=8.0, y0=8.0, x1=16.0, y1=24.0)
    """
    rows, cols = original_shape
    height, width = input_shape
    sx, sy = width / cols, height / rows
    return Box(box.x0 * sx, box.y0 * sy, box.x1 * sx, box.y1 * sy)


def _coverage(lo: float, hi: float, n: int) -> np.ndarray:
    edges = np.arange(n, dtype=np.float64)
    return np.clip(np.minimum(edges + 1.0, hi) - np.maximum(edges, lo), 0.0, 1.0)


def box_mask(box: Box, shape: tuple[int, int]) -> np.ndarray:
    """Fraction of each pixel's area inside ``box``: float64 array of ``shape`` (rows, columns).

    >>> box_mask(Box(0.5, 0, 2, 1), (2, 3)).tolist()
    [[0.5, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    rows, cols = shape
    return np.outer(_coverage(box.y0, box.y1, rows), _coverage(box.x0, box.x1, cols))


def pointing_game_hit(heatmap: Any, box: Box, *, tolerance: float = 0.0) -> bool:
    """True when the heatmap's peak (every maximal pixel centre) lies within ``tolerance`` of the box.

    Distances are in pixels of the heatmap's grid, from the pixel centre to the closed box.
    A map with no positive value (no peak) is a miss.

    >>> h = np.zeros((8, 8)); h[2, 5] = 1.0
    >>> pointing_game_hit(h, Box(4, 1, 7, 4)), pointing_game_hit(h, Box(0, 0, 3, 3))
    (True, False)
    >>> pointing_game_hit(h, Box(0, 0, 3, 3), tolerance=3.0)
    True
    """
    h = np.asarray(heatmap, dtype=np.float64)
    top = h.max(initial=-np.inf)
    if not np.isfinite(top) or top <= 0:
        return False
    rows, cols = np.nonzero(h == top)
    cx, cy = cols + 0.5, rows + 0.5
    dx = np.maximum.reduce([box.x0 - cx, np.zeros_like(cx), cx - box.x1])
    dy = np.maximum.reduce([box.y0 - cy, np.zeros_like(cy), cy - box.y1])
    return bool(np.all(np.hypot(dx, dy) <= tolerance))


def _peak_cells(h: np.ndarray, grid: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(h == h.max())
    return rows * grid[0] // h.shape[0], cols * grid[1] // h.shape[1]


def cell_box(cell: tuple[int, int], grid: tuple[int, int], shape: tuple[int, int]) -> Box:
    """The input-grid rectangle covered by feature cell (row, column) of a ``grid`` upsampled to ``shape``."""
    (r, c), (gh, gw), (h, w) = cell, grid, shape
    return Box(c * w / gw, r * h / gh, (c + 1) * w / gw, (r + 1) * h / gh)


def _overlaps(a: Box, b: Box) -> bool:
    return min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.y1, b.y1) > max(a.y0, b.y0)


def pointing_game_cell_hit(heatmap: Any, box: Box, grid: tuple[int, int]) -> bool:
    """Pointing game at the heatmap's own resolution: the peak's feature cell overlaps the box.

    A class-activation map is computed on the target layer's ``grid`` (e.g. 8 x 8) and
    upsampled; its maximum then always sits at a cell centre, so a lesion smaller than a cell
    can be missed by the pixel-level pointing game although the right cell lit up. Here the
    peak counts as the whole cell (every maximal pixel's cell must overlap the box); a map with
    no positive value is a miss.

    >>> h = np.zeros((16, 16)); h[4, 12] = 1.0          # peak in cell (1, 3) of a 4 x 4 grid
    >>> pointing_game_cell_hit(h, Box(13, 5, 15, 7), (4, 4)), pointing_game_hit(h, Box(13, 5, 15, 7))
    (True, False)
    """
    h = np.asarray(heatmap, dtype=np.float64)
    if not np.isfinite(h.max(initial=-np.inf)) or h.max() <= 0:
        return False
    rows, cols = _peak_cells(h, grid)
    return all(_overlaps(cell_box((r, c), grid, h.shape), box) for r, c in zip(rows, cols))


def cell_chance(box: Box, grid: tuple[int, int], shape: tuple[int, int]) -> float:
    """Share of feature cells that overlap ``box``: the cell-level pointing game's chance level."""
    gh, gw = grid
    hits = sum(_overlaps(cell_box((r, c), grid, shape), box) for r in range(gh) for c in range(gw))
    return hits / (gh * gw)


def energy_fraction(heatmap: Any, box: Box) -> float:
    """Share of the (non-negative) heatmap's mass inside ``box``, in [0, 1]; 0 for a zero map.

    >>> h = np.ones((4, 4))
    >>> energy_fraction(h, Box(0, 0, 2, 2)), energy_fraction(h, Box(0, 0, 1, 0.5))
    (0.25, 0.03125)
    """
    h = np.asarray(heatmap, dtype=np.float64)
    return mass_share(h, box_mask(box, h.shape))


def mass_share(heatmap: Any, weights: np.ndarray) -> float:
    """Share of the (non-negative) heatmap's mass under ``weights`` (a mask, or per-pixel coverage in
    [0, 1]), clipped to [0, 1]; 0 for a zero map.

    >>> mass_share(np.ones((2, 2)), np.array([[1.0, 0.5], [0.0, 0.0]]))
    0.375
    """
    h = np.clip(np.asarray(heatmap, dtype=np.float64), 0.0, None)
    total = float(h.sum())
    return float(min(max((h * weights).sum() / total, 0.0), 1.0)) if total > 0 else 0.0


def peak_on_border(heatmap: Any, grid: tuple[int, int]) -> bool:
    """True when the heatmap's peak lies in the outermost ring of feature cells (every maximal
    pixel's cell must); a map with no positive value is not on the border.

    >>> h = np.zeros((16, 16)); h[1, 9] = 1.0          # cell (0, 2) of a 4 x 4 grid: top row
    >>> peak_on_border(h, (4, 4)), peak_on_border(np.roll(h, 5, axis=0), (4, 4))
    (True, False)
    """
    h = np.asarray(heatmap, dtype=np.float64)
    if not np.isfinite(h.max(initial=-np.inf)) or h.max() <= 0:
        return False
    rows, cols = _peak_cells(h, grid)
    gh, gw = grid
    return bool(np.all((rows == 0) | (rows == gh - 1) | (cols == 0) | (cols == gw - 1)))


def border_band(grid: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Mask of the input-grid pixels covered by the outermost ring of feature cells.

    >>> int(border_band((4, 4), (8, 8)).sum()), bool(border_band((4, 4), (8, 8))[3, 3])
    (48, False)
    """
    (gh, gw), (h, w) = grid, shape
    rows = (np.arange(h) * gh) // h
    cols = (np.arange(w) * gw) // w
    on_r = (rows == 0) | (rows == gh - 1)
    on_c = (cols == 0) | (cols == gw - 1)
    return on_r[:, None] | on_c[None, :]


def border_chance(grid: tuple[int, int]) -> float:
    """Share of feature cells in the outermost ring: where a peak in a random cell would fall.

    >>> border_chance((16, 16)), border_chance((2, 2))
    (0.234375, 1.0)
    """
    gh, gw = grid
    inner = max(gh - 2, 0) * max(gw - 2, 0)
    return 1.0 - inner / (gh * gw)


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if len(x) else math.nan


def localisation_estimates(
    hits: Any,
    energy: Any,
    cluster: Any = None,
    *,
    n_resamples: int = 2000,
    seed: int | None = None,
    confidence_level: float = 0.95,
) -> dict[str, Estimate]:
    """Pointing-game hit rate and mean energy fraction over true positives, with CIs.

    Hit rate: Wilson score interval when every patient contributes one image; with
    several images per patient (``cluster`` repeats), a patient-clustered percentile
    bootstrap of the mean (Davison & Hinkley 1997, 3.8). Mean energy fraction: always the
    (patient-clustered, when ``cluster`` is given) percentile bootstrap, since the
    fraction is a continuous, bounded and usually skewed quantity.

    Not-estimable quantities (no images) are NaN with the warning recorded in the
    Estimate (no NotEstimableWarning escapes).

    >>> est = localisation_estimates([1, 1, 0, 1], [0.6, 0.4, 0.1, 0.9], seed=1, n_resamples=200)
    >>> est["pointing_game"].value, est["pointing_game"].method, round(est["energy_fraction"].value, 3)
    (0.75, 'wilson', 0.5)
    """
    h = np.asarray(hits, dtype=np.float64).reshape(-1)
    e = np.asarray(energy, dtype=np.float64).reshape(-1)
    if len(h) != len(e):
        raise ValueError(f"hits and energy differ in length ({len(h)} vs {len(e)})")
    clustered = stats.has_clusters(cluster)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        if not clustered or len(h) == 0:
            pg = stats.proportion(int(h.sum()), len(h), ci="wilson", confidence_level=confidence_level,
                                  name="pointing-game hit rate")
        elif h.sum() in (0, len(h)):  # every image a hit (or none): the bootstrap has no spread
            iv = stats.clustered_boundary_interval(int(h.sum()), len(h), len(set(np.asarray(cluster).tolist())),
                                                   confidence_level=confidence_level)
            pg = Estimate(float(h.mean()), iv, len(h), int(h.sum()), len(h), iv.method,
                          ("boundary: every image has the same outcome; Wilson interval on patients",))
        else:
            pg = stats.bootstrap_ci(_mean, h, cluster=cluster, n_resamples=n_resamples, seed=seed,
                                    confidence_level=confidence_level)
            pg = Estimate(pg.value, pg.interval, pg.n, int(h.sum()), len(h), pg.method, pg.warnings)
        if len(e) == 0:
            ef = stats.proportion(0, 0, name="energy fraction")
            ef = Estimate(math.nan, ef.interval, 0, None, None, "bootstrap_percentile", ef.warnings)
        else:
            ef = stats.bootstrap_ci(_mean, e, cluster=cluster if clustered else None, n_resamples=n_resamples,
                                    seed=seed, confidence_level=confidence_level)
    return {"pointing_game": pg, "energy_fraction": ef}
