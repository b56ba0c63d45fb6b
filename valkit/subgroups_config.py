"""The protocol's ``subgroups:`` block: subgroup families, the evidence rule, fairness criteria and the
site/scanner heterogeneity options (part of :class:`valkit.protocol.Protocol`; docs/subgroups.md)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from valkit.strict_model import StrictModel
from valkit.suggest import did_you_mean


def _family_name(family: str | list[str]) -> str:
    """'sex' or 'sex x age_band': how a family is named in errors and in results.json."""
    return family if isinstance(family, str) else " x ".join(family)


class FairnessCriterion(StrictModel):
    """An acceptance criterion on the gaps between groups, judged pair by pair on confidence intervals.

    Differences (``*_difference``) take ``max``, ratios (``*_ratio``) take ``min``. FAIL when some
    pair of groups meeting the evidence rule has its Bonferroni interval wholly beyond the limit;
    PASS when every such pair's 95% interval lies within it (±max; min to 1/min) and no compared
    group is below the evidence rule; otherwise INSUFFICIENT EVIDENCE (docs/subgroups.md).
    """

    metric: Literal[
        "tpr_difference", "tpr_ratio", "fpr_difference", "fpr_ratio", "equalized_odds_difference",
        "equalized_odds_ratio", "demographic_parity_difference", "demographic_parity_ratio",
    ]
    max: float | None = Field(None, gt=0, lt=1, description="Largest acceptable difference (differences only).")
    min: float | None = Field(None, gt=0, lt=1, description="Smallest acceptable ratio (ratios only).")
    columns: list[str | list[str]] | None = Field(
        None, description="Families it applies to (default: every fairness family).")

    @model_validator(mode="after")
    def _bound_fits_metric(self) -> "FairnessCriterion":
        if self.metric.endswith("_difference"):
            if self.max is None or self.min is not None:
                raise ValueError(f"{self.metric} is a difference: give 'max' (e.g. max: 0.05), not 'min'")
        elif self.min is None or self.max is not None:
            raise ValueError(f"{self.metric} is a ratio: give 'min' (e.g. min: 0.8), not 'max'")
        return self


class Fairness(StrictModel):
    """Gaps between groups (fairlearn conventions) with patient-clustered bootstrap intervals."""

    columns: list[str | list[str]] | None = Field(
        None, description="Families to compare (a column or a list of columns); default: every one-way column.")
    criteria: list[FairnessCriterion] = Field(default_factory=list)
    include_missing: bool = Field(
        False, description="Compare the 'missing' group too (default: report it, leave it out of gaps).")


class Heterogeneity(StrictModel):
    """Random-effects pooling and heterogeneity across sites and scanners."""

    columns: list[str] = Field(default_factory=lambda: ["site", "manufacturer", "model"])
    tau2_method: Literal["reml", "pm", "dl"] = "reml"
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Level of the heterogeneity tests (after adjustment).")
    multiplicity: Literal["holm", "bh"] = "holm"


class Subgroups(StrictModel):
    """Subgroup families, the minimum-evidence rule, fairness criteria and heterogeneity options.

    A *family* is one column (``sex``) or one intersection (``[sex, age_band]``); its cells
    are the column's levels (or level combinations). Every family is pre-specified unless
    listed in ``exploratory`` (or ``prespecified: false`` makes every family exploratory).
    """

    columns: list[str] = Field(default_factory=list)
    age_bands: list[float] = Field(default_factory=lambda: [0, 40, 60, 80, 130])
    intersections: list[list[str]] = Field(default_factory=list)
    min_positives: int = Field(5, ge=1, description="Evidence rule: a cell needs at least this many positives...")
    min_negatives: int = Field(5, ge=1, description="...and this many negatives to be reported as an estimate.")
    prespecified: bool = Field(True, description="Default for every family; see 'exploratory'.")
    exploratory: list[str | list[str]] = Field(
        default_factory=list, description="Families analysed as exploratory (hypothesis-generating).")
    levels: dict[str, list[str]] = Field(
        default_factory=dict, description="Declared groups per column; a declared group with no cases is listed as empty.")
    fairness: Fairness = Fairness()
    heterogeneity: Heterogeneity = Heterogeneity()

    @field_validator("age_bands")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if len(v) < 2 or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("age_bands must be at least two strictly increasing edges, e.g. [0, 40, 60, 130]")
        return v

    @field_validator("intersections")
    @classmethod
    def _at_least_two(cls, v: list[list[str]]) -> list[list[str]]:
        for x in v:
            if len(x) < 2 or len(set(x)) != len(x):
                raise ValueError(f"intersection {x} must name at least two different columns, e.g. [sex, age_band]")
        return v

    @model_validator(mode="after")
    def _families_declared(self) -> "Subgroups":
        declared = {_family_name(c) for c in self.columns} | {_family_name(x) for x in self.intersections}
        problems = []
        for key, fams in (("exploratory", self.exploratory), ("fairness.columns", self.fairness.columns or [])):
            for f in fams:
                if _family_name(f) not in declared:
                    problems.append(f"{key}: '{_family_name(f)}' is not a declared family (columns or intersections)."
                                    f"{did_you_mean(_family_name(f), declared)}")
        fair = {_family_name(f) for f in (self.fairness.columns or self.columns)}
        for i, c in enumerate(self.fairness.criteria):
            for f in c.columns or []:
                if _family_name(f) not in fair:
                    problems.append(f"fairness.criteria[{i}].columns: '{_family_name(f)}' is not a fairness family"
                                    f" ({', '.join(sorted(fair)) or 'none'}).")
        if problems:
            raise ValueError(" ".join(problems))
        return self

    def families(self) -> list[tuple[str, tuple[str, ...], bool]]:
        """(name, columns, prespecified) for every one-way column and intersection, in order."""
        exploratory = {_family_name(f) for f in self.exploratory}
        out = []
        for fam in [*self.columns, *self.intersections]:
            cols = (fam,) if isinstance(fam, str) else tuple(fam)
            name = _family_name(fam)
            out.append((name, cols, self.prespecified and name not in exploratory))
        return out

    def fairness_families(self) -> list[str]:
        return [_family_name(f) for f in (self.fairness.columns if self.fairness.columns is not None else self.columns)]


__all__ = ["Fairness", "FairnessCriterion", "Heterogeneity", "Subgroups"]
