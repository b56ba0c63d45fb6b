"""Template context → HTML (jinja2) → PDF (WeasyPrint).

The HTML is rendered in two passes: the section bodies first, collecting the numbered
table and figure captions, then the front matter (cover, document control, contents
with lists of tables and figures) around them.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from valkit.report import templates as report_templates
from valkit.report.abbreviations import used_abbreviations, visible_text
from valkit.report.context import build_context
from valkit.report.formatting import plural
from valkit.report.glossary import plain_words_note

if TYPE_CHECKING:
    from valkit.results_schema import Results

@dataclass
class Captions:
    """Numbers tables and figures in order of appearance and remembers them for the contents."""

    tables: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)

    def _add(self, store: list, prefix: str, text: str) -> dict[str, Any]:
        n = len(store) + 1
        entry = {"id": f"{prefix.lower()}-{n}", "label": f"{prefix} {n}.", "text": str(text)}
        store.append(entry)
        return entry

    def table(self, text: str) -> Markup:
        e = self._add(self.tables, "Table", text)
        return Markup('<caption id="{}"><span class="caption-label">{}</span> {}</caption>').format(
            e["id"], e["label"], escape(e["text"]))

    def figure(self, text: str) -> Markup:
        e = self._add(self.figures, "Figure", text)
        return Markup('<figcaption id="{}"><span class="caption-label">{}</span> {}</figcaption>').format(
            e["id"], e["label"], escape(e["text"]))


def css_string(value: Any) -> Markup:
    """Text made safe inside a double-quoted CSS string in a <style> element.

    >>> str(css_string('A "b" </style>'))
    'A \\\\"b\\\\" \\\\3c /style\\\\3e '
    """
    out = []
    for ch in str(value):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "<>\n\r" or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return Markup("".join(out))


def environment(override: Path | None = None):
    """The jinja2 environment: valkit's templates, with ``override``'s files first (report.templates)."""
    import jinja2

    env = jinja2.Environment(
        loader=report_templates.loader(override),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt key in a template is an error, not a blank
        extensions=["jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css_string"] = css_string
    env.filters["plural"] = plural  # {{ n | plural("case") }}: "1 case", "2 cases", never "case(s)"
    env.globals["plain_words"] = plain_words_note  # {{ plain_words(html) }}: the jargon it uses, in plain words
    return env


@dataclass(frozen=True)
class ReportDocuments:
    """The report's two HTML documents, wrapped around one rendered body (so their numbers are the same).

    ``pdf_source``: ``report.html.j2``, what WeasyPrint prints (no script, no sidebar; images by file
    reference, read through the run folder as base URL). ``interactive``: ``report_interactive.html.j2``,
    written as ``report.html``: the same document with the screen layer (:mod:`valkit.report.interactive`)
    and every image embedded.
    """

    pdf_source: str
    interactive: str


def _render(results: "Results | dict", *, results_sha256: str, signatures: list[dict] | tuple):
    """The jinja2 environment and the context of the outer templates, the body rendered once."""
    from valkit.results_schema import Results, validate_results

    typed = results if isinstance(results, Results) else validate_results(results, source="results given to the report")
    env = environment(report_templates.override_folder(typed.provenance.report_templates))
    context = build_context(typed, results_sha256=results_sha256, signatures=signatures)
    captions = Captions()
    common = {"doc": context["doc"], "sections": context["sections"], "captions": captions}
    body = env.get_template("body.html.j2").render(**common)
    css, _, _ = env.loader.get_source(env, "report.css")
    context = {**common, "body": Markup(body), "css": Markup(css)}
    # the list names the abbreviations the document uses, front matter included: render, scan, render again
    bare = env.get_template("report.html.j2").render(**context, abbreviations=())
    return env, {**context, "abbreviations": used_abbreviations(visible_text(bare))}


def render_html(results: "Results | dict", *, results_sha256: str, signatures: list[dict] | tuple = ()) -> str:
    """The HTML the PDF is printed from (CSS inlined, SVG figures inline, images by relative path).

    ``results``: a validated :class:`~valkit.results_schema.Results`; a plain dict is validated
    first (:class:`~valkit.results_schema.ResultsSchemaError` names each bad key). Rendered with
    the template overrides the run recorded (``provenance.report_templates``).
    """
    env, context = _render(results, results_sha256=results_sha256, signatures=signatures)
    return env.get_template("report.html.j2").render(**context)


def render_documents(results: "Results | dict", *, results_sha256: str, files_dir: Path,
                     signatures: list[dict] | tuple = ()) -> ReportDocuments:
    """Both documents of a report from one body: the PDF source and the self-contained HTML twin.

    ``files_dir``: the run folder, where the images the sections refer to are read from to embed them
    in the HTML twin. Otherwise as :func:`render_html`.
    """
    from valkit.report.interactive import interactive_document

    env, context = _render(results, results_sha256=results_sha256, signatures=signatures)
    return ReportDocuments(pdf_source=env.get_template("report.html.j2").render(**context),
                           interactive=interactive_document(env, context, files_dir=files_dir))


def _weasyprint():
    """Import WeasyPrint without its import-time notice about a missing system library.

    Without libharfbuzz-subset WeasyPrint subsets fonts with fontTools (slower, same PDF) and
    warns at import; the test suite turns warnings into errors, so the notice is silenced here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset will be required", category=DeprecationWarning)
        import weasyprint
    return weasyprint


