"""A parametric chest phantom: patient anatomy as projected thickness maps.

The phantom is defined in *patient coordinates* (millimetres): ``x`` runs from the
patient's right to left (left to right on a PA image as it is displayed), ``y``
runs from head to feet with ``y = 0`` at the lung apices. Every structure is an
analytic shape, so a patient looks the same on every vendor (only the sampling
grid differs) and a nodule keeps its anatomical position across visits.

:mod:`valkit.synth.projection` samples these shapes (with the bones of
:mod:`valkit.synth.skeleton`) on a detector grid; :mod:`valkit.synth.render` turns
the path lengths into an X-ray image. Structures here: body outline with neck,
shoulders and breasts; two lungs (superellipses that widen downwards, cut by the
mediastinum and the diaphragm domes); heart (left ventricle and right atrium),
aortic knob, hila; and a lobulated spherical nodule placed inside a lung.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a = sample_anatomy(rng, sex="F", age=50)
>>> n = sample_nodule(rng, a)
>>> 6.0 <= n.diameter_mm <= 30.0
True
>>> bool(lung_air_depth(a, np.array([n.x_mm]), np.array([n.y_mm]))[0] > 0)
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LUNG_TISSUE_FRACTION = 0.25  # aerated lung is about a quarter tissue by volume


@dataclass(frozen=True)
class Anatomy:
    """Patient-level geometry (mm) and tissue properties; fixed across a patient's images.

    ``half_width``: midline to lateral lung edge. ``lung_height``: apex to costophrenic
    angle. ``ap_depth``: chest thickness front to back. ``ctr``: cardiothoracic ratio.
    ``texture_seed`` fixes vessel branching and parenchymal texture for this patient.
    """

    half_width: float
    lung_height: float
    ap_depth: float
    chest_wall: float
    ctr: float
    heart_shift: float
    heart_angle_deg: float
    dome_right: float
    dome_left: float
    rib_pitch: float
    rib_start: float
    bone_density: float
    breast_size: float
    aortic_knob: float
    trachea_shift: float
    texture_seed: int


@dataclass(frozen=True)
class Pose:
    """Per-image positioning: shift (mm) of the patient on the detector and inspiration depth."""

    dx_mm: float = 0.0
    dy_mm: float = 0.0
    inspiration: float = 1.0


@dataclass(frozen=True)
class Nodule:
    """A lung nodule in patient coordinates.

    ``diameter_mm`` 12-30; ``contrast`` is the nodule's density relative to soft
    tissue minus aerated lung (about 0.25 ground glass, 1.0 solid), so the extra
    water-equivalent path through its centre is ``contrast * diameter_mm``.
    ``lobulation`` holds (amplitude, phase) of the 2nd and 3rd harmonic of the outline.
    """

    x_mm: float
    y_mm: float
    diameter_mm: float
    contrast: float
    lobulation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    @property
    def max_radius_mm(self) -> float:
        a2, _, a3, _ = self.lobulation
        return 0.5 * self.diameter_mm * (1.0 + abs(a2) + abs(a3))


def sample_anatomy(rng: np.random.Generator, *, sex: str, age: float) -> Anatomy:
    """Draw a plausible adult chest for ``sex`` ('M', 'F', anything else = average) and ``age``."""
    male = {"M": 1.0, "F": 0.0}.get(sex, 0.5)
    half_width = rng.normal(138.0 + 12.0 * male, 9.0)
    lung_height = rng.normal(245.0 + 20.0 * male, 16.0)
    ap_depth = float(np.clip(rng.normal(195.0 + 25.0 * male, 25.0), 140.0, 290.0))
    return Anatomy(
        half_width=float(np.clip(half_width, 110.0, 175.0)),
        lung_height=float(np.clip(lung_height, 200.0, 310.0)),
        ap_depth=ap_depth,
        chest_wall=float(np.clip(rng.normal(22.0, 7.0) + 0.1 * (ap_depth - 200.0), 10.0, 50.0)),
        ctr=float(np.clip(rng.normal(0.44 + 0.0012 * (age - 45.0), 0.035), 0.36, 0.58)),
        heart_shift=float(rng.normal(0.0, 5.0)),
        heart_angle_deg=float(rng.normal(28.0, 5.0)),
        dome_right=float(rng.normal(0.80, 0.025)),
        dome_left=float(rng.normal(0.84, 0.025)),
        rib_pitch=float(rng.normal(0.092, 0.004)),
        rib_start=float(rng.normal(-0.08, 0.01)),
        bone_density=float(np.clip(rng.normal(1.0 - 0.006 * max(age - 40.0, 0.0), 0.08), 0.5, 1.2)),
        breast_size=float(np.clip(rng.normal(0.6, 0.25), 0.0, 1.0) if sex == "F" else max(rng.normal(0.0, 0.12), 0.0)),
        aortic_knob=float(np.clip(rng.normal(1.0 + 0.01 * (age - 45.0), 0.15), 0.6, 1.8)),
        trachea_shift=float(rng.normal(0.0, 2.0)),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )


def sample_pose(rng: np.random.Generator) -> Pose:
    """Draw per-image positioning jitter (a few mm, and +/-6 % inspiration)."""
    return Pose(
        dx_mm=float(rng.normal(0.0, 7.0)),
        dy_mm=float(rng.normal(0.0, 9.0)),
        inspiration=float(rng.uniform(0.94, 1.05)),
    )


def sample_nodule(
    rng: np.random.Generator,
    anatomy: Anatomy,
    *,
    diameter_mm: float | None = None,
    contrast: float | None = None,
) -> Nodule:
    """Draw a nodule lying wholly inside a lung field, clear of the heart.

    Diameter is log-uniform on [12, 30] mm (small nodules are commoner) and contrast
    uniform on [1.0, 2.5] unless given (generator version 7: fainter, smaller nodules were
    below what a small CPU-trained demo network can learn at 128 x 128, where a 10 mm nodule
    is 3 pixels across). The centre is drawn by rejection until the
    lung is at least 35 % of its maximum depth at the centre and at 8 points on the
    outline.
    """
    d = float(diameter_mm) if diameter_mm is not None else float(np.exp(rng.uniform(np.log(12.0), np.log(30.0))))
    c = float(contrast) if contrast is not None else float(rng.uniform(1.0, 2.5))
    lob = (float(rng.uniform(0.0, 0.12)), float(rng.uniform(0, 2 * np.pi)),
           float(rng.uniform(0.0, 0.08)), float(rng.uniform(0, 2 * np.pi)))
    w, h = anatomy.half_width, anatomy.lung_height
    threshold = 0.35 * lung_depth_max(anatomy)
    angles = np.linspace(0.0, 2 * np.pi, 8, endpoint=False)
    r = 0.5 * d * (1.0 + lob[0] + lob[2]) + 2.0
    for _ in range(1000):
        x = rng.uniform(-1.0, 1.0) * w
        y = rng.uniform(0.0, 1.0) * h
        xs = np.concatenate([[x], x + r * np.cos(angles)])
        ys = np.concatenate([[y], y + r * np.sin(angles)])
        if np.all(lung_air_depth(anatomy, xs, ys) > threshold):
            return Nodule(x_mm=float(x), y_mm=float(y), diameter_mm=d, contrast=c, lobulation=lob)
    raise RuntimeError("could not place a nodule inside the lungs")  # pragma: no cover


def lung_depth_max(anatomy: Anatomy) -> float:
    return 0.72 * anatomy.ap_depth


def _smooth_clip(v, width):
    """0 below 0, sqrt ramp to 1 over ``width``: a tangent-ray edge profile."""
    return np.sqrt(np.clip(v / width, 0.0, 1.0))


def _lung_centre_and_axis(a: Anatomy, Y):
    """Centre |x| and lateral semi-axis of a lung's superellipse at height Y: the lung widens downwards."""
    w, h = a.half_width, a.lung_height
    t = np.clip(Y / h, 0.0, 1.0)
    medial = 0.08 * w
    lateral = (0.84 + 0.16 * np.sqrt(t)) * w
    return 0.5 * (medial + lateral), 0.5 * (lateral - medial)


