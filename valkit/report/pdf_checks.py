"""Structural checks of a rendered report PDF: PDF/A-2b markers, tagging, fonts, bookmarks, footers.

veraPDF, the reference PDF/A validator, is a Java program and not installable from PyPI, so
valkit checks the properties a reviewer's PDF checker (and the FDA's PDF specifications) look at
itself, with pypdf (``pip install pypdf``; in the ``test`` extra). Each :class:`PdfCheck` says
what it verified; ``LIMITS`` says what these checks do not verify, so a pass here is not a
PDF/A conformance claim.

>>> [name for name, _ in CHECKS][:3]
['pdfa_identification', 'output_intent', 'fonts_embedded']
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["PdfCheck", "CHECKS", "LIMITS", "check_pdf", "failed", "figure_alt_texts"]


@dataclass(frozen=True)
class PdfCheck:
    """One check's outcome: ``name``, whether it ``passed``, and ``detail`` (what was found)."""

    name: str
    passed: bool
    detail: str


#: check name → what it verifies (printed in docs/report.md)
CHECKS: tuple[tuple[str, str], ...] = (
    ("pdfa_identification", "the XMP metadata declares PDF/A part 2, conformance B (pdfaid:part, pdfaid:conformance)"),
    ("output_intent", "an OutputIntent of subtype GTS_PDFA1 whose destination profile is an ICC profile"),
    ("fonts_embedded", "every font used on every page (and in its form XObjects) has an embedded font program"),
    ("not_encrypted", "the file has no Encrypt dictionary"),
    ("no_javascript", "no JavaScript name tree, no JavaScript/Launch actions, no additional-actions (AA) entries"),
    ("no_embedded_files", "no EmbeddedFiles name tree and no file-attachment annotations"),
    ("transparency", "every blend mode is a standard one and no soft mask is a forbidden kind (cheap subset of "
                     "PDF/A-2 6.2.10)"),
    ("pdf_version", "the header's PDF version is at most 1.7 (PDF/A-2 is based on PDF 1.7) and the trailer has an ID"),
    ("info_matches_xmp", "the document information Title equals the XMP dc:title"),
    ("tagged", "a structure tree, MarkInfo Marked true, a document language, and non-empty alternate text on "
               "every Figure element"),
    ("bookmarks", "a bookmark (outline entry) for every expected section heading"),
    ("page_x_of_y", "every page's text has the footer 'Page i of n' with its own number and the page count"),
    ("text_searchable", "every page yields extractable text"),
)

#: what the checks above cannot establish
LIMITS = (
    "They are not a PDF/A validator: the 100+ rules of ISO 19005-2 (content-stream operators, colour spaces of "
    "every object, font widths and encodings, XMP schema validity, annotation appearance streams) are not "
    "checked; run veraPDF (https://verapdf.org) on the final submission copy for a conformance report.",
    "Tagging is checked for presence (structure tree, figure alternate text), not for a correct reading order or "
    "table header association (PDF/UA); whether an alternate text describes its figure well is for a person to judge.",
    "Transparency is checked only for blend-mode names and soft-mask kinds, not for group colour spaces.",
)


def _pypdf():
    try:
        import pypdf
    except ImportError as exc:  # a test/CI dependency, not needed to render a report
        from valkit.errors import EnvironmentProblem

        raise EnvironmentProblem("valkit.report.pdf_checks needs pypdf, which is not installed: "
                                 "pip install pypdf (or pip install 'valkit[test]').") from exc
    return pypdf


def _walk(root: Any, generic: Any) -> Iterable[Any]:
    """Every dictionary reachable from ``root`` (indirect objects visited once)."""
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, generic.IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, generic.DictionaryObject):
            yield obj
            for k, v in obj.items():
                if k not in ("/Parent", "/P"):  # back-links: the tree is walked from the root down
                    stack.append(v)
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj)


def _xmp(reader: Any) -> str:
    meta = reader.trailer["/Root"].get("/Metadata")
    return meta.get_object().get_data().decode("utf-8", "replace") if meta is not None else ""


def _xmp_value(xmp: str, name: str) -> str | None:
    m = re.search(rf'{name}="([^"]*)"', xmp) or re.search(rf"<{name}>([^<]*)</{name}>", xmp)
    return m.group(1) if m else None


