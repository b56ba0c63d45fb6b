"""``explainability``: Grad-CAM heatmaps, gallery, localisation, border and sanity checks.

Built by :func:`valkit.explain.section.explainability_section` (see docs/explainability.md).
A block, and each of its parts ``localisation``, ``border`` and ``sanity``, has two shapes told
apart by ``available``: ``false`` with a ``reason`` (e.g. external predictions, no lesion boxes,
the check disabled in the protocol), or ``true`` with every result of that part. So a part that
ran cannot lack a field: validation names the missing key instead of the report printing a blank.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from valkit.explain.config import ExplainabilityOptions
from valkit.results_schema.base import Block, Estimate, Num


class Heatmaps(Block):
    """How many heatmaps were computed, how fast, on which device."""

    n: int
    seconds: float
    per_second: float | None  # null when no time was measured (no heatmap)
    device: str


class UnreadableCase(Block):
    """A case whose image could not be read again for its heatmap (the run goes on without it)."""

    case_id: str
    reason: str


class GalleryCase(Block):
    """One overlay in the gallery. The localisation fields are null for a case without a lesion box."""

    case_id: str
    category: str
    site: str
    scanner: str
    score: float
    label: int
    overlay: str  # PNG path relative to the run directory
    pointing_game_hit: bool | None
    pointing_game_cell_hit: bool | None
    energy_fraction: Num


class GalleryCategory(Block):
    """The cases of one outcome category shown: how many there were, how many were asked for."""

    available: int
    requested: int
    cases: list[GalleryCase]


class Gallery(Block):
    """Overlays by outcome at the run's operating point."""

    true_positive: GalleryCategory
    false_positive: GalleryCategory
    false_negative: GalleryCategory
    true_negative: GalleryCategory


class LocalisationEstimates(Block):
    """Localisation of true positives against their lesion boxes, with chance levels."""

    n: int
    n_patients: int
    pointing_game: Estimate
    pointing_game_feature_cell: Estimate  # peak feature cell overlaps the box
    energy_fraction: Estimate
    mean_box_area_fraction: Num  # chance level of the energy fraction
    mean_cell_chance: Num  # chance level of the feature-cell pointing game


class LocalisationGroup(LocalisationEstimates):
    """One level of a breakdown column (site, scanner, a subgroup column)."""

    group: str
    insufficient: bool  # below min_group_size: estimates carry insufficient_evidence


class InvalidBox(Block):
    """A lesion box that could not be used, with why."""

    case_id: str
    category: str
    reason: str


class _LocalisationCommon(Block):
    box_columns: list[str]
    box_convention: str
    pointing_tolerance_px: float
    geometry: str
    n_true_positives: int
    n_with_box: int
    n_scored: int
    n_without_box: int
    n_invalid_box: int
    invalid_boxes: list[InvalidBox]  # the first 50
    n_empty_heatmaps: int
    max_cases: int | None
    cluster_column: str


class LocalisationNotAvailable(_LocalisationCommon):
    """No true positive with a usable lesion box (or localisation disabled): the reason says which."""

    available: Literal[False]
    reason: str


class Localisation(_LocalisationCommon):
    """Pointing game and energy fraction of the scored true positives, overall and by group."""

    available: Literal[True]
    overall: LocalisationEstimates
    columns_not_found: list[str]
    by: dict[str, list[LocalisationGroup]]  # breakdown column -> its levels
    min_group_size: int
    cases_csv: str  # per-case table, relative to the run directory


class BorderGroup(Block):
    """How often heatmaps peak in the outermost ring of feature cells, for one group of cases."""

    group: str
    insufficient: bool
    n: int
    n_patients: int
    peak_on_border: Estimate
    border_energy_fraction: Estimate
    flagged: bool  # CI lower bound of the border-peak rate above the chance level


class _BorderCommon(Block):
    enabled: bool
    feature_grid: list[int]
    band: str
    band_area_fraction: float
    chance: float
    max_cases_per_category: int
    min_group_size: int
    n: int
    n_empty_heatmaps: int


class BorderNotAvailable(_BorderCommon):
    """No case was explained for the border analysis (disabled, or no readable case)."""

    available: Literal[False]
    reason: str


