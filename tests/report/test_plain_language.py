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

from valkit.report.abbreviations import MASTER, visible_text
from valkit.report.wording import context as _context, raw_program_text as _raw_text, sections as _sections, unexplained_abbreviations
from valkit.report.render import render_html

#: offenders present when this test was written (section, word): each is a defect to fix, listed so that
#: new text is checked from now on; remove an entry when its text is fixed (a stale entry fails the test)
KNOWN: set[tuple[str, str]] = set()


@pytest.fixture(scope="module", params=["fake_run", "card_run"])
def results(request) -> dict:
    return json.loads((request.getfixturevalue(request.param) / "results.json").read_text())


@pytest.fixture(scope="module")
def page(results) -> str:
    return render_html(results, results_sha256="0" * 64)


def test_every_all_caps_word_is_an_explained_abbreviation(page, results):
    problems = unexplained_abbreviations(page, results)
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


def test_no_raw_program_text(page):
    found = _raw_text(page)
    new = sorted(f for f in found if (f[0], f[1]) not in KNOWN)
    text = dict(_sections(page))
    assert not new, "raw program text in the report (write it as words a reviewer reads):\n" + "\n".join(
        f"section '{t}': {kind} '{w}' — …{_context(text[t], w)}…" for t, w, kind in new)
    stale = sorted(KNOWN - {(t, w) for t, w, _ in found})
    assert not stale, f"fixed, remove from KNOWN in this test: {stale}"


# --------------------------------------------------------------------------- jargon in plain words
#: the jargon issue #15 names (and its brief), as the report may print it: each must have a glossary sentence
JARGON = ("equalized odds", "studentized deleted residual", "channels-last memory layout", "Rao–Scott design effect",
          "Rao and Scott", "an intersection–union test", "random-effects model", "I² = 40%", "tau² by REML",
          "DeLong's variance", "Wilson score interval", "exact (Clopper–Pearson) interval", "Holm over 6 tests",
          "Bonferroni interval", "Obuchowski–Rockette", "the pointing game", "the energy fraction",
          "Newcombe's paired score interval", "McNemar's exact test", "Population stability index",
          "two-sample Kolmogorov–Smirnov D", "the design effect")
_NOTE = re.compile(r'<div class="plain-words">.*?</div>', re.S)


def test_every_jargon_term_has_a_plain_sentence():
    from valkit.report.glossary import GLOSSARY, terms_used

    missing = [j for j in JARGON if not terms_used(j)]
    assert not missing, f"jargon without a row in valkit/report/glossary.py GLOSSARY: {missing}"
    # a sentence must not need a sentence itself: no glossary term inside a plain sentence
    circular = [(t.shown, [u.shown for u in terms_used(t.plain)]) for t in GLOSSARY if terms_used(t.plain)]
    assert not circular, f"plain sentences that use glossary terms: {circular}"


def test_the_note_lists_the_terms_a_section_uses_in_order():
    from valkit.report.glossary import plain_words_note

    note = str(plain_words_note("<p>Pairs by equalized odds; a Bonferroni interval; I² 40% and tau² 0.2"
                                "<svg><text>Holm</text></svg></p>"))
    shown = re.findall(r"<strong>(.*?)</strong>", note)
    assert shown == ["Equalized odds", "Bonferroni adjustment", "I²", "tau²"]  # not Holm: inside a figure
    assert "miss the disease equally often" in note
    assert str(plain_words_note("<p>Sensitivity 90%.</p>")) == ""


def test_every_glossary_term_a_section_uses_has_its_plain_sentence_in_that_section(page):
    from valkit.report.glossary import terms_used

    problems, explained = [], 0
    for part in re.split(r'(?=<section id=")', page)[1:]:  # the front matter lists captions: explained where they stand
        title = visible_text(re.search(r"<h1[^>]*>(.*?)</h1>", part, re.S).group(1)).strip()
        notes = _NOTE.findall(part)
        note_text = visible_text(" ".join(notes))
        for term in terms_used(visible_text(_NOTE.sub(" ", part))):
            explained += 1
            if visible_text(term.plain) not in note_text:
                problems.append(f"section '{title}': '{term.shown}' is used but not explained in plain words")
    assert not problems, "\n".join(problems)
    assert explained >= 3, "the report should use (and explain) some jargon: is the glossary scan working?"
