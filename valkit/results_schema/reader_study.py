"""``reader_study``: the MRMC analysis (Obuchowski-Rockette, DBM) of a reader study, and its endpoint.

Built by :func:`valkit.reader_study.run.reader_study_section` from
:meth:`valkit.reader_study.ReaderStudyResult.to_dict`. Typed here: the top level, the endpoint
the gate reads, the inputs and the protocol echo; the analysis tables (``tests``, ``dbm``,
``roc``, ``model``, ``comparison``, ``binary``, ...) are not yet modelled.
"""
from __future__ import annotations

from typing import Any, Literal

from valkit.results_schema.base import Block, Estimate, Interval, Num, TestResult, Untyped


class ReaderDifference(Block):
    estimate: Num
    se: Num
    df: Num
    statistic: Num
    p_value: Num
    interval: Interval


class ReaderStudyEndpoint(Block):
    """The reader study's verdict: PASS when the lower bound of test - reference clears the bound."""

    id: str
    primary: bool
    fom: str
    hypothesis: str
    test: str
    reference: str
    margin: float
    bound: float
    confidence_level: float
    difference: ReaderDifference
    p_one_sided: Num
    h0: str
    h1: str
    judged_on: str
    conclusion: str
    verdict: Literal["PASS", "FAIL", "NOT ESTIMABLE"]
    n_readers: int
    n_cases: int


class ReaderStudyInputs(Block):
    ratings: str
    ratings_sha256: str
    model_scores: str
    model_scores_from: str
    model_scores_sha256: str | None = None  # scores read from a file
    model_threshold: Num


class ReaderStudyProtocolEcho(Block):
    hypothesis: str
    margin: float
    confidence_level: float
    threshold: Num
    washout_days: int | None
    description: str | None
    test_modality: str
    reference_modality: str


class ReaderStudy(Block):
    fom: str
    estimates: dict[str, Estimate]  # by modality
    differences: list[TestResult]
    settings: Untyped
    design: str
    covariance: str
    modalities: list[str]
    readers: list[str]
    n_cases: int
    n_positive: int
    n_negative: int
    per_reader: list[dict[str, Any]]  # reader, then one FOM per modality
    variance_components: dict[str, Num]
    anova: dict[str, Num]
    tests: dict[str, Untyped | None]  # RRRC, FRRC, RRFC
    dbm: Untyped | None
    roc: Untyped | None
    model: Untyped | None
    comparison: Untyped | None
    reading_time: Untyped | None
    warnings: list[str]
    flat: dict[str, Any]  # the flat key -> value export (same keys as the R reference output)
    endpoint: ReaderStudyEndpoint
    inputs: ReaderStudyInputs
    protocol: ReaderStudyProtocolEcho
    binary: Untyped | None  # sensitivity / specificity at the threshold, when one is given


__all__ = ["ReaderDifference", "ReaderStudy", "ReaderStudyEndpoint", "ReaderStudyInputs", "ReaderStudyProtocolEcho"]
