"""Files a rendered report refers to, embedded as ``data:`` URIs so that one HTML file is the whole report.

The section templates refer to images beside results.json by relative path (the failure-analysis
heatmaps, ``explain/gallery/...png``); WeasyPrint reads them through its base URL when it prints the
PDF. The HTML twin must open alone (sent by e-mail, archived, viewed where the run folder is not), so
each ``<img src>`` and CSS ``url()`` that names a file is replaced by the file's bytes. This reads
image files only, never results.json: the renderer still computes nothing.

A file that is missing (results.json re-rendered without its run folder) or lies outside the run
folder is not embedded: the ``src`` is removed, so the browser shows the image's alt text, as the PDF
does, and nothing is fetched.
"""
from __future__ import annotations

import base64
import html as html_lib
import re
from pathlib import Path

#: media types by file suffix (anything else is embedded as application/octet-stream)
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}

_IMG_SRC = re.compile(r'(<img\b[^>]*?)\ssrc="([^"]*)"', re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")\s]+)\1\s*\)""", re.IGNORECASE)
_STYLE_BLOCK = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.IGNORECASE | re.DOTALL)
_STYLE_ATTR = re.compile(r'(\sstyle=")([^"]*)(")', re.IGNORECASE)
_NOT_A_FILE = re.compile(r"^(#|data:|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)


def data_uri(path: Path) -> str:
    """``data:<media type>;base64,...`` of a file's bytes.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dot.png"; _ = p.write_bytes(b"\\x89PNG")
    >>> data_uri(p)
    'data:image/png;base64,iVBORw=='
    """
    media = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{media};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _local_file(reference: str, base_dir: Path) -> Path | None:
    """The file a relative reference names inside ``base_dir``; None when absent or outside it."""
    base = base_dir.resolve()
    target = (base / html_lib.unescape(reference).split("#", 1)[0].split("?", 1)[0]).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def embed_files(html: str, base_dir: Path) -> str:
    """``html`` with every ``<img src>`` and CSS ``url()`` (in ``<style>`` and ``style=""``) naming a file
    replaced by a data: URI.

    References relative to ``base_dir`` (the run folder) are embedded; fragment references
    (``url(#arrowhead)`` in an inline SVG) and data: URIs are left alone. An image whose file is
    missing or outside ``base_dir`` loses its ``src`` (its alt text shows); a CSS ``url()`` to such a
    file becomes ``none``. So the result refers to no file and no address.

    >>> embed_files('<img src="gone.png" alt="a heatmap">', Path("."))
    '<img alt="a heatmap">'
    """
    def img(match: re.Match) -> str:
        head, ref = match.group(1), match.group(2)
        if ref.startswith("data:"):
            return match.group(0)
        path = None if _NOT_A_FILE.match(ref) else _local_file(ref, base_dir)
        return head if path is None else f'{head} src="{data_uri(path)}"'

    def css(match: re.Match) -> str:
        ref = match.group(2)
        if ref.startswith(("#", "data:")):
            return match.group(0)
        path = None if _NOT_A_FILE.match(ref) else _local_file(ref, base_dir)
        # unquoted: a data: URI has no quote, bracket or space, and a style="" attribute stays valid
        return "none" if path is None else f"url({data_uri(path)})"

    def styles(match: re.Match) -> str:  # url() only where CSS is: <style> blocks and style="" attributes
        return match.group(1) + _CSS_URL.sub(css, match.group(2)) + match.group(3)

    html = _IMG_SRC.sub(img, html)
    return _STYLE_ATTR.sub(styles, _STYLE_BLOCK.sub(styles, html))


__all__ = ["MEDIA_TYPES", "data_uri", "embed_files"]