def _lung_one_side(a: Anatomy, X, Y, side: int):
    """Aerated AP depth (mm) of one lung, (above the diaphragm, behind the dome). side -1 right, +1 left.

    The heart displaces the first part only: it sits on the diaphragm, so the recess
    behind the dome stays aerated and the heart's lower border does not show through.
    """
    w, h = a.half_width, a.lung_height
    f32 = np.float32
    xc, ax = _lung_centre_and_axis(a, Y)
    xc = side * xc
    yc = 0.60 * h
    ex = (np.abs(X - xc) / ax).astype(f32)
    dy = Y - yc
    ey = np.where(dy < 0, np.abs(dy) / (0.66 * h), np.abs(dy) / (0.62 * h))
    qy = np.where(dy < 0, 2.2, 4.0)
    e = ex**f32(2.6) + (ey**qy).astype(f32)
    inside = _smooth_clip(1.0 - e, 0.08)
    # mediastinum: narrow at the top (trachea), widening towards the heart base
    t = np.clip(Y / h, 0.0, 1.0)
    medial = ((0.11 + 0.06 * t) * w + side * a.trachea_shift).astype(f32)
    med = _smooth_clip(side * X - medial, f32(6.0))
    # diaphragm dome, lateral end at the costophrenic angle (y = h)
    dome = a.dome_right if side < 0 else a.dome_left
    peak_x = side * 0.42 * w
    k = (1.0 - dome) * h / (0.58 * w) ** 2
    y_d = (dome * h + k * (X - peak_x) ** 2 + 0.15 * h * np.clip((side * peak_x - side * X) / w, 0, None) ** 2).astype(f32)
    below = Y - y_d
    above = below < 0
    # above the dome: full depth; below it the posterior costophrenic recess, thinning out
    dia = np.where(above, 0.3 + 0.7 * _smooth_clip(-below, f32(10.0)), 0.3 * np.exp(np.clip(below, 0, None) / f32(-22.0)))
    # the apex is shallower front to back than the base
    taper = (lung_depth_max(a) * (0.55 + 0.45 * np.clip((Y + 0.05 * h) / (0.5 * h), 0.0, 1.0))).astype(f32)
    depth = (inside * med * dia * taper).astype(f32)
    return np.where(above, depth, 0.0).astype(f32), np.where(above, 0.0, depth).astype(f32)


