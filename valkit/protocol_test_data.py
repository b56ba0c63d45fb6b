"""Protocol blocks that describe the test data and its secondary analyses.

- ``sites``: one entry per value of the manifests' ``site`` column, with its country (printed in the
  test-data section's site table and in Table 1);
- ``eligibility``: the clinical inclusion and exclusion criteria, printed as written (valkit cannot
  know them; without the block the report says they are to be supplied by the sponsor);
- ``secondary``: sensitivity by lesion-size band and by lesion type among reference-positive cases,
  from manifest columns the protocol names.

>>> Secondary.model_validate({"lesion_size_column": "lesion_diameter_mm",
...                           "lesion_size_bands_mm": [0, 10, 20, 30, 100]}).lesion_size_bands_mm
[0.0, 10.0, 20.0, 30.0, 100.0]
"""
from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from valkit.strict_model import StrictModel

__all__ = ["Eligibility", "Secondary", "Site"]


class Site(StrictModel):
    """One site of the test data (key: its value in the manifests' ``site`` column)."""

    country: str = Field(min_length=1, description="Country of the site, e.g. India, United States.")


class Eligibility(StrictModel):
    """Who could enter the test set: the criteria as the sponsor wrote them, printed verbatim."""

    inclusion: list[str] = Field(default_factory=list, description="Inclusion criteria, one per item.")
    exclusion: list[str] = Field(default_factory=list, description="Exclusion criteria, one per item.")


class Secondary(StrictModel):
    """Secondary analyses among reference-positive cases (sensitivity by lesion size and type)."""

    lesion_size_column: str | None = Field(
        None, description="Manifest column with the lesion size in millimetres (empty for negatives).")
    lesion_size_bands_mm: list[float] = Field(
        default_factory=lambda: [0, 10, 20, 30, 100],
        description="Band edges in mm: [0, 10, 20] gives 0-<10 and 10-<20; at least two increasing edges.")
    lesion_type_column: str | None = Field(
        None, description="Manifest column with the lesion type (e.g. solid, part-solid, ground-glass).")

    @field_validator("lesion_size_bands_mm")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if len(v) < 2 or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"lesion_size_bands_mm must be at least two increasing edges in mm; found {v}. "
                             "Example: [0, 10, 20, 30, 100].")
        return v

    @model_validator(mode="after")
    def _some_column(self) -> "Secondary":
        if self.lesion_size_column is None and self.lesion_type_column is None:
            raise ValueError("secondary: name lesion_size_column or lesion_type_column (or remove the block)")
        return self
