"""The protocol's ``reader_study:`` block: an MRMC reader study analysed with the run.

Data only, like the rest of the protocol: frozen, unknown keys rejected, nothing executed.
Paths are relative to the protocol file. An example::

    reader_study:
      ratings: ../datasets/phantom/demo/reader_study/ratings.csv   # reader,case,modality,truth,rating
      fom: auc                    # auc | sensitivity | specificity
      threshold: 3                # rating >= threshold is a positive call (needed for sensitivity/specificity;
                                  #   with auc it adds sensitivity and specificity at that rating)
      covariance: jackknife       # jackknife | delong | unbiased
      test_modality: aided
      reference_modality: unaided
      hypothesis: non_inferiority # superiority | non_inferiority
      margin: 0.05                # FOM units; PASS when the CI lower bound of test - reference > -margin
      confidence_level: 0.95
      model_scores: run           # run (this run's predictions, by case_id) | none | path/to/scores.csv

The verdict is judged on the lower bound of the two-sided ``confidence_level`` RRRC interval
of test minus reference (Obuchowski-Rockette with Hillis's degrees of freedom): above
``-margin`` for non-inferiority, above 0 for superiority. It is a
secondary endpoint: reported in the executive summary, it does not change the exit code.

>>> opts = ReaderStudyOptions(ratings="r.csv")
>>> opts.fom, opts.hypothesis, opts.margin, opts.model_scores, opts.alpha
('auc', 'superiority', None, 'none', 0.05)
>>> ReaderStudyOptions(ratings="r.csv", model_scores="scores/model.csv").model_scores_path
PosixPath('scores/model.csv')
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from valkit.strict_model import StrictModel
from valkit.suggest import did_you_mean

__all__ = ["ReaderStudyOptions", "MODEL_SCORE_SOURCES"]

#: Keywords of ``model_scores`` (anything else is a path to a CSV with columns case, score).
MODEL_SCORE_SOURCES = ("run", "none")


class ReaderStudyOptions(StrictModel):
    """How the reader study is analysed and judged (see the module docstring for an example)."""

    ratings: Path = Field(description="CSV, one row per reader x case x modality: reader, case, modality, "
                                      "truth, rating (+ reading_time_s); relative to the protocol file.")
    fom: Literal["auc", "sensitivity", "specificity"] = "auc"
    threshold: float | None = Field(
        None, description="Rating threshold (positive call: rating >= threshold). Required for sensitivity "
                          "and specificity; with auc it adds sensitivity and specificity at this rating.")
    covariance: Literal["jackknife", "delong", "unbiased"] = "jackknife"
    test_modality: str = Field("aided", min_length=1)
    reference_modality: str = Field("unaided", min_length=1)
    hypothesis: Literal["superiority", "non_inferiority"] = "superiority"
    margin: float | None = Field(
        None, ge=0, lt=1, description="Non-inferiority margin in FOM units (> 0): PASS when the lower bound "
                                       "of test - reference > -margin. Not used for superiority (bound 0).")
    confidence_level: float = Field(0.95, gt=0.5, lt=1)
    model_scores: str = Field(
        "none", description="run: this run's predictions for the reader-study cases, matched by case_id; "
                            "none: no standalone comparison; otherwise a CSV path with columns case, score.")
    model_threshold: float | None = Field(
        None, description="Model operating point for sensitivity/specificity comparisons; default with "
                          "model_scores: run is the run's operating threshold.")
    design: Literal["auto", "factorial", "cases_nested_in_reader", "cases_nested_in_modality"] = "auto"
    washout_days: int | None = Field(None, ge=0, description="Washout between the two readings of a case.")
    description: str | None = Field(
        None, description="Readers (number, specialty, experience), reading order, randomisation, masking; "
                          "printed in the report's design paragraph.")

    @field_validator("ratings")
    @classmethod
    def _csv(cls, v: Path) -> Path:
        if v.suffix.lower() != ".csv":
            raise ValueError(f"expected a .csv file (reader, case, modality, truth, rating), found '{v}'")
        return v

    @field_validator("model_scores")
    @classmethod
    def _source(cls, v: str) -> str:
        v = v.strip()
        if v in MODEL_SCORE_SOURCES:
            return v
        if Path(v).suffix.lower() != ".csv":
            hint = did_you_mean(v, MODEL_SCORE_SOURCES, cutoff=0.5)
            raise ValueError(f"unknown value '{v}'.{hint} Valid: run, none, or a path to a .csv file with "
                             "columns case, score.")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "ReaderStudyOptions":
        if self.fom in ("sensitivity", "specificity") and self.threshold is None:
            raise ValueError(f"fom '{self.fom}' needs a rating threshold (a case is called positive when "
                             "rating >= threshold), e.g. threshold: 3")
        if self.fom != "auc" and self.covariance != "jackknife":
            raise ValueError(f"covariance '{self.covariance}' applies to the AUC only; use covariance: "
                             f"jackknife with fom '{self.fom}'")
        if self.hypothesis == "non_inferiority" and not self.margin:
            raise ValueError("hypothesis 'non_inferiority' needs a margin > 0 in FOM units, e.g. margin: 0.05")
        if self.hypothesis == "superiority" and self.margin:
            raise ValueError(f"margin {self.margin} is for hypothesis 'non_inferiority'; superiority is judged "
                             "against 0 (PASS when the lower bound of test - reference > 0): remove margin "
                             "or set hypothesis: non_inferiority")
        if self.test_modality == self.reference_modality:
            raise ValueError(f"test_modality and reference_modality must differ (both '{self.test_modality}')")
        if self.model_threshold is not None and self.fom == "auc" and self.threshold is None:
            raise ValueError("model_threshold is only used with a rating threshold (sensitivity/specificity)")
        return self

    @property
    def alpha(self) -> float:
        return round(1.0 - self.confidence_level, 12)

    @property
    def model_scores_path(self) -> Path | None:
        """The scores file when ``model_scores`` is a path (relative to the protocol), else None."""
        return None if self.model_scores in MODEL_SCORE_SOURCES else Path(self.model_scores)

    def paths(self) -> list[tuple[tuple, Path]]:
        """(key path, file) pairs a protocol check should find on disk."""
        out: list[tuple[tuple, Path]] = [(("reader_study", "ratings"), self.ratings)]
        if self.model_scores_path is not None:
            out.append((("reader_study", "model_scores"), self.model_scores_path))
        return out
