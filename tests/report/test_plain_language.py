"""Words in the report are for a reviewer and a clinician (issue #15): every all-caps abbreviation is
expanded in the list of abbreviations, the list holds only those used, and no raw program text
(snake_case keys, "(s)", file names, relative paths, Python literals) reaches the page.

Two reports are rendered: the fake study's (tests/data/fake_study: external scores; sites, scanners,
subgroups, fairness, clustering) and a small run of a real model card (tests/report/conftest.py
``card_run``: device and model, training data, operating point from the card, files reached by relative
paths). A failure names the word and the section it is in.
"""
from __future__ import annotations

import json
import re

import pytest

from valkit.report.abbreviations import MASTER, unexplained_capitals, visible_text
from valkit.report.render import render_html

#: raw-program-text patterns: (name, regex)
RAW_TEXT = (
    ("snake_case key", r"(?<![\w./-])[a-z][a-z0-9]*_[a-z0-9_]+(?![\w(])"),
    ("'(s)' plural", r"\w+\(s\)"),
    ("file name of the documentation", r"\b[\w-]+\.md\b"),
    ("relative path", r"\.\./"),
    ("Python literal", r"\b(True|False|None)\b(?![\w-])"),
)
#: words matching a pattern above that are fine on the page
ALLOWED_RAW = {"results.json", "cases.csv"}

#: offenders present when this test was written (section, word): each is a defect to fix, listed so that
#: new text is checked from now on; remove an entry when its text is fixed (a stale entry fails the test)
KNOWN: set[tuple[str, str]] = set()


@pytest.fixture(scope="module", params=["fake_run", "card_run"])
def results(request) -> dict:
    return json.loads((request.getfixturevalue(request.param) / "results.json").read_text())


@pytest.fixture(scope="module")
def page(results) -> str:
    return render_html(results, results_sha256="0" * 64)


def _sections(page: str) -> list[tuple[str, str]]:
    """(section title, visible text) for the front matter and each <section> of the body."""
    parts = re.split(r'(?=<section id=")', page)
    out = []
    for part in parts:
        m = re.search(r"<h[12][^>]*>(.*?)</h[12]>", part, re.S)
        title = re.sub(r"\s+", " ", visible_text(m.group(1))).strip() if m else "front matter"
        title = re.sub(r"^(\d+|Appendix [A-Z])\s+", "", title)  # numbers move as sections are added
        out.append((title, visible_text(part)))
    return out


def _user_tokens(results: dict) -> set[str]:
    """Capitalised tokens of sponsor-supplied text (protocol, model card, data values): not valkit's words."""
    words: set[str] = set()

    def walk(x):
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


def _context(text: str, word: str) -> str:
    i = text.find(word)
    return text[max(0, i - 60):i + len(word) + 40].strip()


def test_every_all_caps_word_is_an_explained_abbreviation(page, results):
    allowed = _user_tokens(results)
    problems = []
    for title, text in _sections(page):
        for word in unexplained_capitals(text, allowed=allowed):
            problems.append(f"section '{title}': '{word}' — …{_context(text, word)}…")
    assert not problems, ("all-caps words that the list of abbreviations does not explain (add each to "
                          "valkit/report/abbreviations.py MASTER with its expansion, or NOT_ABBREVIATIONS "
                          "if it is not an abbreviation):\n" + "\n".join(problems))


def test_the_list_holds_exactly_the_abbreviations_used(page):
    listed = re.search(r'<table class="abbreviations">(.*?)</table>', page, re.S)
    assert listed, "no list of abbreviations in the report"
    shown = set(re.findall(r'<th scope="row">(.*?)</th>', listed.group(1)))
    body = visible_text(page.replace(listed.group(0), ""))
    assert "CI" in shown and "AUC" in shown
    for abbr, _, tokens in MASTER:
        used = any(re.search(r"(?<![\w\-.])" + re.escape(t) + r"(?![\w\-])", body) for t in tokens)
        assert (abbr in shown) == used, f"{abbr}: {'used but not listed' if used else 'listed but not used'}"


def _raw_text(page: str) -> set[tuple[str, str, str]]:
    found = set()
    # a file's place on the machine of the run means nothing to a reader, even set as code
    for title, text in _sections(page):
        found.update((title, m.group(0), "relative path") for m in re.finditer(r"\.\./", text))
    # text set as code (<code>: the per-case CSV's column names, a rule) is program text on purpose
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)
    for title, text in _sections(page):
        for name, pattern in RAW_TEXT:
            for m in re.finditer(pattern, text):
                word = m.group(0)
                if any(a in text[max(0, m.start() - 20):m.end() + 20] and word in a for a in ALLOWED_RAW):
                    continue
                found.add((title, word, name))
    return found


def test_no_raw_program_text(page):
    found = _raw_text(page)
    new = sorted(f for f in found if (f[0], f[1]) not in KNOWN)
    text = dict(_sections(page))
    assert not new, "raw program text in the report (write it as words a reviewer reads):\n" + "\n".join(
        f"section '{t}': {kind} '{w}' — …{_context(text[t], w)}…" for t, w, kind in new)
    stale = sorted(KNOWN - {(t, w) for t, w, _ in found})
    assert not stale, f"fixed, remove from KNOWN in this test: {stale}"