def _ellipse_depth(X, Y, xc, yc, ax, by, angle_deg, depth, *, flat=1.0):
    """Projected depth of an ellipsoid (``flat`` > 1 flattens the top: steep edge, even interior).

    With a grid (``X`` shaped (1, W), ``Y`` shaped (H, 1)) only the bounding box is
    computed, from separable row and column terms.
    """
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    if np.ndim(X) == 2 and np.shape(X)[0] == 1 and np.ndim(Y) == 2 and np.shape(Y)[1] == 1:
        out = np.zeros((np.shape(Y)[0], np.shape(X)[1]), np.float32)
        ext = max(ax, by)
        xs, ys = X[0], Y[:, 0]
        ci = np.nonzero(np.abs(xs - xc) <= ext)[0]
        ri = np.nonzero(np.abs(ys - yc) <= ext)[0]
        if ci.size == 0 or ri.size == 0:
            return out
        dx = (xs[ci[0]:ci[-1] + 1] - xc).astype(np.float32)
        dy = (ys[ri[0]:ri[-1] + 1] - yc).astype(np.float32)
        u = (dx * (c / ax))[None, :] + (dy * (s / ax))[:, None]
        v = (dx * (-s / by))[None, :] + (dy * (c / by))[:, None]
        r2 = 1.0 - u * u - v * v
        np.clip(r2, 0.0, None, out=r2)
        np.sqrt(r2, out=r2)
        out[ri[0]:ri[-1] + 1, ci[0]:ci[-1] + 1] = depth * np.minimum(flat * r2, 1.0)
        return out
    u = ((X - xc) * c + (Y - yc) * s) / ax
    v = (-(X - xc) * s + (Y - yc) * c) / by
    return depth * np.minimum(flat * np.sqrt(np.clip(1.0 - u * u - v * v, 0.0, None)), 1.0)


def _heart_depth(a: Anatomy, X, Y):
    """Depth (mm) of mediastinal structures that displace lung: heart, aortic knob, right paratracheal."""
    w, h = a.half_width, a.lung_height
    dmax = lung_depth_max(a)
    # left ventricle: long axis pointing to the apex (lower left of the patient); its left
    # border sets the cardiothoracic ratio. Right atrium: the convex right heart border.
    ax, by = a.ctr * w * 1.05, 0.19 * h
    ang = np.radians(a.heart_angle_deg)
    half_extent = np.hypot(ax * np.cos(ang), by * np.sin(ang))
    left_border = (2.0 * a.ctr - 0.22) * w
    lv = _ellipse_depth(X, Y, left_border - half_extent + a.heart_shift, 0.77 * h, ax, by, a.heart_angle_deg, 0.8 * dmax, flat=2.5)
    ra = _ellipse_depth(X, Y, -0.13 * w + a.heart_shift, 0.79 * h, 0.14 * w, 0.16 * h, -10.0, 0.7 * dmax, flat=2.5)
    heart = np.maximum(lv, ra)
    # hilar vessels: soft-tissue density lateral to the mediastinum
    hila = sum(_ellipse_depth(X, Y, side * 0.21 * w, 0.46 * h, 0.07 * w, 0.11 * h, side * 10.0, 0.25 * dmax) for side in (-1, 1))
    knob_r = 0.075 * w * a.aortic_knob
    knob = _ellipse_depth(X, Y, 0.11 * w + 0.4 * knob_r, 0.31 * h, knob_r, knob_r * 1.1, 0.0, 0.8 * dmax, flat=2.0)
    # great vessels widen the upper mediastinum a little on the right
    svc = _ellipse_depth(X, Y, -0.13 * w, 0.47 * h, 0.07 * w, 0.18 * h, 0.0, 0.6 * dmax, flat=2.0)
    return heart + knob + svc + hila


