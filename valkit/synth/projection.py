"""Projection of the phantom onto a detector: path-length maps for :mod:`valkit.synth.render`.

:func:`project` samples the anatomy (:mod:`valkit.synth.anatomy`), the skeleton
(:mod:`valkit.synth.skeleton`), vessel trees and parenchymal texture, and the nodule
on the pixel grid of a vendor's detector, giving water-equivalent soft-tissue and
bone path lengths (mm) and the lung mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from valkit.synth.anatomy import (
    LUNG_TISSUE_FRACTION,
    Anatomy,
    Nodule,
    Pose,
    body_thickness,
    breast_thickness,
    lung_air_depth,
    lung_depth_max,
)
from valkit.synth.skeleton import bone_thickness


def _vessel_tree(a: Anatomy, rng: np.random.Generator):
    """Branching vessel segments from the hila: array of rows (x0, y0, x1, y1, radius), mm.

    Grown level by level (vectorised): each segment forks into two with random
    angles, lengths shrinking by ~0.78 and radii by ~0.72 per level.
    """
    w, h = a.half_width, a.lung_height
    starts = []
    for side in (-1, 1):
        hx, hy = side * 0.20 * w, 0.45 * h
        n_trunks = 6
        base = np.linspace(-1.3, 1.25, n_trunks) + rng.normal(0.0, 0.12, n_trunks)
        ang = np.where(side < 0, np.pi - base, base)
        for t in range(n_trunks):
            starts.append((hx + rng.normal(0, 4.0), hy + rng.normal(0, 8.0), ang[t], 0.13 * h, 3.0))
    x, y, ang, length, rad = (np.array(c, dtype=np.float64) for c in zip(*starts))
    segs = []
    for _level in range(6):
        # vessels bend a little along their course: two half-segments per level
        for _half in range(2):
            ang = ang + rng.normal(0.0, 0.12, ang.size)
            x1 = x + 0.5 * length * np.cos(ang)
            y1 = y + 0.5 * length * np.sin(ang)
            segs.append(np.stack([x, y, x1, y1, rad], axis=1))
            x, y = x1, y1
        n = ang.size
        spread = rng.uniform(0.25, 0.55, (2, n)) * np.array([[1.0], [-1.0]])
        ang = np.concatenate([ang + spread[0], ang + spread[1]])
        x, y = np.concatenate([x, x]), np.concatenate([y, y])
        length = np.concatenate([length, length]) * rng.uniform(0.72, 0.85, 2 * n)
        rad = np.concatenate([rad, rad]) * rng.uniform(0.66, 0.78, 2 * n)
    return np.concatenate(segs).astype(np.float32)


def _splat_segments(segs, Xc, Yr, spacing):
    """Rasterise vessel segments into an image of projected vessel volume, ready to blur.

    Each segment is sampled every ~0.7 pixel; every sample deposits the projected
    cross-section of the vessel over that step, so the blurred image integrates to
    the vessel's water-equivalent path length.
    """
    shape = (Yr.size, Xc.size)
    x0, y0, x1, y1, rad = segs.T
    length = np.hypot(x1 - x0, y1 - y0)
    n = np.maximum((length / (0.7 * spacing)).astype(int), 1)
    idx = np.repeat(np.arange(len(segs)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 0.5) / np.repeat(n, n)
    px = x0[idx] + t * (x1 - x0)[idx]
    py = y0[idx] + t * (y1 - y0)[idx]
    col = np.rint((px - Xc[0]) / (Xc[1] - Xc[0])).astype(int)
    row = np.rint((py - Yr[0]) / (Yr[1] - Yr[0])).astype(int)
    ok = (col >= 0) & (col < shape[1]) & (row >= 0) & (row < shape[0])
    r = rad[idx]
    step = (length / n)[idx]
    wgt = np.pi * r * r * step / spacing**2
    flat = row[ok] * shape[1] + col[ok]
    img = np.bincount(flat, weights=wgt[ok], minlength=shape[0] * shape[1])
    return img.reshape(shape).astype(np.float32)


def sample_separable(field: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``field`` at the grid ``rows`` x ``cols`` (fractional indices, 1-D).

    Equivalent to ``map_coordinates(order=1, mode='nearest')`` on a separable grid,
    at the cost of two gathers.
    """
    def weights(idx, n):
        idx = np.clip(idx, 0.0, n - 1.0)
        i0 = np.minimum(np.floor(idx).astype(int), n - 2) if n > 1 else np.zeros(idx.shape, int)
        f = (idx - i0).astype(np.float32)
        return i0, np.minimum(i0 + 1, n - 1), f

    r0, r1, fr = weights(np.asarray(rows, dtype=np.float64), field.shape[0])
    c0, c1, fc = weights(np.asarray(cols, dtype=np.float64), field.shape[1])
    # columns first on the small field, then whole-row gathers (contiguous copies)
    tmp = field[:, c0] * (1.0 - fc)[None, :] + field[:, c1] * fc[None, :]
    return tmp[r0] * (1.0 - fr)[:, None] + tmp[r1] * fr[:, None]


def _parenchyma(rng: np.random.Generator, Xc, Yr):
    """Smooth random texture (unit variance) fixed in patient space, sampled on the grid."""
    step = 3.0  # mm per texture cell: every vendor sees the same texture for a patient
    n = 192
    field = rng.standard_normal((n, n)).astype(np.float32)
    field = ndimage.gaussian_filter(field, 1.2)
    field /= field.std() + 1e-6
    return sample_separable(field, (Yr + 150.0) / step, Xc / step + n / 2)


