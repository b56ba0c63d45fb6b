"""A demo reader study on a phantom study: readers unaided and aided by the demo model's real scores.

``valkit synth OUT --reader-study MODEL_CARD`` writes, next to the images::

    OUT/reader_study/ratings.csv        reader, case, modality, truth, rating, reading_time_s
    OUT/reader_study/model_scores.csv   case, score (the model's standalone score per case)
    OUT/reader_study/reader_study.json  completion marker, written last

Cases are a stratified subset of the phantom study: one image per patient (MRMC methods
assume independent cases), half of them positive (reader studies are enriched), each
class spread over the sites in proportion to the study. The model card's network scores
those images on the CPU (:func:`valkit.predictor.load_predictor`,
:func:`valkit.preprocess.preprocess_file`), and :func:`valkit.synth.reader_study.simulate_reader_study`
simulates a fully crossed Roe-Metz study of ``n_readers`` readers reading every case
unaided and aided by those scores, on a 1-5 confidence scale.

Everything follows from ``seed``, the image study and the model weights: a second call with
the same parameters, the same ``labels.csv`` and the same weights finds the marker and
returns at once (``ReaderDemoSummary.reused``).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from valkit.digests import file_sha256
from valkit.errors import InputError

SUBDIR = "reader_study"
MARKER = "reader_study.json"
RATINGS = "ratings.csv"
MODEL_SCORES = "model_scores.csv"
GENERATOR_VERSION = 1
_SELECTION_STREAM = 0x5EAD  # a separate random stream for the case selection

ScoreFn = Callable[[Sequence[Path]], np.ndarray]


@dataclass(frozen=True)
class ReaderDemoSummary:
    """What :func:`write_reader_demo` produced (or found complete, ``reused=True``)."""

    out_dir: Path
    ratings_path: Path
    model_scores_path: Path
    n_cases: int
    n_positive: int
    n_readers: int
    seed: int
    reused: bool = False


def _allocate(counts: pd.Series, total: int) -> dict[str, int]:
    """Split ``total`` over the groups in proportion to ``counts`` (largest remainder), capped by counts."""
    share = counts / counts.sum() * total
    n = np.floor(share).astype(int).clip(upper=counts)
    order = (share - np.floor(share)).sort_values(ascending=False, kind="stable").index
    while n.sum() < total and (n < counts).any():
        for g in order:
            if n.sum() >= total:
                break
            if n[g] < counts[g]:
                n[g] += 1
    return {str(k): int(v) for k, v in n.items()}


def select_cases(labels: pd.DataFrame, n_cases: int, *, seed: int) -> pd.DataFrame:
    """One image per patient, ``n_cases // 2`` positives (fewer if the study has fewer), sites in proportion.

    ``labels`` needs columns case_id, patient_pseudo_id, label, site_key. The result is sorted
    by case_id.

    >>> lab = pd.DataFrame({"case_id": [f"c{i:02d}" for i in range(40)],  # patients p0-p9 have two images
    ...                     "patient_pseudo_id": [f"p{i % 30}" for i in range(40)],
    ...                     "label": [i % 30 % 3 == 0 for i in range(40)], "site_key": ["a", "b"] * 20})
    >>> sub = select_cases(lab, 12, seed=1)
    >>> len(sub), int(sub.label.sum()), sub.patient_pseudo_id.is_unique
    (12, 6, True)
    """
    rng = np.random.default_rng([int(seed), _SELECTION_STREAM])
    df = labels.copy()
    df["label"] = df["label"].astype(int)
    # one image per patient, chosen at random
    df = df.iloc[rng.permutation(len(df))].drop_duplicates("patient_pseudo_id", keep="first")
    pos, neg = df[df["label"] == 1], df[df["label"] == 0]
    n_pos = min(n_cases // 2, len(pos))
    n_neg = min(n_cases - n_pos, len(neg))
    if n_pos < 2 or n_neg < 2 or n_pos + n_neg < n_cases:
        raise InputError(
            f"reader study: cannot choose {n_cases} cases (one image per patient, half positive) from a study with "
            f"{len(pos)} positive and {len(neg)} negative patients. Fix: use a smaller --reader-cases or a larger "
            "--n-images.")
    picked = []
    for part, k in ((pos, n_pos), (neg, n_neg)):
        quota = _allocate(part.groupby("site_key").size(), k)
        for site, q in sorted(quota.items()):
            rows = part[part["site_key"].astype(str) == site].sort_values("case_id")
            picked.append(rows.iloc[np.sort(rng.choice(len(rows), size=q, replace=False))])
    return pd.concat(picked).sort_values("case_id").reset_index(drop=True)


def _marker_matches(marker: dict | None, expected: dict, folder: Path) -> bool:
    if not marker or any(marker.get(k) != v for k, v in expected.items()):
        return False
    for name, key in ((RATINGS, "ratings_sha256"), (MODEL_SCORES, "model_scores_sha256")):
        path = folder / name
        if not path.is_file() or file_sha256(path) != marker.get(key):
            return False
    return True


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".partial")
    df.to_csv(tmp, index=False, lineterminator="\n", float_format="%.10g")
    os.replace(tmp, path)


def write_reader_demo(study_dir: str | os.PathLike, score_cases: ScoreFn, *, model_id: dict, n_cases: int = 120,
                      n_readers: int = 5, seed: int, force: bool = False) -> ReaderDemoSummary:
    """Choose the cases, score them with ``score_cases(paths) -> scores`` and simulate the readers.

    ``model_id`` identifies the model in the marker (e.g. its weights' sha256); a different
    one regenerates the study. See :func:`generate_reader_demo` for the real model.
    """
    if isinstance(n_cases, bool) or not isinstance(n_cases, int) or n_cases < 4:
        raise InputError(f"reader study: expected at least 4 cases, found {n_cases!r}; e.g. --reader-cases 120")
    if isinstance(n_readers, bool) or not isinstance(n_readers, int) or not 2 <= n_readers <= 100:
        raise InputError(f"reader study: expected 2 to 100 readers, found {n_readers!r}; e.g. --readers 5")
    study = Path(study_dir)
    try:
        study_marker = json.loads((study / "study.json").read_text())
    except (OSError, ValueError):
        raise InputError(f"{study}: no complete phantom study (study.json missing). Fix: run valkit synth "
                         f"{study} --n-images N --seed S first.") from None
    folder = study / SUBDIR
    expected = {"generator": "valkit.synth.reader_demo", "generator_version": GENERATOR_VERSION,
                "n_cases": n_cases, "n_readers": n_readers, "seed": seed,
                "study_labels_sha256": study_marker.get("labels_sha256"), "model": model_id}
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        marker = None
    if not force and _marker_matches(marker, expected, folder):
        return ReaderDemoSummary(folder, folder / RATINGS, folder / MODEL_SCORES, n_cases, marker["n_positive"],
                                 n_readers, seed, reused=True)
    from valkit.synth.reader_study import simulate_reader_study

    labels = pd.read_csv(study / "labels.csv", dtype={"case_id": str, "patient_pseudo_id": str, "site_key": str})
    cases = select_cases(labels, n_cases, seed=seed)
    scores = np.asarray(score_cases([study / p for p in cases["path"]]), dtype=float)
    if scores.shape != (len(cases),) or not np.all(np.isfinite(scores)):
        raise InputError(f"reader study: the model gave {scores.shape} scores for {len(cases)} cases, "
                         "or non-finite ones; expected one finite score per case.")
    ratings = simulate_reader_study(cases["case_id"].tolist(), cases["label"].to_numpy(int), scores,
                                    n_readers=n_readers, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).unlink(missing_ok=True)
    _write_csv(ratings, folder / RATINGS)
    _write_csv(pd.DataFrame({"case": cases["case_id"], "score": scores}), folder / MODEL_SCORES)
    n_pos = int(cases["label"].astype(int).sum())
    marker = {**expected, "n_positive": n_pos, "scale": "1-5", "modalities": ["unaided", "aided"],
              "design": "fully crossed",
              "selection": "one image per patient, half positive, each class spread over sites in proportion",
              "ratings_sha256": file_sha256(folder / RATINGS), "model_scores_sha256": file_sha256(folder / MODEL_SCORES),
              "note": "Simulated readers (Roe-Metz model) on phantom images, for software validation demos only."}
    tmp = folder / (MARKER + ".partial")
    tmp.write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, folder / MARKER)
    return ReaderDemoSummary(folder, folder / RATINGS, folder / MODEL_SCORES, n_cases, n_pos, n_readers, seed)


def model_score_fn(card_path: str | os.PathLike, *, batch_size: int = 32) -> ScoreFn:
    """A score function for a model card: its network on the CPU, the card's preprocessing."""
    from valkit.predictor import load_predictor
    from valkit.preprocess import preprocess_file

    predictor = load_predictor(card_path, device="cpu")  # CPU: the same scores on every machine

    def score(paths: Sequence[Path]) -> np.ndarray:
        out = []
        for i in range(0, len(paths), batch_size):
            batch = np.stack([preprocess_file(p, predictor.card.preprocessing) for p in paths[i:i + batch_size]])
            out.append(predictor.predict(batch))
        return np.concatenate(out) if out else np.zeros(0)

    return score


def generate_reader_demo(study_dir: str | os.PathLike, model_card: str | os.PathLike, *, n_cases: int = 120,
                         n_readers: int = 5, seed: int, force: bool = False) -> ReaderDemoSummary:
    """The demo reader study of ``study_dir``, readers aided by ``model_card``'s scores (see module doc)."""
    card = Path(model_card)
    if not card.is_file():
        raise InputError(f"--reader-study: model card not found: {card}. Fix: give a models/<id>/model.yaml "
                         "(e.g. models/demo-nodule/model.yaml), or leave --reader-study out.")
    from valkit.model_card_io import load_model_card

    loaded = load_model_card(card)
    # the weights' digest identifies the model; load_predictor verifies the file against it
    model_id = {"card": card.name, "id": loaded.id, "weights_sha256": loaded.weights.sha256}

    def score(paths: Sequence[Path]) -> np.ndarray:  # the network is loaded only when scores are needed
        return model_score_fn(card)(paths)

    return write_reader_demo(study_dir, score, model_id=model_id, n_cases=n_cases, n_readers=n_readers,
                             seed=seed, force=force)


__all__ = ["ReaderDemoSummary", "generate_reader_demo", "model_score_fn", "select_cases", "write_reader_demo"]
