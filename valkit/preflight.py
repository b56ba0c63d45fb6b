"""Everything a run needs, checked before it starts (``valkit validate``).

Beyond the protocol itself (:func:`valkit.protocol.load_protocol`), a run needs:

* the files the protocol names (manifests, the model card or the scores file, reader ratings);
* a valid model card, whose weights exist and match their recorded sha256;
* every manifest column the protocol names (reference standard, subgroup columns and
  intersections, declared levels, fairness families, and, where the protocol sets them,
  heterogeneity columns, the cluster column and the explainability box and breakdown columns);
* for external predictions, the case-id and score columns in the scores file's header.

Nothing heavy happens: no torch, no image is read, and of each manifest and scores file only
the header row. Hashing the weights is the one full read (300 MB took 0.6 s on a shared
2-core machine); it is what the run itself does first.
Every problem is a line ``file:line: key.path: message`` naming what was expected, what was
found and the fix, and all of them are reported together.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from valkit.errors import InputError
from valkit.protocol import LoadedProtocol, Protocol, missing_paths
from valkit.suggest import did_you_mean
from valkit.yaml_lines import format_loc, line_index, line_of

__all__ = ["Preflight", "card_problems", "columns_named", "preflight", "regulatory_findings", "table_header"]

CORE_MANIFEST_COLUMNS = ("case_id", "path")


@dataclass(frozen=True)
class Preflight:
    """The problems found (empty: ready to run), one line per thing that was checked, and warnings
    (inconsistencies that do not stop the run) and notes (things valkit could not check)."""

    problems: tuple[str, ...]
    checked: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def _at(source: str, lines: dict[tuple, int], loc: tuple) -> str:
    line = line_of(lines, loc)
    return f"{source}:{line}" if line else source


def table_header(path: Path) -> list[str]:
    """Column names of a CSV (first row only) or a parquet file (its schema only).

    Raises
    ------
    InputError
        The file has no header row or cannot be read as CSV / parquet.
    """
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:  # noqa: BLE001 - any unreadable parquet file is an input problem
            raise InputError(f"not a readable parquet file ({exc})") from None
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        row = next(csv.reader(handle), None)
    if not row:
        raise InputError("no header row (the file is empty)")
    return row


def columns_named(p: Protocol) -> list[tuple[tuple, str]]:
    """(protocol key path, column) for every manifest column the protocol names, in file order.

    Columns with a default (``analysis.cluster_column``, ``heterogeneity.columns``, the
    explainability columns) count only when the protocol sets them: their defaults are used
    only where the data record them.
    """
    sg = p.subgroups
    out: list[tuple[tuple, str]] = [(("reference_standard", "column"), p.reference_standard.column)]
    out += [(("reference_standard", "truther_columns", i), c) for i, c in enumerate(p.reference_standard.truther_columns)]
    out += [(("subgroups", "columns", i), c) for i, c in enumerate(sg.columns)]
    out += [(("subgroups", "intersections", i, j), c) for i, x in enumerate(sg.intersections) for j, c in enumerate(x)]
    out += [(("subgroups", "levels", c), c) for c in sg.levels]

    def families(loc: tuple, fams: list[str | list[str]] | None) -> list[tuple[tuple, str]]:
        return [(loc + ((i,) if isinstance(f, str) else (i, j)), c)
                for i, f in enumerate(fams or []) for j, c in enumerate([f] if isinstance(f, str) else f)]

    out += families(("subgroups", "fairness", "columns"), sg.fairness.columns)
    for k, crit in enumerate(sg.fairness.criteria):
        out += families(("subgroups", "fairness", "criteria", k, "columns"), crit.columns)
    if "columns" in sg.heterogeneity.model_fields_set:
        out += [(("subgroups", "heterogeneity", "columns", i), c) for i, c in enumerate(sg.heterogeneity.columns)]
    if "cluster_column" in p.analysis.model_fields_set:
        out.append((("analysis", "cluster_column"), p.analysis.cluster_column))
    ex = p.explainability
    if ex is not None:
        loc = ("explainability", "localisation")
        if "box_columns" in ex.localisation.model_fields_set:
            out += [(loc + ("box_columns", i), c) for i, c in enumerate(ex.localisation.box_columns)]
        if "by" in ex.localisation.model_fields_set:
            out += [(loc + ("by", i), c) for i, c in enumerate(ex.localisation.by)]
        if "by" in ex.border.model_fields_set:
            out += [(("explainability", "border", "by", i), c) for i, c in enumerate(ex.border.by)]
    return out


def _manifest_problems(loaded: LoadedProtocol, lines: dict[tuple, int], source: str) -> tuple[list[str], list[str]]:
    problems, checked = [], []
    named = columns_named(loaded.protocol)
    for i, ds in enumerate(loaded.protocol.datasets):
        path = loaded.resolve(ds.manifest)
        if not path.is_file():
            continue  # reported as a missing path
        where = _at(source, lines, ("datasets", i, "manifest"))
        try:
            header = table_header(path)
        except InputError as exc:
            problems.append(f"{where}: datasets[{i}].manifest: {path}: {exc} Build it with `valkit manifest build "
                            "DICOM_DIR --labels LABELS.csv --out PATH`.")
            continue
        found, before = ", ".join(header), len(problems)
        for col in CORE_MANIFEST_COLUMNS:
            if col not in header:
                problems.append(
                    f"{where}: datasets[{i}].manifest: the manifest {path} has no column '{col}' (every manifest "
                    f"needs {' and '.join(CORE_MANIFEST_COLUMNS)}).{did_you_mean(col, header)} Rebuild it with "
                    f"`valkit manifest build` or rename the column; its columns: {found}.")
        seen: set[str] = set()
        for loc, col in named:
            needed = "age" if col == "age_band" else col  # age_band is derived from age
            if needed in header or needed in seen:
                continue
            seen.add(needed)
            what = (f"age_band is derived from the column 'age', which is not in the manifest {path}."
                    if needed != col else f"column '{col}' not found in the manifest {path}.")
            problems.append(f"{_at(source, lines, loc)}: {format_loc(loc)}: {what}{did_you_mean(needed, header)} "
                            f"Correct the protocol or add the column to the manifest; its columns: {found}.")
        if len(problems) == before:
            n = len({"age" if c == "age_band" else c for _, c in named} | set(CORE_MANIFEST_COLUMNS))
            checked.append(f"manifest {path}: header has the {n} column(s) the run needs")
    return problems, checked


def _scores_problems(loaded: LoadedProtocol, lines: dict[tuple, int], source: str) -> tuple[list[str], list[str]]:
    ext = loaded.protocol.predictions
    if ext is None:
        return [], []
    path = loaded.resolve(ext.path)
    if not path.is_file():
        return [], []  # reported as a missing path
    try:
        header = table_header(path)
    except InputError as exc:
        return [f"{_at(source, lines, ('predictions', 'path'))}: predictions.path: {path}: {exc}"], []
    problems = []
    for key in ("case_id_column", "score_column"):
        col = getattr(ext, key)
        if col not in header:
            loc = ("predictions", key)
            problems.append(f"{_at(source, lines, loc)}: {format_loc(loc)}: column '{col}' not found in the header "
                            f"of the scores file {path}.{did_you_mean(col, header)} Set predictions.{key} to one of "
                            f"its columns: {', '.join(header)}.")
    return problems, ([] if problems else [f"scores file {path}: header has '{ext.case_id_column}' and "
                                           f"'{ext.score_column}'"])


def _card_loc(error: dict[str, Any]) -> tuple:
    # the same parts model_card's messages leave out of the key path
    return tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-after", "union"))))


def _with_card_line(path: Path, problem: str) -> str:
    """``card: weights.sha256: ...`` -> ``card:LINE: weights.sha256: ...`` (messages raised while loading
    the card name the key but not its line)."""
    card = path / "model.yaml" if path.is_dir() else path
    head = f"{card}: "
    if not problem.startswith(head):
        return problem
    key = problem[len(head):].split(":", 1)[0]
    if not key or " " in key:
        return problem
    lines = line_index(card.read_text(encoding="utf-8", errors="replace"))
    line = line_of(lines, tuple(key.split(".")))
    return f"{card}:{line}: {problem[len(head):]}" if line else problem


def card_problems(path: Path) -> tuple[list[str], str]:
    """Every problem of a model card as ``card:line: key.path: message``, and a summary when none.

    :func:`valkit.model_card_problems.check_model_card`: the card's keys and cross-key rules, that its
    files exist, the weights' sha256, and a MONAI bundle's config read as data (no model is loaded).
    """
    from valkit.model_card_io import check_model_card

    card, problems = check_model_card(path)
    if problems or card is None:
        return [_with_card_line(path, p) for p in problems], ""
    size = card.weights_path.stat().st_size / 1e6
    return [], (f"model card {card.path}: valid, format {card.architecture.format}; weights sha256 matches "
                f"({size:.1f} MB hashed)")


def regulatory_findings(loaded: LoadedProtocol, lines: dict[tuple, int], source: str) -> tuple[list[str], list[str]]:
    """(warnings, notes) on the FDA product code and regulation number of the protocol.

    A product code whose regulation (:mod:`valkit.regulatory.product_codes`) differs from
    ``regulatory.fda.regulation_number`` is a warning naming both values and the fix; a code valkit
    does not know is a note (it cannot be checked), never a warning.
    """
    from valkit.regulatory.product_codes import expected_regulation, regulation_section

    fda = loaded.protocol.regulatory.fda
    if fda is None or not fda.product_code:
        return [], []
    code, named = fda.product_code, fda.regulation_number
    known = expected_regulation(code)
    loc = ("regulatory", "fda", "regulation_number") if named else ("regulatory", "fda", "product_code")
    where = _at(source, lines, loc)
    if known is None:
        return [], [f"{_at(source, lines, ('regulatory', 'fda', 'product_code'))}: regulatory.fda.product_code: "
                    f"valkit has no record of product code '{code}', so its regulation number was not checked "
                    "(see valkit/regulatory/product_codes.py)."]
    if not named:
        return [f"{where}: regulatory.fda.regulation_number: not set; product code {known.code} ({known.name}) "
                f"is classified under 21 CFR {known.regulation}. Set regulation_number: \"21 CFR "
                f"{known.regulation}\"."], []
    if regulation_section(named) != known.regulation:
        return [f"{where}: regulatory.fda.regulation_number: '{named}' does not match product code {known.code} "
                f"({known.name}), which FDA classifies under 21 CFR {known.regulation}. Set regulation_number: "
                f"\"21 CFR {known.regulation}\", or correct product_code if the device belongs to "
                f"{named}."], []
    return [], []


def preflight(loaded: LoadedProtocol, *, source: str) -> Preflight:
    """Check everything the run of ``loaded`` needs; ``source`` is the protocol path as the user wrote it."""
    text = loaded.path.read_text(encoding="utf-8", errors="replace")
    lines = line_index(text)
    problems = missing_paths(loaded, text, source=source)
    checked: list[str] = []
    p = loaded.protocol
    if p.model is not None and loaded.resolve(p.model.card).exists():
        found, summary = card_problems(loaded.resolve(p.model.card))
        problems += found
        checked += [summary] if summary else []
    for check in (_manifest_problems, _scores_problems):
        found, done = check(loaded, lines, source)
        problems += found
        checked += done
    warnings, notes = regulatory_findings(loaded, lines, source)
    return Preflight(problems=tuple(problems), checked=tuple(checked), warnings=tuple(warnings), notes=tuple(notes))
