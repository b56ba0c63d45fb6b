"""The truthers' agreement (``reference_agreement``): :mod:`valkit.analyses.truther_agreement`."""
from __future__ import annotations

from typing import Literal

from valkit.results_schema.base import Block, Estimate, Num


class Kappa(Block):
    """One kappa (:class:`valkit.stats.agreement.Agreement`): the coefficient, percent agreement, chance."""

    kappa: Estimate
    percent_agreement: Estimate
    observed: Num
    expected: Num
    se: Num
    n_subjects: int
    n_raters: int
    categories: list[int]  # the labels seen: the truthers' 0/1 (truther columns must be binary)
    method: Literal["cohen", "fleiss"]


class PairKappa(Kappa):
    """Cohen's kappa of one pair of truthers (their manifest columns)."""

    truthers: list[str]


class TrutherPositives(Block):
    truther: str
    positive: int
    n: int


class ReferenceAgreement(Block):
    """``reference_agreement``: present when the protocol names two or more ``truther_columns``."""

    truther_columns: list[str]
    n_cases: int
    n_complete: int
    n_incomplete: int
    n_patients: int
    several_images_per_patient: bool
    positive_by_truther: list[TrutherPositives]
    confidence_level: float
    percent_agreement: Estimate
    fleiss: Kappa
    cohen: list[PairKappa]


__all__ = ["Kappa", "PairKappa", "ReferenceAgreement", "TrutherPositives"]
