"""Explainability: heatmaps for the model card's network, and measurements of them.

* :mod:`valkit.explain.config` — the protocol's ``explainability`` block
  (:class:`ExplainabilityOptions`).
* :mod:`valkit.explain.cam` — Grad-CAM and relatives (pytorch-grad-cam), batched, on the
  model input grid.
* :mod:`valkit.explain.localisation` — pointing game and energy fraction against lesion
  boxes, with CIs from :mod:`valkit.stats`.
* :mod:`valkit.explain.sanity` — the model-parameter randomisation test (Adebayo et al. 2018),
  Spearman correlation and SSIM.
* :mod:`valkit.explain.sampling` — outcome categories and seeded gallery samples.
* :mod:`valkit.explain.section` — :func:`explainability_section`, which the pipeline calls
  after predictions exist; it writes ``runs/<id>/explain/`` and returns the
  ``explainability`` key of results.json.

Importing this package does not import torch (the heavy parts load on first use).
"""
from valkit.explain.config import ExplainabilityOptions

__all__ = ["ExplainabilityOptions", "explainability_section"]


def __getattr__(name: str):
    if name == "explainability_section":
        from valkit.explain.section import explainability_section

        return explainability_section
    raise AttributeError(f"module 'valkit.explain' has no attribute {name!r}")