class Border(_BorderCommon):
    """The border-peak rate by outcome and by breakdown column, with the groups flagged."""

    available: Literal[True]
    overall: BorderGroup
    by_category: list[BorderGroup]  # the outcome categories present
    by: dict[str, list[BorderGroup]]
    columns_not_found: list[str]
    flagged: list[str]  # "column = level" of each flagged group
    cases_csv: str


class SimilaritySummary(Block):
    """Mean similarity of trained and randomised heatmaps over the images, with a bootstrap CI."""

    n: int
    n_not_estimable: int
    mean: Num
    ci_low: Num
    ci_high: Num
    ci_method: str | None = None  # absent when no image gave a finite similarity
    min: Num
    max: Num


class SanityStage(Block):
    """One randomisation stage: which layers were re-initialised, how similar the heatmaps stayed."""

    stage: int
    layers_randomised: int
    first_layer: str
    last_layer: str
    fraction_of_parameters: float
    target_layer_randomised: bool
    spearman: SimilaritySummary
    ssim: SimilaritySummary
    spearman_per_image: list[Num]
    ssim_per_image: list[Num]


class JudgedSimilarity(Block):
    spearman: Num
    ssim: Num


class SanityNotAvailable(Block):
    """The randomisation test did not run (disabled in the protocol, or no readable case)."""

    available: Literal[False]
    reason: str


class Sanity(Block):
    """The model-parameter randomisation test (Adebayo et al. 2018) and its flag."""

    available: Literal[True]
    method: str
    mode: str  # cascading or independent
    n_images: int
    n_parameterised_layers: int
    seed: int
    stages: list[SanityStage]
    judged_stage: int
    similarity_at_judged_stage: JudgedSimilarity
    flag_threshold: float
    flag_metric: str
    flagged: bool | None  # null: not estimable (constant heatmaps)
    rule: str
    interpretation: str
    case_ids: list[str]
    seconds: float
    figure: str  # example overlays, relative to the run directory
    figure_caption: str


def _shape(value: Any) -> str | None:
    """The union tag of a part: named after ``available``, so an error's key path reads
    ``explainability.(available: true).sanity.(available: true).flagged``."""
    flag = value.get("available") if isinstance(value, dict) else getattr(value, "available", None)
    return None if not isinstance(flag, bool) else f"(available: {str(flag).lower()})"


def _by_availability(ran: type[Block], not_available: type[Block]) -> Any:
    return Annotated[Annotated[ran, Tag("(available: true)")] | Annotated[not_available, Tag("(available: false)")],
                     Discriminator(_shape, custom_error_type="missing_available",
                                   custom_error_message="'available' must be true or false")]


LocalisationPart = _by_availability(Localisation, LocalisationNotAvailable)
BorderPart = _by_availability(Border, BorderNotAvailable)
SanityPart = _by_availability(Sanity, SanityNotAvailable)


class _ExplainabilityCommon(Block):
    method: str
    seed: int
    threshold: float
    options: ExplainabilityOptions


class ExplainabilityNotAvailable(_ExplainabilityCommon):
    """No heatmap could be computed (external predictions, a graph format with no layer to hook)."""

    available: Literal[False]
    reason: str


class ExplainabilityRun(_ExplainabilityCommon):
    """Heatmaps were computed: every part is present."""

    available: Literal[True]
    target_layer: str
    explained_output: str
    heatmap_grid: list[int]
    feature_grid: list[int]
    feature_cell_px: list[float]
    heatmaps: Heatmaps
    unreadable: list[UnreadableCase]
    gallery: Gallery
    localisation: LocalisationPart
    border: BorderPart | None = None  # absent in results written before the border analysis
    sanity: SanityPart


#: The ``explainability`` block: :class:`ExplainabilityRun` or :class:`ExplainabilityNotAvailable`.
Explainability = _by_availability(ExplainabilityRun, ExplainabilityNotAvailable)


__all__ = [
    "Border", "BorderGroup", "BorderNotAvailable", "Explainability", "ExplainabilityNotAvailable",
    "ExplainabilityRun", "Gallery", "GalleryCase", "GalleryCategory", "Heatmaps", "InvalidBox", "Localisation",
    "LocalisationEstimates", "LocalisationGroup", "LocalisationNotAvailable", "Sanity", "SanityNotAvailable",
    "SanityStage", "SimilaritySummary", "UnreadableCase",
]
