"""Issue #12 item 4: the report reads the typed results by attribute, never results.json by key.

Every section and every helper they share takes :class:`valkit.results_schema.Results` (or one of its
block models); a ``.get("key", default)`` or ``["key"]`` on results.json would print a blank for a
renamed key instead of failing. This test walks the source of the report's modules so that such a
read cannot come back.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[2] / "valkit" / "report"
#: names that mean "results.json, or a dict view of it"
RESULTS_NAMES = {"results", "raw", "strict"}
#: modules where ``results`` is something else, with the reason
NOT_THE_REPORT_INPUT = {
    "pdf_checks.py": "its `results` is the dict of the PDF/A checks it ran, not results.json",
    "wording.py": "a wording check that scans every string of results.json for the sponsor's own capitals",
}


def _is_results(node: ast.AST) -> bool:
    """``results``, ``raw``, ``strict`` or an attribute of that name (``results.strict``, ``typed.raw``)."""
    if isinstance(node, ast.Name):
        return node.id in RESULTS_NAMES
    return isinstance(node, ast.Attribute) and node.attr in {"raw", "strict"}


def key_reads(source: str) -> list[tuple[int, str]]:
    """(line, text) of every ``.get(`` on, subscript of, or ``.strict``/``.raw`` of results-like names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and _is_results(node.func.value):
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Subscript) and _is_results(node.value):
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Attribute) and node.attr in {"raw", "strict"}:
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_check_finds_a_key_read():
    """The walker must catch each way of reading results.json by key (else the test below proves nothing)."""
    bad = ('results.get("primary")\nresults["primary"]["sensitivity"]\nresults.strict["methods"]\n'
           'raw.get("model")\nx = typed.raw\n')
    assert sorted({line for line, _ in key_reads(bad)}) == [1, 2, 3, 4, 5]
    good = "results.primary.sensitivity.value\nresults.data.table1.get(col)\nrows[0]\nresults.by_site[0]\n"
    assert key_reads(good) == []


@pytest.mark.parametrize("path", sorted(p for p in REPORT.rglob("*.py") if p.name not in NOT_THE_REPORT_INPUT),
                         ids=lambda p: str(p.relative_to(REPORT)))
def test_no_report_module_reads_results_json_by_key(path):
    reads = key_reads(path.read_text(encoding="utf-8"))
    assert reads == [], (f"{path.relative_to(REPORT.parent.parent)} reads results.json by key: "
                         + "; ".join(f"line {n}: {text}" for n, text in reads)
                         + ". Read the typed Results by attribute (an Optional field: test `is None`).")
