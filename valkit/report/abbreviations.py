"""The report's list of abbreviations: every entry of a master table whose abbreviation the report uses.

:func:`used_abbreviations` scans the visible text of the rendered body for each entry's
pattern, so the list has exactly the abbreviations a reader meets, whichever sections a run
has. A test (tests/report/test_plain_language.py) fails when the report text has an all-caps
token that is neither here nor in :data:`NOT_ABBREVIATIONS`: add the new term to
:data:`MASTER` with its expansion (or, for a word in capitals, to the allow-list).
"""
from __future__ import annotations

import html
import re

#: (as printed, expansion, the tokens that mark its use). Sorted as printed, case-insensitively.
MASTER: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("AI", "artificial intelligence", ("AI",)),
    ("ANOVA", "analysis of variance", ("ANOVA",)),
    ("AUC", "area under the receiver operating characteristic curve", ("AUC",)),
    ("CDSCO", "Central Drugs Standard Control Organisation (India)", ("CDSCO",)),
    ("CFR", "US Code of Federal Regulations", ("CFR",)),
    ("CI", "confidence interval", ("CI", "CIs")),
    ("CLAIM", "Checklist for Artificial Intelligence in Medical Imaging", ("CLAIM",)),
    ("CONSORT-AI", "Consolidated Standards of Reporting Trials, AI extension", ("CONSORT",)),
    ("CPU / GPU", "central / graphics processing unit", ("CPU", "GPU", "CPUs", "GPUs")),
    ("CR / DR", "computed / digital radiography", ("CR", "DR")),
    ("CSV", "comma-separated values (a plain-text table file)", ("CSV",)),
    ("CUDA", "NVIDIA's programming platform for GPUs", ("CUDA",)),
    ("DBM", "Dorfman–Berbaum–Metz (pseudovalue analysis of a reader study)", ("DBM",)),
    ("ddf", "denominator degrees of freedom", ("ddf",)),
    ("df", "degrees of freedom", ("df",)),
    ("DICOM", "Digital Imaging and Communications in Medicine", ("DICOM",)),
    ("DL / PM / REML", "DerSimonian–Laird / Paule–Mandel / restricted maximum likelihood (estimators of the "
     "between-site variance)", ("DL", "PM", "REML")),
    ("DMF", "Device Master File (India)", ("DMF",)),
    ("EP", "Essential Principles (India's checklist of safety and performance requirements for medical "
     "devices)", ("EP",)),
    ("FDA", "US Food and Drug Administration", ("FDA",)),
    ("FN / FP", "false negative / false positive", ("FN", "FP")),
    ("FPR / TPR", "false-positive rate / true-positive rate", ("FPR", "TPR")),
    ("FRRC / RRFC / RRRC", "fixed readers, random cases / random readers, fixed cases / random readers, random "
     "cases (what a reader study's confidence interval generalises to)", ("FRRC", "RRFC", "RRRC")),
    ("I²", "share of the variation between sites that is beyond chance (0% = none)", ("I²",)),
    ("ID", "identifier", ("ID", "IDs")),
    ("IEC / ISO", "International Electrotechnical Commission / International Organization for Standardization",
     ("IEC", "ISO")),
    ("IT", "information technology", ("IT",)),
    ("JPEG / RLE", "image compression schemes used in DICOM files (Joint Photographic Experts Group / "
     "run-length encoding)", ("JPEG", "RLE")),
    ("JSON", "JavaScript Object Notation (a plain-text data file)", ("JSON",)),
    ("LR+ / LR−", "positive / negative likelihood ratio", ("LR",)),
    ("MDR", "Medical Devices Rules 2017 (India)", ("MDR",)),
    ("MONAI", "Medical Open Network for AI (an imaging deep-learning library)", ("MONAI",)),
    ("MRMC", "multi-reader multi-case (a reader study design)", ("MRMC",)),
    ("NI", "non-inferiority", ("NI",)),
    ("NPA / PPA", "negative / positive percent agreement", ("NPA", "PPA")),
    ("NPV / PPV", "negative / positive predictive value", ("NPV", "PPV")),
    ("OR", "Obuchowski–Rockette (analysis of a reader study)", ("OR",)),
    ("OS", "operating system", ("OS",)),
    ("PACS", "picture archiving and communication system", ("PACS",)),
    ("PDF", "Portable Document Format", ("PDF",)),
    ("QC", "quality control", ("QC",)),
    ("ROC", "receiver operating characteristic", ("ROC",)),
    ("RSS", "resident set size (memory a process holds)", ("RSS",)),
    ("SHA-256", "cryptographic digest identifying a file's exact content", ("SHA-256",)),
    ("SSIM", "structural similarity index (1 = identical images)", ("SSIM",)),
    ("STARD", "Standards for Reporting of Diagnostic Accuracy Studies", ("STARD",)),
    ("TN / TP", "true negative / true positive", ("TN", "TP")),
    ("TRIPOD+AI", "Transparent Reporting of a multivariable prediction model for Individual Prognosis Or "
     "Diagnosis, AI extension", ("TRIPOD",)),
    ("US", "United States", ("US",)),
    ("UTC", "Coordinated Universal Time", ("UTC",)),
    ("VR", "value representation (how a DICOM file encodes each field)", ("VR",)),
)

