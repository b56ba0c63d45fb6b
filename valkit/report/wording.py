"""Checks that a rendered report reads as words for a reviewer and a clinician (issue #15).

Two checks on the rendered HTML, each returning problems that name the section and the word:

- :func:`unexplained_abbreviations`: every all-caps token is in the list of abbreviations
  (:data:`valkit.report.abbreviations.MASTER`), or is the sponsor's own text (protocol, model card,
  data values), or is a known non-abbreviation;
- :func:`raw_program_text`: no snake_case keys, "(s)" plurals, documentation file names, relative
  paths or Python literals (``True``/``False``/``None``). Text set as ``<code>`` is program text on
  purpose and is exempt, except relative paths (a place on the machine of the run means nothing to
  a reader).

The test suite runs both on every kind of report it renders (fake study, model-card run, demo,
reader study, latency); a protocol's own template overrides can be checked the same way.
"""
from __future__ import annotations

import re

from valkit.report.abbreviations import unexplained_capitals, visible_text

#: raw-program-text patterns: (name, regex)
RAW_TEXT = (
    ("snake_case key", r"(?<![\w./-])[a-z][a-z0-9]*_[a-z0-9_]+(?![\w(])"),
    ("'(s)' plural", r"\w+\(s\)"),
    ("file name of the documentation", r"\b[\w-]+\.md\b"),
    ("relative path", r"\.\./"),
    ("Python literal", r"\b(True|False|None)\b(?![\w-])(?!\s+(?:positive|negative)s?\b)"),
)
#: words matching a pattern above that are fine on the page (the run's own output files, named as such)
ALLOWED_RAW = frozenset({"results.json", "cases.csv"})


def sections(page: str) -> list[tuple[str, str]]:
    """(section title without its number, visible text) for the front matter and each ``<section>``."""
    out = []
    for part in re.split(r'(?=<section id=")', page):
        m = re.search(r"<h[12][^>]*>(.*?)</h[12]>", part, re.S)
        title = re.sub(r"\s+", " ", visible_text(m.group(1))).strip() if m else "front matter"
        title = re.sub(r"^(\d+|Appendix [A-Z])\s+", "", title)  # numbers move as sections are added
        out.append((title, visible_text(part)))
    return out


def sponsor_tokens(results: dict) -> set[str]:
    """Capitalised tokens of sponsor-supplied text (protocol, model card, data values): not valkit's words."""
    words: set[str] = set()

    def walk(x) -> None:
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, str):
            words.update(re.findall(r"[A-Z][A-Z0-9]+", x))

    for key in ("protocol", "model", "data", "by_site", "by_manufacturer"):
        walk(results.get(key))
    return words


def context(text: str, word: str) -> str:
    """About a line of ``text`` around the first ``word``."""
    i = text.find(word)
    return text[max(0, i - 60):i + len(word) + 40].strip()


def unexplained_abbreviations(page: str, results: dict) -> list[str]:
    """``"section 'T': 'WORD' — …context…"`` for each all-caps word the list of abbreviations lacks."""
    allowed = sponsor_tokens(results)
    return [f"section '{title}': '{word}' — …{context(text, word)}…"
            for title, text in sections(page) for word in unexplained_capitals(text, allowed=allowed)]


def raw_program_text(page: str) -> set[tuple[str, str, str]]:
    """(section title, word, kind) for each piece of raw program text on the page."""
    found = set()
    for title, text in sections(page):
        found.update((title, m.group(0), "relative path") for m in re.finditer(r"\.\./", text))
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)
    for title, text in sections(page):
        for name, pattern in RAW_TEXT:
            for m in re.finditer(pattern, text):
                word = m.group(0)
                if any(a in text[max(0, m.start() - 20):m.end() + 20] and word in a for a in ALLOWED_RAW):
                    continue
                found.add((title, word, name))
    return found


def wording_problems(page: str, results: dict) -> list[str]:
    """Both checks as one list of readable problems (empty: the report reads as words)."""
    text = dict(sections(re.sub(r"<code>.*?</code>", " ", page, flags=re.S)))
    raw = [f"section '{t}': {kind} '{w}' — …{context(text.get(t, ''), w)}…"
           for t, w, kind in sorted(raw_program_text(page))]
    return unexplained_abbreviations(page, results) + raw


__all__ = ["ALLOWED_RAW", "RAW_TEXT", "raw_program_text", "sections", "sponsor_tokens", "unexplained_abbreviations",
           "wording_problems"]
