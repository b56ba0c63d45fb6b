"""``data``: the flow of cases (STARD), Table 1, acquisition, clustering, external-score accounting.

Built by :mod:`valkit.analyses.data_summary` and :meth:`valkit.external_scores.ExternalScores.accounting`.
"""
from __future__ import annotations

from typing import Literal

from valkit.results_schema.base import Block


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


class Table1Row(Block):
    level: str
    n: int
    positive: int
    negative: int


class Table1Column(Block):
    rows: list[Table1Row]
    missing: int


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


class Data(Block):
    """``data``. ``table1`` has one entry per recorded characteristic (site, manufacturer, sex, ...);
    ``external_scores`` only for external predictions."""

    flow: CaseFlow
    table1: dict[str, Table1Column]
    acquisition: list[AcquisitionRow]
    clustering: Clustering
    accountability: list[Accountability] | None = None  # runs before issue #14 lack it
    external_scores: ExternalScores | None = None


__all__ = ["Accountability", "AccountabilityReason", "AcquisitionRow", "CaseFlow", "Clustering", "Data", "ExternalScores", "ReasonCount", "Table1Column",
           "Table1Row"]
