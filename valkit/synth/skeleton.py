"""The bony thorax of the phantom: spine, ribs, clavicles and humeral heads.

Bones are drawn as tubes (projected thickness of a hollow cylinder, so the cortex
shows as brighter edges) along analytic centre lines in patient coordinates
(:mod:`valkit.synth.anatomy`): posterior ribs arch up from the spine and fall at the
lateral chest wall, fainter anterior ribs run down and in towards the costochondral
junctions, clavicles rise laterally across the lung apices.
"""
from __future__ import annotations

import numpy as np

from valkit.synth.anatomy import Anatomy, interp_knots, lung_lateral_edge


def _tube(d, r):
    """Projected thickness of a bone tube of outer radius r with a thinner core."""
    outer = np.sqrt(np.clip(r * r - d * d, 0.0, None))
    inner = np.sqrt(np.clip((0.72 * r) ** 2 - d * d, 0.0, None))
    return outer - 0.6 * inner


def _curve_band(out, Xc, Yr, x_range, fn, r, weight):
    """Add a tube along the curve y = fn(x) for x in ``x_range`` (patient mm) into ``out``.

    ``Xc``: column coordinates (1-D), ``Yr``: row coordinates (1-D, increasing).
    """
    lo, hi = min(x_range), max(x_range)
    cols = np.nonzero((Xc >= lo) & (Xc <= hi))[0]
    if cols.size == 0:
        return
    xs = Xc[cols]
    ys = fn(xs)
    slope = np.gradient(ys, xs) if xs.size > 1 else np.zeros_like(xs)
    cos = 1.0 / np.sqrt(1.0 + slope * slope)
    r0 = np.searchsorted(Yr, ys.min() - r / cos.min() - 1.0)
    r1 = np.searchsorted(Yr, ys.max() + r / cos.min() + 1.0)
    if r1 <= r0:
        return
    d = (Yr[r0:r1, None] - ys[None, :]) * cos[None, :]
    # taper the ends so ribs fade rather than stop
    fade = np.clip((xs - lo) / 6.0, 0, 1) * np.clip((hi - xs) / 6.0, 0, 1)
    out[r0:r1, cols[0]:cols[-1] + 1] += weight * _tube(d, r) * fade[None, :]


def bone_thickness(a: Anatomy, Xc, Yr):
    """Bone path length (mm) on the grid given by 1-D column and row coordinates."""
    w, h = a.half_width, a.lung_height
    out = np.zeros((Yr.size, Xc.size), np.float32)
    pitch = a.rib_pitch * h
    # spine: vertebral bodies separated by discs, with pedicle rings, only near the midline
    cols = np.nonzero(np.abs(Xc) < 30.0)[0]
    if cols.size:
        xs = Xc[cols[0]:cols[-1] + 1]
        half = interp_knots(Yr, [-200, 0, h, 2 * h], [12, 15, 21, 24])
        u = xs[None, :] / half[:, None]
        body = 16.0 * np.sqrt(np.clip(1.0 - u * u, 0.0, None))
        phase = ((Yr - a.rib_start * h) / pitch) % 1.0
        disc = 0.5 + 0.5 * np.clip(np.sin(np.pi * phase) * 1.8, 0.0, 1.0)
        ped_y = (phase - 0.4) * pitch
        ped = 0.0
        for side in (-1, 1):
            dped = np.sqrt((xs[None, :] - side * 0.72 * half[:, None]) ** 2 + (ped_y[:, None] * 1.2) ** 2)
            ped = ped + 4.0 * np.clip(1.0 - np.abs(dped - 3.5) / 1.5, 0.0, None)
        out[:, cols[0]:cols[-1] + 1] += (body * disc[:, None] + ped) * a.bone_density
    density = 1.7 * a.bone_density
    for k in range(12):
        y0 = (a.rib_start + 0.03) * h + k * pitch * (1.0 + 0.02 * k)
        if y0 > 1.05 * h:
            break
        x_end = float(lung_lateral_edge(a, y0 + 0.6 * pitch)) + 8.0
        u_p = (0.30 + 0.01 * k) * x_end
        rise = (0.10 - 0.004 * k) * h
        drop = (0.12 + 0.008 * k) * h
        r_post = 4.6 + 0.15 * k

        def post(x, y0=y0, rise=rise, u_p=u_p, x_end=x_end, drop=drop):
            u = np.abs(x)
            base = y0 - rise * (1.0 - np.clip(1.0 - u / u_p, 0.0, None) ** 2)
            tail = drop * np.clip((u - u_p) / (x_end - u_p), 0.0, None) ** 2.2
            return base + tail

        y_lat = float(post(np.array([x_end]))[0])
        for side in (-1, 1):
            _curve_band(out, Xc, Yr, (side * 16.0, side * x_end), post, r_post, density)
        if k < 9:
            u_c = (0.28 + 0.025 * k) * w
            y_c = y0 + (2.4 + 0.12 * k) * pitch

            def ant(x, y_lat=y_lat, y_c=y_c, u_c=u_c, x_end=x_end):
                t = np.clip((np.abs(x) - u_c) / (x_end - u_c), 0.0, 1.0)
                return y_c - (y_c - y_lat) * t**0.7

            for side in (-1, 1):
                _curve_band(out, Xc, Yr, (side * u_c, side * (x_end - 1.0)), ant, 6.0, 0.4 * density)
    # clavicles: S-shaped, rising laterally across the lung apices
    for side in (-1, 1):
        x_med, x_lat = 0.07 * w, 0.95 * w
        y_med, y_lat = 0.11 * h, -0.03 * h

        def clav(x, x_med=x_med, x_lat=x_lat, y_med=y_med, y_lat=y_lat):
            t = np.clip((np.abs(x) - x_med) / (x_lat - x_med), 0.0, 1.0)
            return y_med + (y_lat - y_med) * t + 0.025 * h * np.sin(2 * np.pi * t)

        _curve_band(out, Xc, Yr, (side * x_med, side * x_lat), clav, 6.5, 1.6 * a.bone_density)
        # humeral head in the upper corner
        hx, hy, hr = side * (w + a.chest_wall + 30.0), -0.02 * h, 26.0
        ci = np.nonzero(np.abs(Xc - hx) < hr)[0]
        ri = np.nonzero(np.abs(Yr - hy) < hr)[0]
        if ci.size and ri.size:
            dd = np.sqrt((Xc[ci][None, :] - hx) ** 2 + (Yr[ri][:, None] - hy) ** 2)
            ball = np.sqrt(np.clip(hr * hr - dd * dd, 0.0, None))
            out[ri[0]:ri[-1] + 1, ci[0]:ci[-1] + 1] += a.bone_density * (0.35 * ball + 1.2 * _tube(dd, hr))
    return out
