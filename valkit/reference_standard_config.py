"""The protocol's ``reference_standard:`` block: where the truth comes from and how it was made.

``kind`` says whether the comparator is a true reference standard (the truth, or the best
available method of finding it) or another test; in the second case the report names
sensitivity and specificity "positive/negative percent agreement" (FDA 2007 statistical guidance on
diagnostic tests, sec. 7). ``is_true_reference_standard`` is the older spelling of the same
choice, still read; when both are given they must agree.

The truthing process (``truthers``, ``adjudication``) is printed in the report as written; with
``truther_columns`` (manifest columns, one per truther, each a 0/1 label) the run computes the
truthers' agreement (Cohen's kappa for two, Fleiss' kappa for two or more;
:mod:`valkit.analyses.truther_agreement`).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from valkit.strict_model import StrictModel

KINDS = ("reference_standard", "comparator")


class Truthers(StrictModel):
    """Who established the reference standard: how many, and their qualifications."""

    number: int = Field(ge=1, description="How many truthers (readers) labelled each case.")
    qualifications: str = Field(min_length=1, description="e.g. 'board-certified thoracic radiologists, "
                                                          "10 or more years' experience'")


class ReferenceStandard(StrictModel):
    column: str = "label"
    description: str = Field(min_length=1)
    kind: Literal["reference_standard", "comparator"] | None = Field(
        None, description="reference_standard (default) or comparator: a comparator that is not a reference "
                          "standard is reported as positive/negative percent agreement (PPA/NPA).")
    is_true_reference_standard: bool | None = Field(
        None, description="Older spelling of kind (True: reference_standard, False: comparator).")
    truthers: Truthers | None = None
    adjudication: str | None = Field(
        None, min_length=1, description="How disagreements between truthers were resolved, e.g. 'majority of "
                                        "three; ties by a fourth, senior reader'.")
    truther_columns: list[str] = Field(
        default_factory=list, description="Manifest columns, one per truther, each the truther's own 0/1 label "
                                          "(before adjudication); two or more give agreement statistics.")
    indeterminate: list[str] = Field(
        default_factory=list, description="Values of the reference column meaning equivocal/indeterminate "
        "(e.g. [indeterminate, 9]): left out of the primary analysis, reported counted as positive and as negative.")

    @field_validator("indeterminate", mode="before")
    @classmethod
    def _indeterminate_values(cls, v: Any) -> Any:
        values = [str(x) for x in v] if isinstance(v, list) else v
        if isinstance(values, list) and {"0", "1"} & set(values):
            raise ValueError("indeterminate: 0 and 1 are the reference standard's negative and positive values; "
                             "list only the other values that mean equivocal/indeterminate (e.g. [indeterminate, 9])")
        return values

    @model_validator(mode="after")
    def _one_kind(self) -> "ReferenceStandard":
        from_flag = None if self.is_true_reference_standard is None else (
            "reference_standard" if self.is_true_reference_standard else "comparator")
        if self.kind is not None and from_flag is not None and self.kind != from_flag:
            raise ValueError(f"kind '{self.kind}' contradicts is_true_reference_standard: "
                             f"{self.is_true_reference_standard}. Keep kind only (is_true_reference_standard is its "
                             "older spelling).")
        kind = self.kind or from_flag or "reference_standard"
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "is_true_reference_standard", kind == "reference_standard")
        if len(self.truther_columns) == 1:
            raise ValueError(f"truther_columns: one column ('{self.truther_columns[0]}') gives no agreement to "
                             "measure. List every truther's column (two or more), or leave the key out.")
        dup = sorted({c for c in self.truther_columns if self.truther_columns.count(c) > 1})
        if dup:
            raise ValueError(f"truther_columns: repeated column(s) {', '.join(dup)}. List each truther's column once.")
        if self.column in self.truther_columns:
            raise ValueError(f"truther_columns: '{self.column}' is the reference standard column itself. List the "
                             "truthers' own labels, before adjudication.")
        if self.truthers is not None and self.truther_columns and self.truthers.number != len(self.truther_columns):
            raise ValueError(f"truthers.number is {self.truthers.number} but truther_columns lists "
                             f"{len(self.truther_columns)} column(s). Give one column per truther.")
        return self

    @property
    def is_comparator(self) -> bool:
        """True when the comparator is not a reference standard (report says PPA/NPA)."""
        return self.kind == "comparator"


__all__ = ["KINDS", "ReferenceStandard", "Truthers"]