#: words printed in capitals that are not abbreviations a reader needs expanded: verdicts, DICOM
#: terms, product and company names, Roman numerals
NOT_ABBREVIATIONS = frozenset({
    "PASS", "PASSED", "FAIL", "FAILED", "NOT", "ESTIMABLE", "INSUFFICIENT", "EVIDENCE", "NO", "GOAL", "GOALS",
    "FOR", "CLINICAL", "USE", "WARN", "OK",
    "MONOCHROME1", "MONOCHROME2", "RGB", "AMD", "EPYC", "NVIDIA", "BMJ", "BCG", "MYN",
    "II", "III", "IV", "VI", "VII", "VIII", "IX", "XI", "XII", "XIII",
})

_TOKEN = r"(?<![\w\-.]){}(?![\w\-])"


def visible_text(page_html: str) -> str:
    """The text a reader sees: no style, script or inline SVG markup, entities decoded, spaces collapsed."""
    page_html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", page_html, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page_html)))


def used_abbreviations(text: str) -> tuple[tuple[str, str], ...]:
    """The ``(abbreviation, expansion)`` pairs of :data:`MASTER` whose tokens occur in ``text``.

    >>> [a for a, _ in used_abbreviations("sensitivity 90% (95% CI 80–95%), RRRC analysis, SHA-256")]
    ['CI', 'FRRC / RRFC / RRRC', 'SHA-256']
    """
    out = []
    for shown, expansion, tokens in MASTER:
        if any(re.search(_TOKEN.format(re.escape(t)), text) for t in tokens):
            out.append((shown, expansion))
    return tuple(out)


def unexplained_capitals(text: str, *, allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """All-caps tokens (2+ capitals, digits allowed, a plural s) in ``text`` that neither :data:`MASTER`
    nor :data:`NOT_ABBREVIATIONS` nor ``allowed`` knows, in order of first appearance.

    Parts of hyphenated identifiers (``VK-DEMO-VAL-001``, ``AR-5000``) are not words and are skipped.

    >>> unexplained_capitals("The AUC and the XYZ score (see ABC-123); PASS")
    ['XYZ']
    """
    known = {t for _, _, tokens in MASTER for t in tokens} | NOT_ABBREVIATIONS | set(allowed)
    seen: list[str] = []
    for m in re.finditer(r"(?<![\w\-.])([A-Z][A-Z0-9]*[A-Z][A-Z0-9]*)s?(?![\w\-])", text):
        tok = m.group(1)
        if tok not in known and m.group(0) not in known and tok not in seen:
            seen.append(tok)
    return seen


__all__ = ["MASTER", "NOT_ABBREVIATIONS", "unexplained_capitals", "used_abbreviations", "visible_text"]
