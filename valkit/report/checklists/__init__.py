"""Cross-reference checklists: one item table per checklist, one generic builder.

Each checklist module (:mod:`~valkit.report.checklists.stard`, ``claim``, ``tripod_ai``, ``fda``,
``cdsco``) declares its items as :class:`Item` rows and a :class:`Checklist`. :func:`build_rows`
turns the items into the rows of the appendix for one run: the status of an item depends on
what results.json contains (``when``, a condition on the typed :class:`~valkit.results_schema.Results`),
so an item flips from "reported" to its fallback status when its data is absent. Where valkit cannot
know the answer, the fallback says so and names what the sponsor must add ("to be supplied by the
sponsor"), instead of claiming it.

The renderer (``reports/templates/sections/checklist.html.j2``) is the same for every checklist;
a row's ``anchor`` is the id of the report section that answers it, printed as a page reference.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from valkit.suggest import did_you_mean

if TYPE_CHECKING:
    from valkit.protocol import Regulatory
    from valkit.results_schema import Results

REPORTED, PARTLY, MISSING, NOT_APPLICABLE = "reported", "partly", "not in this report", "not applicable"
STATUSES = (REPORTED, PARTLY, NOT_APPLICABLE, MISSING)
SPONSOR = "to be supplied by the sponsor"

Condition = Callable[["Results"], bool]

#: what the report gives on sample size when results.json has a ``sample_size`` block (every checklist's
#: sample-size row says the same, status PARTLY: the protocol's own justification is the sponsor's)
SAMPLE_SIZE_NOTE = ("achieved precision, power and the cases the pre-set goals need — Statistical methods, "
                    "'Sample size and achieved power'; the protocol's own sample-size justification: " + SPONSOR)


def has(*keys: str) -> Condition:
    """Reported when every named top-level block of results.json is present (not None).

    A name that is not a block of :class:`~valkit.results_schema.Results` is an error here, where the
    checklist is defined, instead of an item that silently never counts as reported.
    """
    from valkit.results_schema import Results

    unknown = [k for k in keys if k not in Results.model_fields]
    if unknown:
        raise ValueError(f"checklist condition has({', '.join(map(repr, keys))}): '{unknown[0]}' is not a block of "
                         f"results.json.{did_you_mean(unknown[0], Results.model_fields)} Fix: name a field of "
                         "valkit.results_schema.Results.")
    return lambda r: all(getattr(r, k) is not None for k in keys)


def always(r: Results) -> bool:
    return True


def never(r: Results) -> bool:
    return False


def model_card(r: Results) -> bool:
    """The model under test ran inside valkit from its card (not a vendor's scores read from a file)."""
    return r.model.kind == "model_card"


def eligibility_stated(r: Results) -> bool:
    """The protocol states the clinical inclusion or exclusion criteria (printed under Test data)."""
    e = r.protocol.eligibility
    return e is not None and bool(e.inclusion or e.exclusion)


def truthers_stated(r: Results) -> bool:
    """The protocol says who established the reference standard (number and qualifications of truthers)."""
    return r.protocol.reference_standard.truthers is not None


def regulatory(r: Results) -> Regulatory:
    """The protocol's ``regulatory`` block as echoed in results.json."""
    return r.protocol.regulatory


def targeted(authority: str) -> Condition:
    """A checklist's ``applies``: the protocol names ``authority`` (FDA, CDSCO) among its targets."""
    return lambda r: authority in regulatory(r).targets


class Item(NamedTuple):
    """One checklist row: ``when(results)`` true -> ``best`` (REPORTED unless set) with ``note``; else ``otherwise`` and
    ``otherwise_note``. ``anchor`` is the id of the section that answers it (kept for PARTLY too).
    ``group``: an optional heading the row is listed under (e.g. the regulation's special controls)."""

    number: str
    topic: str
    text: str
    anchor: str
    when: Condition
    note: str
    otherwise: str
    otherwise_note: str
    group: str = ""
    best: str = REPORTED  # the status when ``when`` holds (PARTLY: the data answer part of the item)


@dataclass(frozen=True)
class Checklist:
    """A cross-reference appendix: its items (a tuple, or a function of the results for checklists
    that depend on the protocol, such as the regulation's special controls), the citation, and the
    sentences printed before the table. ``applies(results)`` false leaves the appendix out."""

    id: str
    title: str
    citation: str
    intro: str
    items: tuple[Item, ...] | Callable[[Results], tuple[Item, ...]]
    closing: str = ""
    applies: Condition = field(default=always)

    def items_for(self, results: Results) -> tuple[Item, ...]:
        return self.items(results) if callable(self.items) else self.items


def build_rows(items: tuple[Item, ...], results: Results, present: set[str] | None = None) -> list[dict[str, Any]]:
    """The rows of a checklist for ``results``; ``present``: ids of the sections in this report (a
    link to a section that is not there is dropped, never printed as a dangling page reference)."""
    rows = []
    for it in items:
        reported = it.when(results)
        status = it.best if reported else it.otherwise
        anchor = it.anchor if status in (REPORTED, PARTLY) else None
        if anchor and present is not None and anchor not in present:
            anchor = None
        rows.append({"number": it.number, "topic": it.topic, "item": it.text, "status": status,
                     "anchor": anchor, "note": it.note if reported else it.otherwise_note, "group": it.group})
    return rows


def counts(rows: list[dict]) -> dict[str, int]:
    return {s: sum(r["status"] == s for r in rows) for s in STATUSES}


def build(checklist: Checklist, results: Results, doc: dict) -> dict[str, Any] | None:
    """Template context of one checklist appendix; None when it does not apply to this study."""
    if not checklist.applies(results):
        return None
    present = doc.get("sections_present")
    rows = build_rows(checklist.items_for(results), results, set(present) if present is not None else None)
    if not rows:
        return None
    return {"rows": rows, "counts": counts(rows), "n": len(rows), "title": checklist.title,
            "citation": checklist.citation, "intro": checklist.intro, "closing": checklist.closing}


__all__ = ["MISSING", "NOT_APPLICABLE", "PARTLY", "REPORTED", "SAMPLE_SIZE_NOTE", "SPONSOR", "STATUSES", "Checklist",
           "Item", "always", "build", "build_rows", "counts", "eligibility_stated", "has", "model_card", "never",
           "regulatory", "targeted", "truthers_stated"]
