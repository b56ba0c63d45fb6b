"""The whole of results.json: :class:`Results`, one field per block, each block modelled in the
module of its noun.

A block every run writes is required (``calibration`` may be ``null``: scores that are not
probabilities); an optional section (``reader_study``, ``latency``, ``explainability``) is
absent unless its protocol block asked for it.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from valkit.results_schema.accuracy import (
    Acceptance,
    Calibration,
    Deviation,
    Endpoint,
    FailuresCountedAsErrors,
    LevelAccuracy,
    Methods,
    OperatingPoint,
    Primary,
)
from valkit.results_schema.base import Block
from valkit.results_schema.baseline import Baseline
from valkit.results_schema.data import Data
from valkit.results_schema.explainability import Explainability
from valkit.results_schema.fairness import Fairness
from valkit.results_schema.latency import Latency
from valkit.results_schema.reader_study import ReaderStudy
from valkit.results_schema.sample_size import SampleSize
from valkit.results_schema.reference import ReferenceAgreement
from valkit.results_schema.run_info import (
    ExternalPredictionsModel,
    Inference,
    ModelCardModel,
    PerCaseListing,
    ProtocolEcho,
    Provenance,
    ToolValidation,
)
from valkit.results_schema.secondary import IndeterminateBothWays, Secondary
from valkit.results_schema.sites import SitesAndScanners
from valkit.results_schema.subgroups import Subgroups
from valkit.results_schema.traceability import Integrity, Traceability

#: ``model``: one model per kind of model under test, told apart by ``kind``.
ModelBlock = Annotated[ModelCardModel | ExternalPredictionsModel, Field(discriminator="kind")]


class Results(Block):
    """results.json: the archivable truth of a run and the renderer's single input."""

    schema_version: Literal[1]
    protocol: ProtocolEcho
    model: ModelBlock
    inference: Inference
    data: Data
    operating_point: OperatingPoint
    primary: Primary
    failures_counted_as_errors: FailuresCountedAsErrors | None = None  # always written; the report copes without
    secondary: Secondary | None = None  # issue #15: the protocol's secondary block
    indeterminate_counted_both_ways: IndeterminateBothWays | None = None  # issue #15: reference indeterminate values
    calibration: Calibration | None
    endpoints: list[Endpoint]
    sample_size: SampleSize | None = None  # issue #15; absent in older runs
    by_site: list[LevelAccuracy]
    by_manufacturer: list[LevelAccuracy]
    # every run writes these three; the report omits their sections when they are absent
    subgroups: Subgroups | None = None
    fairness: Fairness | None = None
    sites_and_scanners: SitesAndScanners | None = None
    reference_agreement: ReferenceAgreement | None = None  # truthers' kappa (reference_standard.truther_columns)
    methods: Methods
    deviations: list[Deviation]
    reader_study: ReaderStudy | None = None
    latency: Latency | None = None
    explainability: Explainability | None = None
    baseline: Baseline | None = None  # the protocol's baseline: block (docs/model-versions.md)
    tool_validation: ToolValidation
    provenance: Provenance
    # issue #14; absent in runs written before it (the report then omits what it cannot show)
    traceability: Traceability | None = None
    integrity: Integrity | None = None
    acceptance: Acceptance
    verdict: Literal["PASS", "FAIL", "NO GOALS"]
    per_case_listing: PerCaseListing


__all__ = ["ModelBlock", "Results"]
