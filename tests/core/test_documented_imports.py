"""Every Python path the docs and the README mention resolves (issue #12, item 5).

Parsed from README.md and docs/*.md: inline code spans that name a dotted ``valkit.`` path
(``valkit.stats.mrmc.or_power``, ``valkit.stats.Estimate.to_dict()``), and ``from valkit...
import a, b`` / ``import valkit...`` lines in code blocks. A path is resolved by importing its
longest importable module prefix and following the rest as attributes.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

_SPAN = re.compile(r"`([^`\n]+)`")
_DOTTED = re.compile(r"(?<![\w./-])(valkit(?:\.[A-Za-z_]\w*)+)")
_FROM = re.compile(r"^\s*from\s+(valkit[\w.]*)\s+import\s+(?:\(([^)]*)\)|([^#\n]*))", re.M)
_IMPORT = re.compile(r"^\s*import\s+(valkit[\w.]*)", re.M)
_BLOCK = re.compile(r"```[^\n]*\n(.*?)```", re.S)


def documented_paths(text: str) -> set[str]:
    """Dotted paths named in a markdown page (inline code and code-block imports)."""
    paths: set[str] = set()
    for block in _BLOCK.findall(text):
        for module, grouped, line in _FROM.findall(block):
            names = (grouped or line).replace("\n", " ").split(",")
            paths |= {f"{module}.{n.split(' as ')[0].strip()}" for n in names if n.strip()}
        paths |= set(_IMPORT.findall(block))
    prose = _BLOCK.sub("", text)
    for span in _SPAN.findall(prose):
        paths |= set(_DOTTED.findall(span))
    return paths


def resolves(path: str) -> bool:
    parts = path.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ModuleNotFoundError:
            continue
        for attr in parts[k:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_parser_finds_inline_and_block_paths():
    text = ("The engine (`valkit.stats.mrmc`) has `valkit.stats.mrmc.or_power(effect, ...)`.\n"
            "```python\nfrom valkit.stats import (sensitivity,\n    roc_auc)\nimport valkit.tables\n```\n"
            "`runs/valkit.json` and valkit.foo outside code are not paths.")
    assert documented_paths(text) == {"valkit.stats.mrmc", "valkit.stats.mrmc.or_power", "valkit.stats.sensitivity",
                                      "valkit.stats.roc_auc", "valkit.tables"}
    assert resolves("valkit.stats.Estimate.to_dict") and not resolves("valkit.stats.or_power")


def test_the_docs_name_the_documented_api():
    """The paths issue #12 found missing are still documented (so the check below covers them)."""
    named = set().union(*(documented_paths(p.read_text(encoding="utf-8")) for p in PAGES))
    for path in ("valkit.stats.mrmc.or_power", "valkit.stats.mrmc.or_sample_size",
                 "valkit.stats.mrmc.model_vs_readers", "valkit.stats.mrmc.power_table"):
        assert path in named


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_documented_python_path_resolves(page):
    missing = sorted(p for p in documented_paths(page.read_text(encoding="utf-8")) if not resolves(p))
    assert missing == [], f"{page.name}: documented but not importable: {missing}"
