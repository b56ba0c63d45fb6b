"""Plain-language sentences for the statistical and technical jargon of the report.

A clinician reading the report meets words such as "equalized odds", "Wilson interval" or "I²".
:data:`GLOSSARY` holds one plain sentence for each; :func:`plain_words_note` scans the visible text
of one rendered section for the terms it uses and returns a short "In plain words" note that the
report prints at the end of that section (``reports/templates/body.html.j2``), in order of first
appearance. As with the list of abbreviations (:mod:`valkit.report.abbreviations`), the note is
derived from the text, so it is right whichever sections a run has and whatever a template says:
new jargon needs only a new row here. A test (tests/report/test_plain_language.py) checks that
every term a rendered section uses has its sentence in that section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from valkit.report.abbreviations import visible_text


@dataclass(frozen=True)
class Term:
    """One glossary entry.

    ``shown``: the term as the note prints it; ``plain``: one sentence in everyday words (no other
    glossary term in it); ``pattern``: a regular expression that marks the term's use in the text.
    """

    shown: str
    plain: str
    pattern: str
    case_sensitive: bool = False

    def used_at(self, text: str) -> int | None:
        """Where ``text`` first uses the term (character offset), or None."""
        m = re.search(self.pattern, text, 0 if self.case_sensitive else re.IGNORECASE)
        return m.start() if m else None


#: every term the report explains, sorted by the term
GLOSSARY: tuple[Term, ...] = (
    Term("Bonferroni adjustment", "when several comparisons are made at once, each one is held to a stricter "
         "standard (a wider interval), so that the chance of any false finding stays at 5%.", r"\bBonferroni\b"),
    Term("Bootstrap", "the result is recomputed on many random resamples of the cases; how much it varies "
         "gives the confidence interval.", r"\bbootstrap"),
    Term("Channels-last memory layout", "a way of arranging the image data in the computer's memory that can "
         "make the model run faster; it is a speed setting, not a different model.", r"\bchannels[- ]last\b"),
    Term("Clopper–Pearson interval", "an exact, deliberately cautious confidence interval for a percentage.",
         r"\bClopper[–-]\s*Pearson\b"),
    Term("Cochran's Q", "a test of whether the results of the groups or sites differ by more than chance "
         "would explain.", r"\bCochran['’]s Q\b"),
    Term("DeLong method", "the standard way to work out the confidence interval of an area under the ROC "
         "curve, or of the difference between two such areas measured on the same cases.", r"\bDeLong"),
    Term("Demographic parity", "the model should call the same share of cases positive in every group, "
         "whatever the true rate of disease in each.", r"\bdemographic[- ]parity\b"),
    Term("Design effect", "how many times more images are needed because images of one patient tend to "
         "agree with each other, compared with images that each come from a different patient.",
         r"\bdesign effects?\b"),
    Term("Energy fraction", "the share of the heatmap's total brightness that falls inside the lesion box; "
         "higher means the model looked more at the lesion.", r"\benergy fraction\b"),
    Term("Equalized odds", "the model should miss the disease equally often, and raise false alarms equally "
         "often, in every group.", r"\bequali[sz]ed odds\b"),
    Term("Holm adjustment", "when many tests are made at once, the p-values are raised step by step so that "
         "findings due to chance alone are not taken as real.", r"\bHolm\b"),
    Term("Hosmer–Lemeshow test", "a test of whether the model's predicted probabilities agree with how often "
         "the disease is actually present.", r"\bHosmer[–-]\s*Lemeshow\b"),
    Term("I²", "the share of the differences between sites that is more than chance alone would produce "
         "(0% means the sites agree as well as chance allows).", r"(?<!\w)I²", case_sensitive=True),
    Term("Intersection–union test", "the study passes only if every primary endpoint passes on its own; "
         "one success is not enough.", r"\bintersection[–-]\s*union\b"),
    Term("Kolmogorov–Smirnov test", "a test of whether two sets of scores are spread in the same way; D is "
         "the largest gap between them.", r"\bKolmogorov[–-]\s*Smirnov\b"),
    Term("McNemar test", "a test of whether two versions of the model, read on the same cases, disagree more "
         "often in one direction than in the other.", r"\bMcNemar"),
    Term("Newcombe interval", "a confidence interval for the difference between two percentages, such as the "
         "sensitivity of two model versions on the same cases.", r"\bNewcombe"),
    Term("Non-inferiority", "showing that the result is not worse than the comparison by more than a margin "
         "fixed before the study.", r"\bnon-inferiority\b"),
    Term("Obuchowski–Rockette analysis", "the standard analysis of a reader study; it allows for differences "
         "between readers as well as between cases, so that its conclusion carries over to other readers "
         "and other patients.", r"\bObuchowski[–-]\s*Rockette\b"),
    Term("Pointing game", "a check of whether the brightest spot of the model's heatmap falls on the lesion "
         "an expert marked (a hit) or elsewhere (a miss).", r"\bpointing[- ]game\b"),
    Term("Population stability index", "how far the spread of the model's scores has shifted between two "
         "versions; 0 means no shift, and larger values mean a larger shift.", r"\bpopulation stability index\b"),
    Term("Prediction interval", "the range in which the result at a new, similar site would be expected to "
         "fall.", r"\bprediction intervals?\b"),
    Term("Random effects", "the pooled estimate allows the true performance to differ from site to site, "
         "instead of assuming that every site is the same.", r"\brandom[- ]effects?\b"),
    Term("Rao–Scott adjustment", "the uncertainty is widened to allow for several images of one patient "
         "being alike, so that they are not counted as independent evidence.", r"\bRao(?:[–-]\s*| and )Scott\b"),
    Term("Studentized deleted residual", "how far one site's result lies from the pooled result of all the "
         "other sites, measured against its own uncertainty; a large value marks a site that stands apart.",
         r"\bstudenti[sz]ed deleted residuals?\b"),
    Term("tau²", "the estimated spread of the true performance between sites (0 when the sites do not "
         "really differ).", r"(?<!\w)(?:tau|τ)²"),
    Term("Wilson interval", "a standard confidence interval for a percentage such as sensitivity, reliable "
         "even when the numbers are small.", r"\bWilson\b"),
)


def terms_used(text: str) -> tuple[Term, ...]:
    """The glossary terms that ``text`` uses, in order of first use.

    >>> [t.shown for t in terms_used("Wilson score interval; equalised odds; I² = 40%, tau² 0.1, IQR")]
    ['Wilson interval', 'Equalized odds', 'I²', 'tau²']
    """
    found = [(at, t) for t in GLOSSARY if (at := t.used_at(text)) is not None]
    return tuple(t for _, t in sorted(found, key=lambda p: p[0]))


def plain_words_note(section_html: str) -> Markup:
    """The "In plain words" note for one rendered section: a sentence per term its visible text uses.

    Empty when the section uses none. The note itself holds no glossary term (its sentences avoid them).

    >>> str(plain_words_note("<p>No jargon here.</p>"))
    ''
    >>> "<strong>Holm adjustment</strong>: when many tests" in plain_words_note("<p>adjusted p (Holm)</p>")
    True
    """
    terms = terms_used(visible_text(str(section_html)))
    if not terms:
        return Markup("")
    items = Markup("").join(Markup("<li><strong>{}</strong>: {}</li>").format(t.shown, escape(t.plain))
                            for t in terms)
    return Markup('<div class="plain-words"><p class="plain-words-title">In plain words</p><ul>{}</ul></div>'
                  ).format(items)


__all__ = ["GLOSSARY", "Term", "plain_words_note", "terms_used"]
