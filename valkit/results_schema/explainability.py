"""``explainability``: Grad-CAM heatmaps, gallery, localisation, border and sanity checks.

Built by :func:`valkit.explain.section.explainability_section` (see docs/explainability.md).
Typed here: the top level and the options (:class:`valkit.explain.config.ExplainabilityOptions`);
the parts (``gallery``, ``localisation``, ``border``, ``sanity``, ``heatmaps``) are not yet
modelled. ``available`` is false, with a ``reason``, when no heatmap could be computed (external
predictions); the parts are then absent.
"""
from __future__ import annotations

from typing import Any

from valkit.explain.config import ExplainabilityOptions
from valkit.results_schema.base import Block, Untyped


class Explainability(Block):
    method: str
    seed: int
    threshold: float
    options: ExplainabilityOptions
    available: bool
    reason: str | None = None  # why not available
    target_layer: str | None = None
    explained_output: str | None = None
    heatmap_grid: list[int] | None = None
    feature_grid: list[int] | None = None
    feature_cell_px: list[float] | None = None
    heatmaps: Untyped | None = None
    unreadable: list[Any] | None = None
    gallery: dict[str, Untyped] | None = None  # by category (true_positive, ...)
    localisation: Untyped | None = None
    border: Untyped | None = None  # absent in results written before the border analysis
    sanity: Untyped | None = None


__all__ = ["Explainability"]