def _nodule_thickness(nod: Nodule, Xc, Yr):
    """Projected thickness (mm) of a lobulated sphere, only computed near the nodule."""
    shape = (Yr.size, Xc.size)
    out = np.zeros(shape, np.float32)
    rmax = nod.max_radius_mm + 1.0
    c = np.nonzero(np.abs(Xc - nod.x_mm) <= rmax)[0]
    r = np.nonzero(np.abs(Yr - nod.y_mm) <= rmax)[0]
    if c.size == 0 or r.size == 0:
        return out
    dx = Xc[c][None, :] - nod.x_mm
    dy = Yr[r][:, None] - nod.y_mm
    rho = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    a2, p2, a3, p3 = nod.lobulation
    rad = 0.5 * nod.diameter_mm * (1.0 + a2 * np.cos(2 * theta + p2) + a3 * np.cos(3 * theta + p3))
    out[r[0]:r[-1] + 1, c[0]:c[-1] + 1] = 2.0 * np.sqrt(np.clip(rad * rad - rho * rho, 0.0, None))
    return out


@dataclass(frozen=True)
class Projection:
    """Path-length maps on the detector grid (rows x columns, mm) and the lung mask."""

    soft_mm: np.ndarray
    bone_mm: np.ndarray
    lung_mask: np.ndarray


def grid_coordinates(pose: Pose, anatomy: Anatomy, *, matrix: int, spacing_mm: float):
    """Patient coordinates of the pixel centres: (x of each column, y of each row), 1-D float32.

    The image centre looks at the middle of the chest (half the lung height below the
    apex), moved by the pose; inspiration stretches the patient vertically.
    """
    idx = (np.arange(matrix, dtype=np.float32) - (matrix - 1) / 2.0) * spacing_mm
    xc = idx + pose.dx_mm
    yr = (idx + 0.46 * anatomy.lung_height + pose.dy_mm) / pose.inspiration
    return xc.astype(np.float32), yr.astype(np.float32)


def patient_to_pixel(pose: Pose, anatomy: Anatomy, x_mm: float, y_mm: float, *, matrix: int, spacing_mm: float):
    """(column, row) in pixel units (continuous, 0 = first pixel centre) of a patient point."""
    centre = (matrix - 1) / 2.0
    col = (x_mm - pose.dx_mm) / spacing_mm + centre
    row = (y_mm * pose.inspiration - 0.46 * anatomy.lung_height - pose.dy_mm) / spacing_mm + centre
    return col, row


def project(anatomy: Anatomy, pose: Pose, nodule: Nodule | None, *, matrix: int, spacing_mm: float) -> Projection:
    """Project the phantom onto a ``matrix`` x ``matrix`` detector with ``spacing_mm`` pixels.

    Deterministic: the anatomical texture comes from ``anatomy.texture_seed``.
    """
    Xc, Yr = grid_coordinates(pose, anatomy, matrix=matrix, spacing_mm=spacing_mm)
    # the pixel spacing in patient space differs vertically with inspiration
    X = Xc[None, :]
    Y = Yr[:, None]
    tex_rng = np.random.default_rng(anatomy.texture_seed)
    body = body_thickness(anatomy, X, Y) + breast_thickness(anatomy, X, Y)
    air = lung_air_depth(anatomy, X, Y)
    dmax = lung_depth_max(anatomy)
    lung_frac = np.clip(air / dmax, 0.0, 1.0)
    # trachea and main bronchi: air inside the mediastinum, computed near the midline only
    airway = np.zeros_like(air)
    cols = np.nonzero(np.abs(Xc - anatomy.trachea_shift) < 60.0)[0]
    if cols.size:
        sl = slice(cols[0], cols[-1] + 1)
        tx = Xc[sl][None, :] - anatomy.trachea_shift
        carina = 0.33 * anatomy.lung_height
        airway[:, sl] = 16.0 * np.sqrt(np.clip(1.0 - (tx / 8.5) ** 2, 0, None)) * (Y < carina)
        for side, ang in ((-1, 0.55), (1, 0.8)):
            along = (Y - carina) * np.cos(ang) + side * tx * np.sin(ang)
            across = side * tx * np.cos(ang) - (Y - carina) * np.sin(ang)
            airway[:, sl] += 11.0 * np.sqrt(np.clip(1.0 - (across / 6.0) ** 2, 0, None)) * ((along > 0) & (along < 40.0))
    tissue_air = air * (1.0 - LUNG_TISSUE_FRACTION) + airway
    # vessels and parenchymal texture, visible where there is lung around them
    vessels = ndimage.gaussian_filter(_splat_segments(_vessel_tree(anatomy, tex_rng), Xc, Yr, spacing_mm), 1.0 / spacing_mm)
    texture = _parenchyma(tex_rng, Xc, Yr)
    lung_detail = (vessels + 2.0 * texture) * lung_frac
    soft = body - tissue_air + lung_detail
    if nodule is not None:
        soft = soft + nodule.contrast * _nodule_thickness(nodule, Xc, Yr) * np.clip(lung_frac * 3.0, 0.0, 1.0)
    bone = bone_thickness(anatomy, Xc, Yr) * (body > 1.0)
    return Projection(
        soft_mm=np.clip(soft, 0.0, None).astype(np.float32),
        bone_mm=bone.astype(np.float32),
        lung_mask=air > 0.2 * dmax,
    )
