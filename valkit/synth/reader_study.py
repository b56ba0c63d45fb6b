"""Simulated reader study on the phantom cases: readers unaided and aided by a model.

The unaided ratings follow the Roe & Metz (1997) model: for reader j and case k, the
latent decision variable is ::

    X_jk = truth_k * (mu + R_j + (TR)_j) + C_k + (RC)_jk + (TC)_k + e_jk

on a scale where negative cases are roughly N(0, 1): a reader skill effect ``R_j`` and
its modality interaction ``(TR)_j`` (on the separation), a case difficulty ``C_k`` shared
by all readers, reader x case and modality x case interactions and pure error. The aided reading of the same case starts from the same
reader and case effects, adds fresh modality-level interaction and error terms, and
moves towards the model's opinion with a reader-specific reliance ``w_j``::

    X_aided = (1 - w_j) X'_jk + w_j m_k

where ``m_k`` is the model score put on the same latent scale (probit of its rank among
negatives' scores). Latent values become 1-5 ratings through reader-specific thresholds
(confidence bias) or 0-100 scores through ``100 Phi(X - bias_j)``. Reading times are
log-normal, about 60 s unaided and 20 % shorter aided, with reader speed and case
difficulty effects.

Everything is driven by one ``seed``; the same arguments give the same table.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from valkit.errors import InputError

# Roe & Metz-type variance components (latent scale, negatives ~ unit variance)
VAR_READER_SKILL = 0.04
VAR_READER_MODALITY = 0.02  # reader x modality interaction on the separation
VAR_CASE = 0.30
VAR_READER_CASE = 0.20
VAR_MODALITY_CASE = 0.10
VAR_ERROR = 0.40
SEPARATION = 1.25  # mean latent shift of positive cases, unaided (AUC about 0.79)
_SCALES = ("1-5", "0-100")


def _model_latent(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Model scores on the latent scale: probit of the mid-rank among the negatives' scores."""
    neg = np.sort(scores[~truth])
    below = np.searchsorted(neg, scores, side="left")
    ties = np.searchsorted(neg, scores, side="right") - below
    frac = (below + 0.5 * ties + 0.5) / (neg.size + 1)
    return special.ndtri(np.clip(frac, 1e-6, 1 - 1e-6))


def simulate_reader_study(
    case_ids: Sequence,
    truth: Sequence,
    model_scores: Sequence,
    *,
    n_readers: int = 5,
    seed: int,
    scale: str = "1-5",
    reliance: tuple[float, float] = (0.15, 0.35),
    separation: float = SEPARATION,
) -> pd.DataFrame:
    """Simulate unaided and model-aided readings of the given cases.

    Parameters
    ----------
    case_ids : sequence
        Case identifiers (e.g. the phantom study's case ids); unique.
    truth : sequence of 0/1
        Reference standard per case.
    model_scores : sequence of float
        The demo model's score per case (any monotone scale: probabilities, logits).
    n_readers : int
        Number of readers (at least 2).
    seed : int
        Seed of the only random generator used; record it with the results.
    scale : {"1-5", "0-100"}
        Five-point confidence scale or 0-100 probability-of-disease score.
    reliance : (low, high)
        Each reader's weight on the model when aided is uniform on this interval.
    separation : float
        Latent mean shift of positive cases for an average unaided reader.

    Returns
    -------
    pandas.DataFrame
        Tidy long table with columns reader, case, modality ("unaided" / "aided"), truth,
        rating, reading_time_s; one row per reader x case x modality.

    Examples
    --------
    >>> df = simulate_reader_study([f"c{i}" for i in range(40)], [0, 1] * 20,
    ...                            np.tile([0.2, 0.8], 20), n_readers=3, seed=7)
    >>> df.shape, sorted(df.modality.unique()), int(df.rating.min()) >= 1
    ((240, 6), ['aided', 'unaided'], True)
    """
    ids = list(case_ids)
    t = np.asarray(truth)
    m = np.asarray(model_scores, dtype=float)
    n = len(ids)
    if t.shape != (n,) or m.shape != (n,):
        raise InputError(
            f"simulate_reader_study: case_ids, truth and model_scores must have the same length; "
            f"got {n}, {t.shape[0] if t.ndim else t.size}, {m.shape[0] if m.ndim else m.size}.")
    if len(set(map(str, ids))) != n:
        raise InputError("simulate_reader_study: case_ids must be unique.")
    tf = t.astype(float)
    if not np.all((tf == 0) | (tf == 1)):
        raise InputError("simulate_reader_study: truth must be 0 or 1 for every case.")
    tb = tf.astype(bool)
    if tb.sum() < 2 or (~tb).sum() < 2:
        raise InputError("simulate_reader_study: need at least 2 positive and 2 negative cases.")
    if not np.all(np.isfinite(m)):
        raise InputError("simulate_reader_study: model_scores must be finite numbers.")
    if int(n_readers) < 2:
        raise InputError(f"simulate_reader_study: n_readers must be at least 2, got {n_readers}.")
    if scale not in _SCALES:
        raise InputError(f"simulate_reader_study: scale must be one of {', '.join(_SCALES)}; got {scale!r}.")
    rng = np.random.default_rng(seed)
    r = int(n_readers)
    skill = rng.normal(0.0, np.sqrt(VAR_READER_SKILL), size=r)
    case = rng.normal(0.0, np.sqrt(VAR_CASE), size=n)
    reader_case = rng.normal(0.0, np.sqrt(VAR_READER_CASE), size=(r, n))
    weights = rng.uniform(reliance[0], reliance[1], size=r)
    bias = rng.normal(0.0, 0.25, size=r)
    speed = rng.lognormal(0.0, 0.2, size=r)
    difficulty = rng.lognormal(0.0, 0.25, size=n)
    model = _model_latent(m, tb)
    latent = {}
    for mod in ("unaided", "aided"):
        mod_case = rng.normal(0.0, np.sqrt(VAR_MODALITY_CASE), size=n)
        err = rng.normal(0.0, np.sqrt(VAR_ERROR), size=(r, n))
        skill_mod = skill + rng.normal(0.0, np.sqrt(VAR_READER_MODALITY), size=r)
        x = tb[None, :] * (separation + skill_mod[:, None]) + case[None, :] + reader_case + mod_case[None, :] + err
        if mod == "aided":
            x = (1.0 - weights[:, None]) * x + weights[:, None] * model[None, :]
        latent[mod] = x
    frames = []
    base_time = {"unaided": 60.0, "aided": 48.0}
    for mod, x in latent.items():
        z = x - bias[:, None]
        if scale == "1-5":
            cuts = np.array([-0.2, 0.5, 1.1, 1.7])  # on the latent scale, shifted by each reader's bias
            rating = 1 + (z[:, :, None] > cuts[None, None, :]).sum(axis=2)
        else:
            rating = np.rint(100.0 * stats.norm.cdf(z / 1.5))
        times = base_time[mod] * speed[:, None] * difficulty[None, :] * rng.lognormal(0.0, 0.3, size=(r, n))
        rr, kk = np.meshgrid(np.arange(r), np.arange(n), indexing="ij")
        frames.append(pd.DataFrame({
            "reader": [f"reader{j + 1:02d}" for j in rr.ravel()],
            "case": [ids[k] for k in kk.ravel()],
            "modality": mod,
            "truth": tf.astype(int)[kk.ravel()],
            "rating": rating.ravel().astype(int),
            "reading_time_s": np.round(times.ravel(), 1),
        }))
    return pd.concat(frames, ignore_index=True)
