"""``reader_study``: the MRMC analysis (Obuchowski-Rockette, DBM) of a reader study, and its endpoint.

Built by :func:`valkit.reader_study.run.reader_study_section` from
:meth:`valkit.reader_study.ReaderStudyResult.to_dict` (the analysis tables) plus the endpoint, the
inputs, the protocol echo and the binary (sensitivity / specificity) analyses. Every part is typed.

Two maps carry modality or reader labels as keys next to declared fields, the way the analysis
writes them: ``roc`` (one entry per modality, plus ``model``) and each ``per_reader`` row (``reader``,
plus one FOM per modality). Their label keys are typed too (:class:`ReaderStudyModalityRoc`, a
number), so a misspelt declared key still fails validation.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from valkit.results_schema.base import Block, Count, Estimate, Interval, Num, TestResult


class ReaderDifference(Block):
    """A modality difference (Obuchowski-Rockette) with its test: the endpoint's ``test - reference``."""

    estimate: Num
    se: Num
    df: Count  # null for the normal (FRRC) reference distribution (df infinite)
    statistic: Num
    p_value: Num
    interval: Interval


class ReaderStudyPairDifference(ReaderDifference):
    """A difference of the analysis tables, labelled (``"aided - unaided"``, ``"model - aided"``)."""

    comparison: str | None


class ReaderStudyModalityCI(Block):
    """One modality's reader-averaged FOM with its interval under one analysis (RRRC, FRRC, RRFC)."""

    modality: str
    estimate: Num
    se: Num
    df: Count
    interval: Interval


class ReaderStudyReaderDifference(Block):
    """One reader's modality difference (fixed reader; FRRC)."""

    reader: str
    comparison: str
    estimate: Num
    se: Num
    p_value: Num
    interval: Interval


class ReaderStudyORTest(Block):
    """One Obuchowski-Rockette analysis: the global test of equal modalities, differences, intervals."""

    statistic: Num  # F for RRRC / RRFC, chi-square for FRRC; null with one modality
    df1: Count
    df2: Count  # null (infinite) for FRRC
    p_value: Num
    denominator: Num
    differences: list[ReaderStudyPairDifference]
    modalities: list[ReaderStudyModalityCI]
    readers: list[ReaderStudyReaderDifference]  # FRRC only; empty for RRRC and RRFC


class ReaderStudyTests(Block):
    """The three generalisations: random readers and cases, fixed readers, fixed cases."""

    RRRC: ReaderStudyORTest | None
    FRRC: ReaderStudyORTest | None
    RRFC: ReaderStudyORTest | None


class ReaderStudyDBMTerms(Block):
    """Mean squares of the DBM pseudovalue ANOVA, by term (T modality, R reader, C case)."""

    T: Num
    R: Num
    C: Num
    TR: Num
    TC: Num
    RC: Num
    TRC: Num


class ReaderStudyDBMDf(Block):
    """Degrees of freedom of the DBM pseudovalue ANOVA, by term."""

    T: int
    R: int
    C: int
    TR: int
    TC: int
    RC: int
    TRC: int


class ReaderStudyDBMComponents(Block):
    """DBM variance components."""

    var_R: Num
    var_C: Num
    var_TR: Num
    var_TC: Num
    var_RC: Num
    var_TRC_error: Num


class ReaderStudyDBMTest(Block):
    F: Num
    ddf: Count
    p_value: Num


class ReaderStudyDBM(Block):
    """The Dorfman-Berbaum-Metz analysis of jackknife pseudovalues."""

    MS: ReaderStudyDBMTerms
    df: ReaderStudyDBMDf
    components: ReaderStudyDBMComponents
    RRRC: ReaderStudyDBMTest
    FRRC: ReaderStudyDBMTest
    RRFC: ReaderStudyDBMTest


class ReaderStudyRocCurve(Block):
    """Empirical ROC points (:class:`valkit.stats.mrmc.roc.RocCurve`)."""

    fpr: list[Num]
    tpr: list[Num]


class ReaderStudyModalityRoc(Block):
    """One modality: each reader's curve (by reader label) and their vertical average."""

    readers: dict[str, ReaderStudyRocCurve]
    mean: ReaderStudyRocCurve


class ReaderStudyRoc(Block):
    """ROC points for the figures: one :class:`ReaderStudyModalityRoc` per modality label, and the model's.

    The modality labels are the keys, as the analysis writes them; each is validated as a
    :class:`ReaderStudyModalityRoc` (read them with :attr:`by_modality`).
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, ReaderStudyModalityRoc] = Field(init=False)

    model: ReaderStudyRocCurve | None = None  # absent without model scores

    @property
    def by_modality(self) -> dict[str, ReaderStudyModalityRoc]:
        """The curves of each modality, by modality label."""
        return dict(self.__pydantic_extra__ or {})


class ReaderStudyPerReaderRow(Block):
    """One reader's FOM in each modality: ``reader``, then one number per modality label."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Num] = Field(init=False)

    reader: str

    def fom(self, modality: str) -> Num:
        """The reader's FOM in ``modality`` (every modality has one: :class:`ReaderStudy` checks it)."""
        return (self.__pydantic_extra__ or {})[modality]


class ReaderStudyModelVsReaders(Block):
    """The model's standalone FOM against the readers' average in one modality."""

    modality: str
    readers_fom: Num
    RRRC: ReaderStudyPairDifference
    FRRC: ReaderStudyPairDifference
    RRFC: ReaderStudyPairDifference


class ReaderStudyModel(Block):
    """The model standalone on the reader-study cases, compared with the readers."""

    fom: str
    value: Num
    vs_readers: list[ReaderStudyModelVsReaders]