def _xmp_title(xmp: str) -> str | None:
    m = re.search(r"<dc:title>.*?<rdf:li[^>]*>(.*?)</rdf:li>", xmp, re.S)
    if not m:
        return None
    from html import unescape

    return unescape(m.group(1))


def _outline_titles(reader: Any) -> list[str]:
    out: list[str] = []

    def walk(items: Sequence[Any]) -> None:
        for it in items:
            if isinstance(it, list):
                walk(it)
            else:
                out.append(" ".join(str(it.title).split()))

    walk(reader.outline)
    return out


def _fonts(page: Any, generic: Any) -> Iterable[tuple[str, Any]]:
    """(name, font dictionary) of every font in a page's resources and its form XObjects."""
    stack = [page.get("/Resources")]
    seen: set[int] = set()
    while stack:
        res = stack.pop()
        res = res.get_object() if res is not None else None
        if not isinstance(res, generic.DictionaryObject) or id(res) in seen:
            continue
        seen.add(id(res))
        for name, font in (res.get("/Font") or {}).items():
            yield name, font.get_object()
        for xobj in (res.get("/XObject") or {}).values():
            xobj = xobj.get_object()
            if xobj.get("/Subtype") == "/Form":
                stack.append(xobj.get("/Resources"))


def _embedded(font: Any) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # glyphs are content streams in the file itself
    fonts = [f.get_object() for f in font.get("/DescendantFonts") or []] or [font]
    return all(any(k in (f.get("/FontDescriptor") or {}) for k in ("/FontFile", "/FontFile2", "/FontFile3"))
               for f in fonts)


def _page_texts(data: bytes, reader: Any) -> list[str]:
    """Each page's text: poppler's pdftotext when installed (fast), else pypdf (about 1 s a page)."""
    import shutil
    import subprocess

    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True)
        pages = out.stdout.decode("utf-8").split("\f")
        return pages[:len(reader.pages)]
    return [page.extract_text() or "" for page in reader.pages]


STANDARD_BLEND_MODES = {"/Normal", "/Compatible", "/Multiply", "/Screen", "/Overlay", "/Darken", "/Lighten",
                        "/ColorDodge", "/ColorBurn", "/HardLight", "/SoftLight", "/Difference", "/Exclusion",
                        "/Hue", "/Saturation", "/Color", "/Luminosity"}


