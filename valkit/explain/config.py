"""The protocol's ``explainability`` block: which heatmap method, what to sample, how to check it.

Data only (pydantic, frozen, unknown keys rejected), like the rest of the protocol. An example::

    explainability:
      method: gradcam            # gradcam | gradcam++ | hirescam | xgradcam | layercam | eigencam | ...
      batch_size: 16
      seed: 7                    # optional; default: analysis.seed
      gallery: {true_positive: 8, false_positive: 8, false_negative: 8, true_negative: 4}
      localisation:
        box_columns: [lesion_x0, lesion_y0, lesion_x1, lesion_y1]
        box_convention: half_open
        by: [site, manufacturer, model]
      sanity:
        randomisation: cascading   # or independent
        n_images: 8
        stages: 5
      border:                      # how often heatmaps peak on the image border (shortcut check)
        max_cases_per_category: 100

This module imports neither torch nor the grad-cam package, so validating a protocol stays cheap.

>>> ExplainabilityOptions().method
'gradcam'
>>> ExplainabilityOptions(method="hirescam", gallery={"true_negative": 0}).gallery.true_negative
0
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from valkit.strict_model import StrictModel

__all__ = [
    "BorderOptions",
    "CAM_METHOD_NAMES",
    "ExplainabilityOptions",
    "GalleryOptions",
    "LocalisationOptions",
    "SanityOptions",
]

#: Heatmap methods a protocol may name (implemented by pytorch-grad-cam; see valkit.explain.cam).
CAM_METHOD_NAMES = (
    "gradcam", "gradcam++", "hirescam", "xgradcam", "layercam", "eigencam", "eigengradcam", "gradcam-elementwise",
)
CamMethod = Literal[
    "gradcam", "gradcam++", "hirescam", "xgradcam", "layercam", "eigencam", "eigengradcam", "gradcam-elementwise",
]
_Count = Annotated[int, Field(ge=0, le=500)]


class GalleryOptions(StrictModel):
    """How many cases of each outcome to show in the report's failure-analysis gallery.

    Cases are drawn at random (with the recorded seed) from the cases of each category;
    a category with fewer cases shows all of them.
    """

    true_positive: _Count = 8
    false_positive: _Count = 8
    false_negative: _Count = 8
    true_negative: _Count = 4


class LocalisationOptions(StrictModel):
    """Where the lesion boxes are and how heatmaps are scored against them.

    Boxes are read from manifest columns in stored-pixel coordinates of the DICOM image
    (x = column, y = row, origin at the top-left pixel). ``half_open`` boxes cover columns
    x0..x1-1 and rows y0..y1-1 (the phantom generator's convention); ``inclusive`` boxes
    cover x0..x1 and y0..y1.
    """

    enabled: bool = True
    box_columns: tuple[str, str, str, str] = ("lesion_x0", "lesion_y0", "lesion_x1", "lesion_y1")
    box_convention: Literal["half_open", "inclusive"] = "half_open"
    pointing_tolerance_px: float = Field(
        0.0, ge=0, le=64,
        description="A hit also counts when the peak lies within this many model-input pixels of the box "
        "(Zhang et al. 2018 used 15 px at 224 px input). 0: the peak must lie inside the box.",
    )
    max_cases: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Score at most this many true positives (a seeded random sample); null: all.")
    by: list[str] = Field(default_factory=lambda: ["site", "manufacturer", "model"],
                          description="Columns to break the metrics down by (site, scanner, subgroups).")
    min_group_size: Annotated[int, Field(ge=1)] = Field(
        5, description="Groups with fewer scored true positives are marked 'insufficient'.")
    bootstrap_resamples: Annotated[int, Field(ge=100, le=100_000)] = 2000


class SanityOptions(StrictModel):
    """Model-parameter randomisation test (Adebayo et al., NeurIPS 2018).

    ``cascading``: layers are re-initialised from the output backwards, more at each stage,
    until the whole network is random (the last stage). ``independent``: each stage
    re-initialises one block of layers alone, the rest keeps its trained weights.
    """

    enabled: bool = True
    randomisation: Literal["cascading", "independent"] = "cascading"
    n_images: Annotated[int, Field(ge=1, le=256)] = 8
    stages: Annotated[int, Field(ge=1, le=50)] = 5
    flag_threshold: float = Field(
        0.5, gt=0, lt=1,
        description="Flag the method when the similarity between trained-model and randomised-model "
        "heatmaps stays at or above this value.",
    )
    flag_metric: Literal["spearman", "ssim", "either"] = Field(
        "spearman",
        description="Which similarity the flag is judged on. Spearman rank correlation by default: SSIM is "
        "always reported, but on sparse maps (Grad-CAM's ReLU leaves much of the image at zero) it is "
        "dominated by the shared empty background and overstates similarity.",
    )


class BorderOptions(StrictModel):
    """Where the heatmaps peak: how often on the image border, by outcome, site and scanner.

    A model that reacts to something at the image edge (a vendor's border noise or collimation,
    burned-in text, a laterality marker) instead of the anatomy shows it here: its heatmap maxima
    gather in the outermost ring of feature cells. Up to ``max_cases_per_category`` cases of each
    outcome (seeded sample) are explained for this check.
    """

    enabled: bool = True
    max_cases_per_category: Annotated[int, Field(ge=1, le=10_000)] = 100
    by: list[str] = Field(default_factory=lambda: ["site", "manufacturer", "model"],
                          description="Columns to break the border-peak rate down by.")
    min_group_size: Annotated[int, Field(ge=1)] = Field(
        10, description="Groups with fewer explained cases are marked 'insufficient'.")


class ExplainabilityOptions(StrictModel):
    """The protocol's ``explainability`` block (see the module docstring for an example)."""

    method: CamMethod = "gradcam"
    batch_size: Annotated[int, Field(ge=1, le=1024)] = 16
    seed: int | None = Field(None, description="Seed for gallery sampling and randomisation; "
                             "null: the protocol's analysis.seed.")
    gallery: GalleryOptions = GalleryOptions()
    localisation: LocalisationOptions = LocalisationOptions()
    sanity: SanityOptions = SanityOptions()
    border: BorderOptions = BorderOptions()

    @field_validator("method", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        # "GradCAM++" and "gradcam++" name the same method
        return value.lower() if isinstance(value, str) else value
