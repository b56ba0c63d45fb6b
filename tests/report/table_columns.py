"""The columns of the report's HTML tables, read with the standard library's HTML parser: which
header cells stand over which body cells (colspan and rowspan honoured), and their classes.

Used to check that a numeric column is right-aligned in its header as in its cells (class ``num``
on both: report.css ``th.num, td.num { text-align: right }``)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: a cell that holds one number (count, percentage, ratio, time): "1 234", "−0.05", "70%", "12.5 ms", "—";
#: a version such as 1.0.0 is not a number
NUMBER = re.compile(r"^(?:[−+\-]?\d+(?:[\u202f\u00a0 ,]\d{3})*(?:\.\d+)?\s?(?:%|ms|s)?|—)$")


@dataclass
class Cell:
    tag: str  # "th" or "td"
    classes: frozenset[str]
    colspan: int
    rowspan: int
    text: str = ""


@dataclass
class Table:
    caption: str = ""
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)  # (thead/tbody/tfoot, cells)

    def grid(self) -> list[tuple[str, list[tuple[int, Cell]]]]:
        """Each row's cells with the column each starts in (cells spanning rows from above skipped)."""
        out, carried = [], {}  # column -> rows still covered by a cell from a row above
        for part, cells in self.rows:
            placed, col, queue = [], 0, list(cells)
            while queue or any(c >= col for c in carried):
                if carried.get(col):
                    carried[col] -= 1
                    col += 1
                    continue
                if not queue:
                    col += 1
                    continue
                cell = queue.pop(0)
                placed.append((col, cell))
                for k in range(cell.colspan):
                    if cell.rowspan > 1:
                        carried[col + k] = cell.rowspan - 1
                col += cell.colspan
            carried = {c: n for c, n in carried.items() if n}
            out.append((part, placed))
        return out

    def columns(self) -> tuple[dict[int, list[Cell]], dict[int, list[Cell]]]:
        """(header cells, body cells) by column, single-column cells only; body cells are ``td``."""
        head: dict[int, list[Cell]] = {}
        body: dict[int, list[Cell]] = {}
        for part, placed in self.grid():
            for col, cell in placed:
                if cell.colspan != 1:
                    continue
                if part == "thead" and cell.tag == "th":
                    head.setdefault(col, []).append(cell)
                elif part != "thead" and cell.tag == "td":
                    body.setdefault(col, []).append(cell)
        return head, body


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self._open: list[tuple[Table, list]] = []  # table, [part, in caption, current cell]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._open.append((Table(), ["tbody", False, None]))
            return
        if not self._open or tag in ("svg",):
            return
        table, state = self._open[-1]
        if tag in ("thead", "tbody", "tfoot"):
            state[0] = tag
        elif tag == "tr":
            table.rows.append((state[0], []))
        elif tag in ("td", "th") and table.rows:
            cell = Cell(tag, frozenset((a.get("class") or "").split()), int(a.get("colspan") or 1),
                        int(a.get("rowspan") or 1))
            table.rows[-1][1].append(cell)
            state[2] = cell
        elif tag == "caption":
            state[1] = True
        elif tag == "br" and state[2] is not None:
            state[2].text += "\n"

    def handle_endtag(self, tag):
        if not self._open:
            return
        table, state = self._open[-1]
        if tag == "table":
            self.tables.append(self._open.pop()[0])
        elif tag == "caption":
            state[1] = False
        elif tag in ("td", "th"):
            state[2] = None

    def handle_data(self, data):
        if not self._open:
            return
        table, state = self._open[-1]
        if state[1]:
            table.caption += data
        elif state[2] is not None:
            state[2].text += data


def tables(page: str) -> list[Table]:
    """Every ``<table>`` of ``page`` (inline SVG removed), in document order of their ends."""
    p = _Parser()
    p.feed(re.sub(r"<svg\b.*?</svg>", " ", page, flags=re.S))
    return p.tables


def _first_line(cell: Cell) -> str:
    return " ".join((cell.text.split("\n") or [""])[0].split())


def misaligned_headers(page: str) -> list[str]:
    """Header cells over a numeric column that are not right-aligned like it, as readable problems.

    A column is numeric when every single-column ``td`` under it is class ``num``, or when each such
    cell's first line is one number (:data:`NUMBER`) and at least one is not a dash (a column headed
    "Version" holds identifiers such as 2.1, not quantities); then every cell and every single-column
    header over it must be class ``num``.
    """
    problems = []
    for t in tables(page):
        head, body = t.columns()
        caption = " ".join(t.caption.split())[:90] or "(table without a caption)"
        for col, cells in sorted(body.items()):
            all_num = all("num" in c.classes for c in cells)
            looks_numeric = (all(NUMBER.match(_first_line(c)) for c in cells)
                             and any(_first_line(c) not in ("—", "") for c in cells))
            if any("version" in h.text.lower() for h in head.get(col, [])):
                looks_numeric = False
            if not (all_num or looks_numeric):
                continue
            for h in head.get(col, []):
                if "num" not in h.classes:
                    problems.append(f"{caption}: header '{' '.join(h.text.split())}' (column {col + 1}) is not "
                                    "class \"num\" over a numeric column")
            if not all_num:
                text = _first_line(next(c for c in cells if "num" not in c.classes))
                problems.append(f"{caption}: numeric column {col + 1} has a cell ('{text}') without class \"num\"")
    return problems