def check_pdf(pdf: Path | bytes, *, section_titles: Sequence[str] = ()) -> list[PdfCheck]:
    """Run every check in :data:`CHECKS` on ``pdf`` (a path or the bytes).

    ``section_titles``: headings that must each have a bookmark (the report's section titles).
    Returns one :class:`PdfCheck` per check, in the order of :data:`CHECKS`.
    """
    import io

    pypdf = _pypdf()
    from pypdf import generic

    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    xmp = _xmp(reader)
    dicts = list(_walk(root, generic))
    results: dict[str, tuple[bool, str]] = {}

    part, conf = _xmp_value(xmp, "pdfaid:part"), _xmp_value(xmp, "pdfaid:conformance")
    results["pdfa_identification"] = (part == "2" and conf == "B", f"pdfaid:part={part}, conformance={conf}")

    intents = [i.get_object() for i in root.get("/OutputIntents") or []]
    profiles = [i["/DestOutputProfile"].get_object().get_data() for i in intents
                if i.get("/S") == "/GTS_PDFA1" and "/DestOutputProfile" in i]
    icc = [p for p in profiles if p[36:40] == b"acsp"]  # the ICC header's signature field
    results["output_intent"] = (bool(icc), f"{len(intents)} output intent(s), {len(icc)} with an ICC profile")

    missing = sorted({f"{f.get('/BaseFont', name)} (page {i})" for i, page in enumerate(reader.pages, 1)
                      for name, f in _fonts(page, generic) if not _embedded(f)})
    results["fonts_embedded"] = (not missing, "not embedded: " + ", ".join(missing) if missing else "all embedded")

    results["not_encrypted"] = ("/Encrypt" not in reader.trailer, "Encrypt dictionary present"
                                if "/Encrypt" in reader.trailer else "no Encrypt dictionary")

    names = root.get("/Names")
    names = names.get_object() if names is not None else {}
    js = [d for d in dicts if d.get("/S") in ("/JavaScript", "/Launch") or "/JS" in d or "/AA" in d]
    js_tree = "/JavaScript" in names
    results["no_javascript"] = (not js and not js_tree, f"{len(js)} JavaScript/Launch action(s) or AA entries, "
                                f"JavaScript name tree {'present' if js_tree else 'absent'}")

    attach = [d for d in dicts if d.get("/Subtype") == "/FileAttachment" or d.get("/Type") == "/EmbeddedFile"]
    ef_tree = "/EmbeddedFiles" in names
    results["no_embedded_files"] = (not attach and not ef_tree, f"{len(attach)} attachment(s), EmbeddedFiles "
                                    f"name tree {'present' if ef_tree else 'absent'}")

    bad_bm = sorted({str(d["/BM"]) for d in dicts if "/BM" in d and isinstance(d["/BM"], generic.NameObject)
                     and d["/BM"] not in STANDARD_BLEND_MODES})
    bad_smask = [d for d in dicts if d.get("/Type") == "/ExtGState" and isinstance(d.get("/SMask"), generic.NameObject)
                 and d["/SMask"] != "/None"]
    results["transparency"] = (not bad_bm and not bad_smask,
                               f"non-standard blend modes: {bad_bm or 'none'}; bad soft masks: {len(bad_smask)}")

    version = data[5:8].decode("ascii", "replace")
    has_id = "/ID" in reader.trailer
    results["pdf_version"] = (version <= "1.7" and has_id, f"PDF {version}, trailer ID {'present' if has_id else 'absent'}")

    info_title = (reader.metadata or {}).get("/Title")
    xmp_title = _xmp_title(xmp)
    results["info_matches_xmp"] = (bool(info_title) and info_title == xmp_title,
                                   f"Info Title {info_title!r}, XMP dc:title {xmp_title!r}")

    figures = [d for d in dicts if d.get("/Type") == "/StructElem" and d.get("/S") == "/Figure"]
    no_alt = [d for d in figures if not str(d.get("/Alt") or "").strip()]
    marked = bool((root.get("/MarkInfo") or {}).get("/Marked"))
    lang = str(root.get("/Lang") or "")
    tagged = "/StructTreeRoot" in root and marked and bool(lang) and bool(figures) and not no_alt
    results["tagged"] = (tagged, f"structure tree {'present' if '/StructTreeRoot' in root else 'absent'}, "
                         f"Marked {marked}, Lang {lang!r}, {len(figures)} figure(s), {len(no_alt)} without /Alt")

    outline = _outline_titles(reader)
    absent = [t for t in section_titles if not any(t in o for o in outline)]
    results["bookmarks"] = (bool(outline) and not absent, f"{len(outline)} bookmark(s)"
                            + (f"; none for: {', '.join(absent)}" if absent else ""))

    texts = _page_texts(data, reader)
    n = len(texts)
    no_footer = [i for i, t in enumerate(texts, 1) if not re.search(rf"Page\s+{i}\s+of\s+{n}\b", t)]
    results["page_x_of_y"] = (not no_footer, f"{n} page(s); without 'Page i of {n}': {no_footer or 'none'}")
    empty = [i for i, t in enumerate(texts, 1) if len(t.split()) < 3]
    results["text_searchable"] = (not empty, f"pages without text: {empty or 'none'}")

    return [PdfCheck(name, *results[name]) for name, _ in CHECKS]


def figure_alt_texts(pdf: Path | bytes) -> list[str]:
    """The alternate text (``/Alt``, "" when absent) of every Figure element of the structure tree."""
    import io

    pypdf = _pypdf()
    from pypdf import generic

    data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    root = pypdf.PdfReader(io.BytesIO(data)).trailer["/Root"]
    tree = root.get("/StructTreeRoot")
    if tree is None:
        return []
    return [str(d.get("/Alt") or "") for d in _walk(tree, generic)
            if d.get("/Type") == "/StructElem" and d.get("/S") == "/Figure"]


def failed(checks: Sequence[PdfCheck]) -> list[str]:
    """One line per failed check: its name, what it verifies and what was found."""
    what = dict(CHECKS)
    return [f"{c.name}: expected {what[c.name]}; found {c.detail}" for c in checks if not c.passed]
