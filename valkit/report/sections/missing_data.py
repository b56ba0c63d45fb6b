"""The missing-demographics statement: one wording for the test-data and the subgroup sections.

Reads a ``missing_demographics`` block of results.json (``data.missing_demographics`` over the
demographic columns, ``subgroups.missing_demographics`` over the subgroup columns) as its typed
model (:class:`~valkit.results_schema.subgroups.MissingDemographics`); counts are printed, never
computed.

>>> from valkit.results_schema.subgroups import MissingDemographics
>>> block = MissingDemographics(n_cases=10, n_patients=6, statement="", by_column={
...     "sex": {"recorded": True, "n_missing": 2, "fraction_missing": 0.2, "n_missing_patients": 1},
...     "ethnicity": {"recorded": False, "n_missing": 10, "fraction_missing": 1.0}})
>>> print(missing_demographics_statement(block, families=["sex"]))
Sex is not recorded for 2 of 10 cases (20.0%; 1 of 6 patients); race / ethnicity is not recorded for any case. These cases are kept in the overall analysis and in every other subgroup family; in the family of the characteristic they lack (sex) they form a separate "not recorded" group, reported with its counts but left out of the fairness comparisons. The estimates for the recorded groups assume that whether a value was recorded is unrelated to the model's performance, which this study cannot verify.
"""
from __future__ import annotations

from valkit.report.formatting import count, pct
from valkit.report.sections.common import column_title
from valkit.results_schema.subgroups import MissingDemographics

__all__ = ["missing_demographics_statement"]


def missing_demographics_statement(block: MissingDemographics | None, *,
                                   families: list[str] | None = None,
                                   fairness_includes_missing: bool = False) -> str | None:
    """One paragraph: per column, the cases (and patients) without a value, and what the analysis does
    with them. ``families``: the columns that are subgroup families (``None``: every column listed);
    ``fairness_includes_missing``: the protocol's ``subgroups.fairness.include_missing``.
    ``None`` when the block is absent (a run written before it).
    """
    if block is None:
        return None
    n_cases, n_patients = block.n_cases, block.n_patients
    parts, lacking = [], []
    for col, m in block.by_column.items():
        title = column_title(col).lower()
        if not m.recorded:
            parts.append(f"{title} is not recorded for any case")
            continue
        if not m.n_missing:
            continue
        of = f" of {count(n_cases)}" if n_cases is not None else ""
        patients = (f"; {count(m.n_missing_patients)} of {count(n_patients)} patients"
                    if m.n_missing_patients is not None and n_patients is not None else "")
        parts.append(f"{title} is not recorded for {count(m.n_missing)}{of} cases "
                     f"({pct(m.fraction_missing)}{patients})")
        if families is None or col in families:
            lacking.append(title)
    if not parts:
        return "Every analysed case has a recorded value for every demographic characteristic listed."
    text = "; ".join(parts) + ". "
    text = text[0].upper() + text[1:]
    if any(m.recorded and m.n_missing for m in block.by_column.values()):
        text += "These cases are kept in the overall analysis"
        if lacking:
            text += (" and in every other subgroup family; in the family of the characteristic they lack ("
                     + ", ".join(lacking) + ") they form a separate \"not recorded\" group, reported with its counts"
                     + (" and compared like any other group. " if fairness_includes_missing
                        else " but left out of the fairness comparisons. "))
        else:
            text += " (the characteristic is not a subgroup family of this protocol). "
        text += ("The estimates for the recorded groups assume that whether a value was recorded is unrelated to "
                 "the model's performance, which this study cannot verify.")
    return text.strip()
