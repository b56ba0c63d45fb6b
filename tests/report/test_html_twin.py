"""The HTML twin (report.html) against the PDF's source: one body, the same numbers; the twin is
self-contained (images embedded, nothing fetched) and the PDF's source carries no script or sidebar.

The browser checks (sorting, filtering, collapsing, a screenshot) are in test_html_browser.py.
"""
from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from valkit.report.embedding import embed_files
from valkit.report.render import render_documents

PNG_1x1 = base64.b64decode(  # a 1×1 transparent PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


class _Cells(HTMLParser):
    """The text of every table cell, in document order, and every URL-valued attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self._depth = 0  # inside a th/td
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "action", "poster", "data", "xlink:href", "srcset") and value is not None:
                self.urls.append((tag, name, value))
        if tag in ("td", "th"):
            if self._depth == 0:
                self._buf = []
            self._depth += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._depth:
            self._depth -= 1
            if self._depth == 0:
                self.cells.append(" ".join("".join(self._buf).split()))

    def handle_data(self, data):
        if self._depth:
            self._buf.append(data)


def _parse(html: str) -> _Cells:
    p = _Cells()
    p.feed(html)
    p.close()
    return p


@pytest.fixture(scope="module")
def documents(fake_run):
    results = json.loads((fake_run / "results.json").read_text())
    return render_documents(results, results_sha256="0" * 64, files_dir=fake_run)


def test_every_table_cell_reads_the_same_in_the_html_and_the_pdf_source(documents):
    twin, pdf = _parse(documents.interactive), _parse(documents.pdf_source)
    assert len(pdf.cells) > 500  # the whole report's tables, not an empty page
    assert twin.cells == pdf.cells


def test_the_pdf_source_has_no_script_no_sidebar_and_no_event_handlers(documents):
    pdf = documents.pdf_source
    assert "<script" not in pdf.lower() and "report-sidebar" not in pdf and "javascript:" not in pdf.lower()
    assert not re.search(r"\son[a-z]+\s*=", pdf)  # onclick= and the like
    assert "<script>" in documents.interactive and 'id="report-sidebar"' in documents.interactive


def test_the_html_twin_fetches_nothing(documents):
    html = documents.interactive
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and "default-src 'none'" in csp.group(1) and "img-src data:" in csp.group(1)
    assert "connect-src" not in csp.group(1)  # falls back to 'none'
    parsed = _parse(html)
    assert "link" not in parsed.tags and "iframe" not in parsed.tags
    for tag, name, value in parsed.urls:
        # in-page anchors, embedded images and the SVG namespace (an identifier, never fetched) only
        assert value.startswith(("#", "data:")), f"<{tag} {name}={value[:80]!r}> points outside the file"
    styles = "".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))
    assert "@import" not in styles
    assert not [u for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", styles) if not u.startswith(("#", "data:"))]
    scripts = "".join(re.findall(r"<script[^>]*>(.*?)</script>", html, re.S))
    for api in ("fetch(", "XMLHttpRequest", "WebSocket", "EventSource", "import(", "sendBeacon", "http://", "https://"):
        assert api not in scripts


def test_render_report_writes_the_twin_as_report_html(rendered):
    html = (rendered / "report.html").read_text(encoding="utf-8")
    assert "<script>" in html and 'id="report-sidebar"' in html and "Content-Security-Policy" in html
    pdf = (rendered / "report.pdf").read_bytes()
    assert b"/JavaScript" not in pdf and b"/JS " not in pdf and b"/JS(" not in pdf


def test_embed_files_inlines_relative_images_and_css_urls(tmp_path):
    (tmp_path / "explain").mkdir()
    (tmp_path / "explain" / "a b.png").write_bytes(PNG_1x1)
    (tmp_path / "explain" / "c.png").write_bytes(PNG_1x1)
    (tmp_path.parent / "outside.png").write_bytes(PNG_1x1)
    html = ('<img src="explain/a b.png" alt="x"><img src="../outside.png" alt="out"><img src="gone.png" alt="gone">'
            '<img src="https://example.org/t.png" alt="web">'
            '<div style="background: url(explain/c.png)"></div>'
            '<style>.x { background: url("explain/c.png") } .y { background: url(missing.png) }</style>'
            '<svg><path marker-end="url(#arrowhead)"/></svg><p>see url(explain/c.png) in the text</p>')
    out = embed_files(html, tmp_path)
    uri = "data:image/png;base64," + base64.b64encode(PNG_1x1).decode()
    assert f'<img src="{uri}" alt="x">' in out
    # outside the run folder, missing, or on the web: never fetched, the alt text shows
    assert '<img alt="out">' in out and '<img alt="gone">' in out and '<img alt="web">' in out
    assert f'<div style="background: url({uri})">' in out  # unquoted: the attribute stays valid
    assert f".x {{ background: url({uri}) }}" in out and ".y { background: none }" in out
    assert 'marker-end="url(#arrowhead)"' in out and "see url(explain/c.png) in the text" in out


def test_embed_files_does_not_follow_a_link_out_of_the_run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (tmp_path / "secret.png").write_bytes(PNG_1x1)
    (run / "link.png").symlink_to(tmp_path / "secret.png")
    assert embed_files('<img src="link.png" alt="l">', run) == '<img alt="l">'


def test_a_missing_image_is_not_an_error_in_either_document(tmp_path):
    """results.json re-rendered alone (no explain/ folder): the twin shows the alt text, nothing breaks."""
    out = embed_files('<figure><img src="explain/gallery/x.png" alt="True positive I-1"></figure>', Path(tmp_path))
    assert out == '<figure><img alt="True positive I-1"></figure>'