def lung_air_depth(anatomy: Anatomy, X, Y):
    """Aerated lung depth (mm, AP) at patient coordinates ``X``, ``Y`` (broadcastable arrays).

    Zero outside the lung fields, under the heart less than elsewhere. Used both for
    rendering and to decide where a nodule may be placed.
    """
    X = np.asarray(X, dtype=np.float32)
    Y = np.asarray(Y, dtype=np.float32)
    if X.ndim == 2 and X.shape[0] == 1 and Y.ndim == 2 and Y.shape[1] == 1:
        # a grid: each lung only on its own side of the midline
        air = np.zeros((Y.shape[0], X.shape[1]), np.float32)
        recess = np.zeros_like(air)
        for side in (-1, 1):
            cols = np.nonzero(side * X[0] > 0)[0]
            if cols.size:
                sl = slice(cols[0], cols[-1] + 1)
                air[:, sl], recess[:, sl] = _lung_one_side(anatomy, X[:, sl], Y, side)
    else:
        (a1, r1), (a2, r2) = _lung_one_side(anatomy, X, Y, -1), _lung_one_side(anatomy, X, Y, +1)
        air, recess = a1 + a2, r1 + r2
    return (np.clip(air - _heart_depth(anatomy, X, Y), 0.0, None) + recess).astype(np.float32)


def interp_knots(y, knots_y, knots_v):
    return np.interp(y, knots_y, knots_v).astype(np.float32)


def body_thickness(a: Anatomy, X, Y):
    """Soft-tissue AP thickness of the body outline, neck and shoulders (mm)."""
    w, h = a.half_width, a.lung_height
    # neck, sloping shoulders (trapezius), chest wall, upper abdomen
    ky = [-400.0, -95.0, -75.0, -50.0, -20.0, 0.5 * h, h, 2.0 * h]
    cw = a.chest_wall
    half = interp_knots(Y[:, 0], ky, [60, 62, 0.62 * w, 0.95 * w + 20, w + cw + 30, w + cw + 8, w + cw + 12, w + cw + 16])
    ap = interp_knots(Y[:, 0], ky, [115, 120, 0.6 * a.ap_depth, 0.8 * a.ap_depth, 0.9 * a.ap_depth, a.ap_depth, 1.05 * a.ap_depth, 1.05 * a.ap_depth])
    return ap[:, None] * np.sqrt(np.clip(1.0 - (X / half[:, None]) ** 2, 0.0, None))


def breast_thickness(a: Anatomy, X, Y):
    """Breast shadows: a sharp curved lower edge over the lung bases, fading upwards."""
    if a.breast_size <= 0.0:
        return np.zeros(np.broadcast_shapes(X.shape, Y.shape), np.float32)
    w, h = a.half_width, a.lung_height
    fade = np.clip((Y - 0.68 * h) / (0.22 * h), 0.0, 1.0)
    out = 0.0
    for side in (-1, 1):
        out = out + _ellipse_depth(X, Y, side * 0.62 * w, 0.92 * h, 0.6 * w, 0.22 * h, side * 10.0, 30.0 * a.breast_size, flat=1.0)
    return out * fade


def lung_lateral_edge(a: Anatomy, y):
    """|x| (mm) of the lateral lung edge at height ``y`` (approximate, for rib ends)."""
    h = a.lung_height
    yc = 0.60 * h
    y = np.asarray(y, dtype=float)
    xc, ax = _lung_centre_and_axis(a, y)
    dy = y - yc
    ey = np.where(dy < 0, np.abs(dy) / (0.66 * h), np.abs(dy) / (0.62 * h))
    qy = np.where(dy < 0, 2.2, 4.0)
    rem = np.clip(1.0 - ey**qy, 0.0, None) ** (1 / 2.6)
    return xc + ax * rem
