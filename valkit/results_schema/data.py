"""``data``: the flow of cases (STARD), Table 1, acquisition, clustering, external-score accounting.

Built by :mod:`valkit.analyses.data_summary` and :meth:`valkit.external_scores.ExternalScores.accounting`.
"""
from __future__ import annotations

from typing import Literal

from valkit.results_schema.base import Block
from valkit.results_schema.subgroups import MissingDemographics


class ReasonCount(Block):
    reason: str
    n: int


class CaseFlow(Block):
    """Every manifest row: analysed, excluded (outside the card's ``accepts``) or failed, with reasons."""

    in_manifest: int
    excluded: int
    excluded_positive: int
    excluded_negative: int
    exclusion_reasons: list[ReasonCount]
    analysed: int
    failed: int
    failed_positive: int
    failed_negative: int
    failure_reasons: list[ReasonCount]
    indeterminate_reference: int | None = None  # scored, reference indeterminate (issue #15)


class Table1Row(Block):
    """One level: images (``n``, ``positive``, ``negative``) and, when the data name patients,
    distinct patients (a patient with images at two levels counts at both)."""

    level: str
    n: int
    positive: int
    negative: int
    patients: int | None = None
    positive_patients: int | None = None
    negative_patients: int | None = None


class Table1Column(Block):
    rows: list[Table1Row]
    missing: int


class Table1Totals(Block):
    """Every manifest row: images, and distinct patients when the data name them (else ``None``)."""

    n: int
    positive: int
    negative: int
    patients: int | None
    positive_patients: int | None
    negative_patients: int | None


class AcquisitionDates(Block):
    """First and last acquisition date (ISO) among the rows that record one (manifest ``acquisition_date``)."""

    first: str
    last: str
    n_recorded: int
    n: int


class SiteRow(Block):
    """One site: its country (protocol ``sites``; ``None`` when not given), images, patients, dates."""

    site: str
    country: str | None
    images: int
    patients: int | None
    first_date: str | None
    last_date: str | None


class AcquisitionRow(Block):
    """Per manufacturer and model: image count and the header values seen (up to four each)."""

    manufacturer: str
    model: str
    n: int
    photometric: str | None = None
    transfer_syntax: str | None = None
    bits_stored: str | None = None
    pixel_spacing_mm: str | None = None
    kvp: str | None = None
    rows: str | None = None


class Clustering(Block):
    n_patients: int
    n_images: int
    images_per_patient: dict[str, int]  # "images per patient" -> number of patients
    clustered: bool


class ExternalScores(Block):
    """Every row of a vendor's scores file accounted for, matched or not."""

    path: str
    rows_in_file: int
    matched: int
    not_in_manifest: int
    not_in_manifest_examples: list[str]
    score_range: list[float]


class AccountabilityReason(Block):
    status: Literal["excluded", "failed"]
    reason: str
    n: int


class Accountability(Block):
    """One manifest's rows (``dataset``: its index in the protocol's ``datasets``): analysed,
    excluded, failed, with the reasons (:func:`valkit.analyses.data_summary.accountability`)."""

    dataset: str
    rows: int
    analysed: int
    excluded: int
    failed: int
    reasons: list[AccountabilityReason]
    indeterminate: int | None = None  # scored, reference indeterminate (issue #15)


class Data(Block):
    """``data``. ``table1`` has one entry per recorded characteristic (site, manufacturer, sex, ...);
    ``external_scores`` only for external predictions."""

    flow: CaseFlow
    table1: dict[str, Table1Column]
    acquisition: list[AcquisitionRow]
    clustering: Clustering
    accountability: list[Accountability] | None = None  # runs before issue #14 lack it
    external_scores: ExternalScores | None = None
    # issue #15; absent in runs written before it
    table1_totals: Table1Totals | None = None
    acquisition_dates: AcquisitionDates | None = None  # None: no row records a date
    sites: list[SiteRow] | None = None
    missing_demographics: MissingDemographics | None = None  # analysed cases, demographic columns


__all__ = ["Accountability", "AccountabilityReason", "AcquisitionDates", "AcquisitionRow", "SiteRow", "Table1Totals", "CaseFlow", "Clustering", "Data", "ExternalScores", "ReasonCount", "Table1Column",
           "Table1Row"]
