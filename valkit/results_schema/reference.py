"""The truthers' agreement (``reference_agreement``): :mod:`valkit.analyses.truther_agreement`."""
from __future__ import annotations

from typing import Literal

from valkit.results_schema.base import Block, Estimate, Num


class Kappa(Block):
    """One kappa (:class:`valkit.stats.agreement.Agreement`): the coefficient, percent agreement, chance.

    With a patient-clustered bootstrap interval (``kappa.interval.method`` is
    ``cluster_bootstrap_percentile``), ``se`` is the bootstrap standard deviation and the last three
    fields count the patients, the resamples and those on which kappa was undefined; ``None`` with
    Wald's interval (and absent in runs before the clustered interval existed).
    """

    kappa: Estimate
    percent_agreement: Estimate
    observed: Num
    expected: Num
    se: Num
    n_subjects: int
    n_raters: int
    categories: list[int]  # the labels seen: the truthers' 0/1 (truther columns must be binary)
    method: Literal["cohen", "fleiss"]
    n_clusters: int | None = None
    n_resamples: int | None = None
    n_undefined_resamples: int | None = None


class PairKappa(Kappa):
    """Cohen's kappa of one pair of truthers (their manifest columns)."""

    truthers: list[str]


class TrutherPositives(Block):
    truther: str
    positive: int
    n: int


class ReferenceAgreement(Block):
    """``reference_agreement``: present when the protocol names two or more ``truther_columns``.

    ``clustered``: the kappas have patient-clustered bootstrap intervals (the protocol's
    ``analysis.clustering`` rule, ``clustering_rule``, applied to these cases); otherwise Wald's,
    which treat images as independent. Runs before this existed lack both: their intervals are Wald's.
    """

    truther_columns: list[str]
    n_cases: int
    n_complete: int
    n_incomplete: int
    n_patients: int
    several_images_per_patient: bool
    clustering_rule: Literal["auto", "patient", "none"] | None = None  # absent in older runs
    clustered: bool = False  # absent in older runs, whose kappa intervals were all Wald's
    positive_by_truther: list[TrutherPositives]
    confidence_level: float
    percent_agreement: Estimate
    fleiss: Kappa
    cohen: list[PairKappa]


__all__ = ["Kappa", "PairKappa", "ReferenceAgreement", "TrutherPositives"]
