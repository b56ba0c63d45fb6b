"""What :func:`valkit.analyses.analyse` returns: every block it computes, validated where it is made.

:class:`StudyAnalyses` holds the blocks of results.json that are a function of the study table
joined with its predictions (the determinism check recomputes them, :mod:`valkit.audit.determinism`).
Each field is typed with the block's own model (the same as :class:`~valkit.results_schema.document.Results`),
so a misspelt key is an error inside ``analyse()``, named by its key path, before any file is written.
"""
from __future__ import annotations

from valkit.results_schema.accuracy import (
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
from valkit.results_schema.data import Data
from valkit.results_schema.fairness import Fairness
from valkit.results_schema.reference import ReferenceAgreement
from valkit.results_schema.sample_size import SampleSize
from valkit.results_schema.secondary import IndeterminateBothWays, Secondary
from valkit.results_schema.sites import SitesAndScanners
from valkit.results_schema.subgroups import Subgroups


class StudyAnalyses(Block):
    """The analysis blocks of one run, each under its results.json key, in the order results.json lists them.

    ``None`` where the block is ``null`` in results.json: calibration of scores that are not
    probabilities, no indeterminate reference values, no truther columns, no secondary block.
    """

    data: Data
    operating_point: OperatingPoint
    primary: Primary
    failures_counted_as_errors: FailuresCountedAsErrors | None
    secondary: Secondary | None
    indeterminate_counted_both_ways: IndeterminateBothWays | None
    calibration: Calibration | None
    endpoints: list[Endpoint]
    sample_size: SampleSize | None
    by_site: list[LevelAccuracy]
    by_manufacturer: list[LevelAccuracy]
    subgroups: Subgroups
    fairness: Fairness
    sites_and_scanners: SitesAndScanners
    reference_agreement: ReferenceAgreement | None
    methods: Methods
    deviations: list[Deviation]


__all__ = ["StudyAnalyses"]
