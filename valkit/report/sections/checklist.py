"""Checklist cross-reference appendices (STARD 2015, CLAIM, TRIPOD+AI, FDA, CDSCO).

One generic builder per :class:`~valkit.report.checklists.Checklist`; the item tables live in
:mod:`valkit.report.checklists`, the template is ``sections/checklist.html.j2`` for all of them.
The builders read the typed results (:class:`~valkit.results_schema.Results`, as every section of
:data:`valkit.report.context.SECTIONS`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from valkit.report.checklists import MISSING, NOT_APPLICABLE, PARTLY, REPORTED, Checklist
from valkit.report.checklists import build as _build
from valkit.report.checklists.stard import ITEMS

if TYPE_CHECKING:
    from valkit.results_schema import Results


def builder(checklist: Checklist) -> Callable[[Results, dict], "dict[str, Any] | None"]:
    """The section builder ``(results, doc) -> context`` of one checklist appendix."""
    def build(results: Results, doc: dict) -> dict[str, Any] | None:
        return _build(checklist, results, doc)

    build.__name__ = f"build_{checklist.id.replace('-', '_')}"
    return build


def build(results: Results, doc: dict) -> dict[str, Any] | None:
    """Rows of the STARD 2015 cross-reference for this report."""
    from valkit.report.checklists.stard import CHECKLIST

    return _build(CHECKLIST, results, doc)


__all__ = ["ITEMS", "MISSING", "NOT_APPLICABLE", "PARTLY", "REPORTED", "build", "builder"]
