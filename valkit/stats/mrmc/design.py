"""Study designs of a reader study and the checks on the rating array.

The engine takes ratings as an array of shape ``(T, R, C)`` (modalities, readers,
cases) with ``nan`` where a reader did not read a case under a modality, and the
case truth as a 0/1 array of length ``C``. Three designs are supported
(Hillis, Obuchowski & Berbaum 2011; the ``design`` codes 1-3 of MRMCaov):

``factorial``
    Every reader reads every case under every modality (fully crossed).
``cases_nested_in_reader``
    Each case is read by one reader only, under every modality (split-plot).
    The covariances between different readers are zero: Cov2 = Cov3 = 0.
``cases_nested_in_modality``
    Each case is imaged with one modality only and read there by every reader
    (unpaired modalities). Covariances between modalities are zero: Cov1 = Cov3 = 0.
"""
from __future__ import annotations

import numpy as np

from valkit.stats.mrmc.options import MRMCInputError, look_up

FACTORIAL = "factorial"
CASES_NESTED_IN_READER = "cases_nested_in_reader"
CASES_NESTED_IN_MODALITY = "cases_nested_in_modality"
DESIGNS = (FACTORIAL, CASES_NESTED_IN_READER, CASES_NESTED_IN_MODALITY)
_DESIGN_OPTIONS = {"auto": "auto", **{d: d for d in DESIGNS}}


def check_arrays(ratings, truth) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``ratings`` (T, R, C) and ``truth`` (C,).

    >>> r, t = check_arrays([[[1, 2, 3, 4]], [[1, 3, 2, 4]]], [0, 0, 1, 1])
    >>> r.shape, t.dtype
    ((2, 1, 4), dtype('bool'))
    """
    r = np.asarray(ratings, dtype=float)
    if r.ndim != 3:
        raise MRMCInputError(
            f"ratings: expected an array of shape (modalities, readers, cases), got shape {r.shape}."
        )
    t = np.asarray(truth)
    if t.ndim != 1 or t.shape[0] != r.shape[2]:
        raise MRMCInputError(
            f"truth: expected one 0/1 value per case ({r.shape[2]} cases), got shape {t.shape}."
        )
    if t.dtype != bool:
        tf = t.astype(float)
        if not np.all((tf == 0) | (tf == 1)):
            raise MRMCInputError("truth: expected 0 (negative) or 1 (positive) for every case.")
        t = tf.astype(bool)
    if np.isinf(r).any():
        raise MRMCInputError("ratings: infinite values are not allowed; use finite numbers.")
    return r, t


def detect_design(read: np.ndarray) -> str | None:
    """Name the design of a read mask ``(T, R, C)`` (True = read), or ``None``.

    >>> m = np.ones((2, 3, 4), dtype=bool)
    >>> detect_design(m)
    'factorial'
    >>> m = np.zeros((2, 2, 4), dtype=bool); m[:, 0, :2] = True; m[:, 1, 2:] = True
    >>> detect_design(m)
    'cases_nested_in_reader'
    """
    read = np.asarray(read, dtype=bool)
    n_mod, n_rdr, _ = read.shape
    if read.all():
        return FACTORIAL
    per_case = read.reshape(n_mod * n_rdr, -1)
    readers_of_case = read.any(axis=0)  # (R, C)
    modalities_of_case = read.any(axis=1)  # (T, C)
    if n_rdr > 1 and np.all(readers_of_case.sum(axis=0) == 1):
        # each case's single reader must read it under every modality
        if np.all(read.all(axis=0) == readers_of_case) and per_case.any(axis=1).all():
            return CASES_NESTED_IN_READER
    if n_mod > 1 and np.all(modalities_of_case.sum(axis=0) == 1):
        if np.all(read.all(axis=1) == modalities_of_case) and per_case.any(axis=1).all():
            return CASES_NESTED_IN_MODALITY
    return None


def resolve_design(read: np.ndarray, design: str = "auto") -> str:
    """Return the design to analyse; raise if the data do not follow the one named."""
    wanted = look_up(design, _DESIGN_OPTIONS, what="design")
    found = detect_design(read)
    if found is None:
        n_missing = int((~read).sum())
        raise MRMCInputError(
            f"design: the reading pattern is neither fully crossed nor a nested design "
            f"({n_missing} reader x case x modality cells are missing). Supported: "
            f"{', '.join(DESIGNS)}. Fix: supply every missing rating, or recode the study so "
            f"that each case is read by one reader only, or under one modality only."
        )
    if wanted != "auto" and wanted != found:
        raise MRMCInputError(
            f"design: {wanted!r} was requested but the ratings follow {found!r}. "
            f"Fix: pass design={found!r} or 'auto', or correct the data."
        )
    return found