class ReaderStudyComparison(Block):
    """Test against reference modality, judged against the non-inferiority margin (RRRC)."""

    test: str
    reference: str
    difference: ReaderStudyPairDifference
    margin: float
    p_noninferiority: Num
    superior: bool
    noninferior: bool
    verdict: Literal["superior", "non-inferior", "non-inferiority not shown"]


class ReaderStudyReadingTime(Block):
    """Reading time of one modality, in seconds."""

    mean_s: Num
    median_s: Num
    per_reader_mean_s: dict[str, Num]  # by reader label


class ReaderStudySettings(Block):
    """The analysis settings as run (:func:`valkit.reader_study.analyze_reader_study`)."""

    fom: str
    threshold: Num  # the rating threshold of a binary FOM; null for AUC without one
    covariance: str
    alpha: float
    design: str
    frrc_truncate: bool
    ddf: str
    binormal_fit: str
    margin: Num
    model_threshold: Num
    source: str


class ReaderStudyVarianceComponents(Block):
    """Obuchowski-Rockette variance and covariance components."""

    var_R: Num
    var_TR: Num
    var_error: Num
    cov1: Num
    cov2: Num
    cov3: Num


class ReaderStudyAnova(Block):
    """Mean squares of the modality x reader ANOVA of the FOMs."""

    MS_T: Num
    MS_R: Num
    MS_TR: Num


class ReaderStudyBinaryAnalysis(Block):
    """A sensitivity or specificity analysis at the rating threshold (the printed parts only)."""

    fom: str
    estimates: dict[str, Estimate]  # by modality
    differences: list[TestResult]
    per_reader: list[ReaderStudyPerReaderRow]
    model: ReaderStudyModel | None
    comparison: ReaderStudyComparison | None
    n_positive: int
    n_negative: int
    settings: ReaderStudySettings
    warnings: list[str]


class ReaderStudyBinary(Block):
    """Sensitivity and specificity per modality at the protocol's rating threshold."""

    threshold: float
    model_threshold: Num  # the model's operating point; null without model scores
    sensitivity: ReaderStudyBinaryAnalysis
    specificity: ReaderStudyBinaryAnalysis


class ReaderStudyEndpoint(Block):
    """The reader study's verdict: PASS when the lower bound of test - reference clears the bound."""

    id: str
    primary: bool
    fom: str
    hypothesis: str
    test: str
    reference: str
    margin: float | None  # null for superiority (judged against 0)
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
    margin: float | None  # null for superiority
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
    settings: ReaderStudySettings
    design: str
    covariance: str
    modalities: list[str]
    readers: list[str]
    n_cases: int
    n_positive: int
    n_negative: int
    per_reader: list[ReaderStudyPerReaderRow]
    variance_components: ReaderStudyVarianceComponents
    anova: ReaderStudyAnova
    tests: ReaderStudyTests
    dbm: ReaderStudyDBM | None  # null unless fully crossed with two or more modalities
    roc: ReaderStudyRoc
    model: ReaderStudyModel | None  # null without model scores
    comparison: ReaderStudyComparison | None  # null without test and reference modalities
    reading_time: dict[str, ReaderStudyReadingTime] | None  # by modality; null without reading times
    warnings: list[str]
    flat: dict[str, Any]  # the flat key -> value export (same keys as the R reference output)
    endpoint: ReaderStudyEndpoint
    inputs: ReaderStudyInputs
    protocol: ReaderStudyProtocolEcho
    binary: ReaderStudyBinary | None  # sensitivity / specificity at the threshold, when one is given

    @model_validator(mode="after")
    def _every_modality(self) -> "ReaderStudy":
        """Each table indexed by modality has every modality of the study (the report prints one row each)."""
        mods = list(self.modalities)
        tables: list[tuple[str, Any]] = [("estimates", self.estimates)]
        tables += [(f"per_reader[{i}] (reader {row.reader})", row.model_extra or {})
                   for i, row in enumerate(self.per_reader)]
        if self.model is not None:
            tables.append(("model.vs_readers", {v.modality for v in self.model.vs_readers}))
        if self.binary is not None:
            for fom in ("sensitivity", "specificity"):
                b = getattr(self.binary, fom)
                tables.append((f"binary.{fom}.estimates", b.estimates))
                tables += [(f"binary.{fom}.per_reader[{i}] (reader {row.reader})", row.model_extra or {})
                           for i, row in enumerate(b.per_reader)]
        for where, keys in tables:
            missing = [m for m in mods if m not in keys]
            if missing:
                raise ValueError(
                    f"{where}: no entry for modality {', '.join(repr(m) for m in missing)}; the study's modalities "
                    f"are {', '.join(mods)} and each needs one.")
        return self


__all__ = [
    "ReaderDifference", "ReaderStudy", "ReaderStudyAnova", "ReaderStudyBinary", "ReaderStudyBinaryAnalysis",
    "ReaderStudyComparison", "ReaderStudyDBM", "ReaderStudyDBMComponents", "ReaderStudyDBMDf",
    "ReaderStudyDBMTerms", "ReaderStudyDBMTest", "ReaderStudyEndpoint", "ReaderStudyInputs",
    "ReaderStudyModalityCI", "ReaderStudyModalityRoc", "ReaderStudyModel", "ReaderStudyModelVsReaders",
    "ReaderStudyORTest", "ReaderStudyPairDifference", "ReaderStudyPerReaderRow", "ReaderStudyProtocolEcho",
    "ReaderStudyReaderDifference", "ReaderStudyReadingTime", "ReaderStudyRoc", "ReaderStudyRocCurve",
    "ReaderStudySettings", "ReaderStudyTests", "ReaderStudyVarianceComponents",
]
