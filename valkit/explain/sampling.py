"""Which cases to explain: outcome categories, seeded gallery samples, lesion boxes to score.

Sampling never depends on the table's row order: candidates are sorted by case id and drawn
with the run's recorded seed, so the same seed and study give the same galleries.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from valkit.explain.config import ExplainabilityOptions
from valkit.explain.localisation import box_from_pixels

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CATEGORIES", "CasePlan", "outcome_category", "plan_cases", "sample_ids", "text"]

CATEGORIES = ("true_positive", "false_positive", "false_negative", "true_negative")


def outcome_category(label: int, score: float, threshold: float) -> str:
    """TP/FP/FN/TN of one case at ``threshold`` (positive when ``score >= threshold``).

    >>> outcome_category(1, 0.7, 0.5), outcome_category(0, 0.5, 0.5), outcome_category(1, 0.2, 0.5)
    ('true_positive', 'false_positive', 'false_negative')
    """
    positive = score >= threshold
    if label == 1:
        return "true_positive" if positive else "false_negative"
    return "false_positive" if positive else "true_negative"


def sample_ids(ids: Sequence[str], k: int, rng: np.random.Generator) -> list[str]:
    """``k`` ids drawn without replacement, independent of the table's row order."""
    pool = sorted(ids)
    if k >= len(pool):
        return pool
    return [pool[i] for i in sorted(rng.choice(len(pool), size=k, replace=False))]


def text(value: Any) -> str:
    """A table cell as stripped text; empty for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


@dataclass
class CasePlan:
    gallery: dict[str, list[str]]
    available: dict[str, int]
    localisation: list[str]
    sanity: list[str]
    boxes: dict[str, tuple[float, float, float, float]]
    n_tp_with_box: int = 0
    no_box: list[str] = field(default_factory=list)
    bad_box: dict[str, str] = field(default_factory=dict)
    box_note: str | None = None
    border: list[str] = field(default_factory=list)

    def needed(self) -> list[str]:
        seen: dict[str, None] = {}
        for ids in (*self.gallery.values(), self.localisation, self.sanity, self.border):
            seen.update(dict.fromkeys(ids))
        return list(seen)


def plan_cases(rows: pd.DataFrame, options: ExplainabilityOptions, rng: np.random.Generator) -> CasePlan:
    by_cat = {c: rows.loc[rows["category"] == c, "case_id"].tolist() for c in CATEGORIES}
    counts = options.gallery.model_dump()
    gallery = {c: sample_ids(by_cat[c], counts[c], rng) for c in CATEGORIES}
    loc = options.localisation
    boxes: dict[str, tuple[float, float, float, float]] = {}
    no_box: list[str] = []
    bad: dict[str, str] = {}
    note = None
    missing = [c for c in loc.box_columns if c not in rows.columns]
    if not loc.enabled:
        note = "localisation disabled in the protocol (explainability.localisation.enabled: false)"
    elif missing:
        note = (f"no lesion boxes: the manifest lacks the lesion-box {'column' if len(missing) == 1 else 'columns'} {', '.join(missing)} "
                "(explainability.localisation.box_columns)")
    else:
        for rec in rows[["case_id", *loc.box_columns]].itertuples(index=False):
            cid, raw = rec[0], [text(v) for v in rec[1:]]
            if all(v == "" for v in raw):
                continue
            if any(v == "" for v in raw):
                bad[cid] = f"incomplete box {raw} in columns {', '.join(loc.box_columns)}"
                continue
            try:
                vals = tuple(float(v) for v in raw)
            except ValueError:
                bad[cid] = f"box {raw} in columns {', '.join(loc.box_columns)}: expected numbers"
                continue
            try:
                box_from_pixels(*vals, convention=loc.box_convention)
            except ValueError as exc:
                bad[cid] = str(exc)
                continue
            boxes[cid] = vals  # type: ignore[assignment]
    tps = by_cat["true_positive"]
    scored = [c for c in tps if c in boxes]
    n_with_box = len(scored)
    no_box = [c for c in tps if c not in boxes and c not in bad] if note is None else []
    if loc.max_cases is not None:
        scored = sample_ids(scored, loc.max_cases, rng)
    order = ["true_positive", "false_negative", "false_positive", "true_negative"]
    sanity: list[str] = []
    if options.sanity.enabled:
        for cat in order:  # true positives first: there the model found something to explain
            sanity += sample_ids(by_cat[cat], options.sanity.n_images - len(sanity), rng)
            if len(sanity) >= options.sanity.n_images:
                break
    border: list[str] = []
    if options.border.enabled:  # drawn last, so the other samples do not depend on this option
        for cat in CATEGORIES:
            border += sample_ids(by_cat[cat], options.border.max_cases_per_category, rng)
    return CasePlan(gallery, {c: len(v) for c, v in by_cat.items()}, scored, sanity, boxes, n_with_box, no_box, bad,
                    note, border)
