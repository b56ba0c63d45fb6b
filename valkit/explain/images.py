"""Overlay PNGs: a heatmap over the windowed image, the lesion box outlined.

Images are written with Pillow and carry no metadata (no text chunks, no identifiers);
file names are pseudonymous case ids. The colour map is matplotlib's perceptually ordered
``turbo`` (matplotlib comes with the grad-cam package); each pixel blends the gray image
with the colour in proportion to the heatmap's value, so that regions the method ignores
show the anatomy unchanged.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from valkit.explain.localisation import Box

__all__ = ["overlay_rgb", "save_png", "tile_rows"]

BOX_COLOUR = (255, 0, 255)  # magenta: not a colour of the turbo map
MIN_SIDE = 256  # small model inputs are enlarged (nearest neighbour) for legibility


def _unit(h: np.ndarray) -> np.ndarray:
    lo, hi = float(h.min()), float(h.max())
    return (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h, dtype=np.float64)


def overlay_rgb(display: Any, heatmap: Any, *, box: Box | None = None, alpha: float = 0.6,
                peak: tuple[int, int] | None = None) -> np.ndarray:
    """uint8 RGB ``(H', W', 3)``: ``display`` (gray in [0, 1]) with ``heatmap`` blended in.

    ``box`` (on the heatmap's grid) is drawn as a one-pixel outline after enlarging;
    ``peak`` (row, column) as a small cross.

    >>> overlay_rgb(np.zeros((8, 8)), np.eye(8)).shape
    (256, 256, 3)
    """
    from matplotlib import colormaps

    gray = np.clip(np.asarray(display, dtype=np.float64), 0.0, 1.0)
    h = _unit(np.asarray(heatmap, dtype=np.float64))
    if gray.shape != h.shape:
        raise ValueError(f"display {gray.shape} and heatmap {h.shape} differ in shape")
    colour = colormaps["turbo"](h)[..., :3]
    weight = alpha * h[..., None]
    rgb = (1.0 - weight) * gray[..., None] + weight * colour
    scale = max(1, -(-MIN_SIDE // min(gray.shape)))
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    out = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    rows, cols = out.shape[:2]
    if box is not None:
        x0 = int(np.clip(np.floor(box.x0 * scale), 0, cols - 1))
        x1 = int(np.clip(np.ceil(box.x1 * scale) - 1, 0, cols - 1))
        y0 = int(np.clip(np.floor(box.y0 * scale), 0, rows - 1))
        y1 = int(np.clip(np.ceil(box.y1 * scale) - 1, 0, rows - 1))
        out[y0, x0:x1 + 1] = BOX_COLOUR
        out[y1, x0:x1 + 1] = BOX_COLOUR
        out[y0:y1 + 1, x0] = BOX_COLOUR
        out[y0:y1 + 1, x1] = BOX_COLOUR
    if peak is not None:
        r, c = (int(peak[0] * scale + scale // 2), int(peak[1] * scale + scale // 2))
        arm = max(3, scale)
        out[max(r - arm, 0):r + arm + 1, min(max(c, 0), cols - 1)] = (255, 255, 255)
        out[min(max(r, 0), rows - 1), max(c - arm, 0):c + arm + 1] = (255, 255, 255)
    return out


def tile_rows(rows: Sequence[Sequence[np.ndarray]], *, gap: int = 4) -> np.ndarray:
    """Arrange equally sized uint8 RGB tiles in a grid with white gaps."""
    tile_h, tile_w = rows[0][0].shape[:2]
    n_cols = max(len(r) for r in rows)
    grid = np.full((len(rows) * (tile_h + gap) - gap, n_cols * (tile_w + gap) - gap, 3), 255, dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            grid[i * (tile_h + gap):i * (tile_h + gap) + tile_h, j * (tile_w + gap):j * (tile_w + gap) + tile_w] = tile
    return grid


def save_png(rgb: np.ndarray, path: Path) -> Path:
    """Write uint8 RGB as PNG (no metadata), creating the folder."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(path, format="PNG", optimize=False)
    return path
