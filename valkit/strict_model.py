"""The one strict pydantic base of every configuration model (protocol blocks, model cards).

Frozen (a validated configuration never changes afterwards) and ``extra="forbid"``: an
unknown key is an error, so a typo in a protocol or a card is never silently ignored.

>>> class Example(StrictModel):
...     seed: int = 1
>>> Example.model_validate({"sede": 2})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Example
sede
  Extra inputs are not permitted [type=extra_forbidden, input_value=2, input_type=int]
...
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """Base of valkit's configuration models: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)
