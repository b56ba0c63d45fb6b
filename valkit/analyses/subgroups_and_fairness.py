"""The report's "Subgroups and fairness" blocks of results.json, from one :class:`CellEngine`.

:mod:`valkit.analyses.subgroups` (cells, difference tests) and :mod:`valkit.analyses.fairness`
(disparity criteria) both build on the same cells; this module joins them, so neither imports the other.
"""
from __future__ import annotations

import warnings

import pandas as pd

from valkit.analyses.fairness import fairness_section
from valkit.analyses.subgroups import CellEngine, subgroups_section
from valkit.protocol import Protocol
from valkit.stats.types import NotEstimableWarning


def analyse_subgroups(analysed: pd.DataFrame, protocol: Protocol, threshold: float, *,
                      primary: dict | None = None, engine: CellEngine | None = None) -> dict:
    """The ``subgroups`` and ``fairness`` sections of results.json."""
    engine = engine or CellEngine(analysed, threshold, protocol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)  # recorded in each Estimate's warnings
        return {"subgroups": subgroups_section(engine, protocol, primary),
                "fairness": fairness_section(engine, protocol)}


__all__ = ["analyse_subgroups"]
