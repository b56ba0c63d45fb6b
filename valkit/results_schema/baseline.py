"""``baseline``: the new model version against the cleared one on the same cases.

Built by :func:`valkit.analyses.baseline.compare_with_baseline` when the protocol has a
``baseline:`` block (docs/model-versions.md); absent otherwise.
"""
from __future__ import annotations

from typing import Literal

from valkit.results_schema.base import Block, Estimate, Num, TestResult

NIVerdict = Literal["PASS", "FAIL", "INSUFFICIENT EVIDENCE", "NOT ESTIMABLE"]


class BaselineVersion(Block):
    """Which earlier version, from where, at which threshold."""

    label: str
    source: Literal["run", "files", "model"]
    path: str
    threshold: float
    threshold_source: str
    model_name: str | None
    model_version: str | None
    model_sha256: str | None
    predictions_sha256: str | None
    protocol_sha256: str | None
    verdict: str | None


class Matching(Block):
    """How the cases of the two runs were paired (same case_id and same image digest)."""

    current_analysed: int
    baseline_scored: int
    paired: int
    not_in_baseline: int
    failed_in_baseline: int
    image_differs: int
    image_differs_cases: list[str]
    not_in_baseline_cases: list[str]
    digest_unverified: int
    baseline_only: int
    reference_standard: str


Difference = Estimate  # N - (N-1) with its interval: an Estimate dict (valkit.stats.types.Estimate.to_dict)


class NonInferiorityTest(Block):
    margin: float
    statistic: Num
    p_value: Num
    method: str
    bound: Num
    verdict: NIVerdict
    finding: str


class Discordant(Block):
    current_only: int  # only the new version right
    baseline_only: int  # only the earlier version right


class Comparison(Block):
    """One metric compared on paired cases."""

    metric: Literal["sensitivity", "specificity", "auc"]
    n: int
    evidence_units: int
    clustered: bool
    sufficient_evidence: bool
    baseline: Estimate
    current: Estimate
    difference: Difference
    discordant: Discordant | None
    design_effect: float | None = None  # proportions: Rao-Scott design effect of the paired difference (1: none)
    test: TestResult
    non_inferiority: NonInferiorityTest | None


class ComparisonCell(Block):
    level: str
    levels: dict[str, str]
    n: int
    n_positive: int
    n_negative: int
    gating: bool
    comparisons: dict[str, Comparison]


class ComparisonFamily(Block):
    name: str
    columns: list[str]
    prespecified: bool
    cells: list[ComparisonCell]


class NIComponent(Block):
    where: str
    family: str | None
    level: str | None
    verdict: NIVerdict
    finding: str
    difference: Num
    bound: Num


class NICriterion(Block):
    metric: str
    verdict: Literal["PASS", "FAIL", "INSUFFICIENT EVIDENCE"]
    n_components: int
    n_passed: int
    not_passed: list[NIComponent]


class NonInferiority(Block):
    margin: float
    metrics: list[str]
    subgroups: Literal["prespecified", "none"]
    statement: str
    multiplicity: str
    criteria: list[NICriterion]
    verdict: Literal["PASS", "FAIL", "INSUFFICIENT EVIDENCE"]


class FlipCounts(Block):
    n: int
    changed: int
    became_correct: int
    became_wrong: int
    to_positive: int
    to_negative: int


class FlipCell(FlipCounts):
    family: str
    level: str
    prespecified: bool


class FlipCase(Block):
    case_id: str
    patient_id: str
    label: int
    score_baseline: Num
    score_current: Num
    call_baseline: int
    call_current: int
    change: Literal["became correct", "became wrong"]


class Flips(FlipCounts):
    threshold_baseline: float
    threshold_current: float
    by_subgroup: list[FlipCell]
    file: str
    listed: int
    cases: list[FlipCase]


class PSI(Block):
    value: Num
    edges: list[float]
    reference: list[float]
    current: list[float]
    n_reference: int
    n_current: int
    band: str
    method: str
    warnings: list[str] = []


class Drift(Block):
    n: int
    mean_baseline: Num
    mean_current: Num
    psi: PSI
    ks: TestResult
    note: str


class Baseline(Block):
    """``baseline``: version identity, matching, paired comparisons, subgroups, criterion, flips, drift."""

    version: BaselineVersion
    current_threshold: float
    interval: Literal["newcombe", "tango"]
    confidence_level: float
    matching: Matching
    overall: dict[str, Comparison]
    subgroups: list[ComparisonFamily]
    non_inferiority: NonInferiority | None
    flips: Flips
    drift: Drift


__all__ = ["Baseline", "Comparison", "NonInferiority"]