_TITLE_DESC = re.compile(r'(<title( id="[^"]*")?>)([^<]*)(</title>\s*<desc( id="[^"]*")?>)([^<]*)(</desc>)')


def alt_text_from_desc(html: str) -> str:
    """Each inline SVG's ``<title>`` extended by its ``<desc>`` (for the PDF only).

    WeasyPrint takes a figure's alternate text (``/Alt``) from the SVG's ``<title>`` alone; the
    ``<desc>`` holds what the figure shows (the numbers drawn), which a reader without the
    picture needs. A ``<desc>`` that already starts with the title replaces it.

    >>> alt_text_from_desc('<svg><title id="t">ROC</title><desc id="d">ROC: AUC 0.91</desc></svg>')
    '<svg><title id="t">ROC: AUC 0.91</title><desc id="d">ROC: AUC 0.91</desc></svg>'
    >>> alt_text_from_desc('<svg><title>By sex</title><desc>F: 76.0%</desc></svg>')
    '<svg><title>By sex. F: 76.0%</title><desc>F: 76.0%</desc></svg>'
    """
    def merge(m: re.Match) -> str:
        title, desc = m.group(3).strip(), m.group(6).strip()
        alt = desc if desc.startswith(title) else f"{title.rstrip('.')}. {desc}" if desc else title
        return f"{m.group(1)}{alt}{m.group(4)}{m.group(6)}{m.group(7)}"

    return _TITLE_DESC.sub(merge, html)


def html_to_pdf(html: str, *, base_url: Path) -> bytes:
    """PDF bytes: PDF/A-2b, tagged, text searchable, fonts embedded, bookmarks from h1/h2.

    Tagged (``pdf_tags``): a structure tree (headings, paragraphs, tables with header cells,
    lists, figures) that screen readers and reflow use; each figure's alternate text (``/Alt``)
    is an SVG's ``<title>`` and ``<desc>`` (:func:`alt_text_from_desc`) or an image's ``alt``. :mod:`valkit.report.pdf_checks` checks the
    result.
    """
    weasyprint = _weasyprint()
    with warnings.catch_warnings():
        # WeasyPrint 70 opens its sRGB output-intent profile (PDF/A) without closing it
        warnings.filterwarnings("ignore", message=r"unclosed file .*sRGB2014\.icc", category=ResourceWarning)
        return weasyprint.HTML(string=alt_text_from_desc(html), base_url=str(base_url)).write_pdf(
            pdf_variant="pdf/a-2b", pdf_tags=True)
