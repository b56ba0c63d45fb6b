"""The HTML twin's screen layer: what ``report.html`` has and the PDF has not.

``report_interactive.html.j2`` extends the PDF's ``report.html.j2`` (so both wrap the same body,
cover and front matter) and adds, for a screen only:

- a contents sidebar that stays in view (``report_interactive.css``, all of it under ``@media screen``
  except a print block that hides the controls again);
- ``report_interactive.js``, inlined: sortable and filterable subgroup and site tables, collapsible
  sections, "Expand all" / "Collapse all". Plain JavaScript with no library and no network; buttons
  and inputs, so a keyboard reaches every control;
- a content security policy (``default-src 'none'``; images from data: URIs, inline style and
  script only), so the page cannot fetch anything;
- every image embedded (:func:`valkit.report.embedding.embed_files`): one file is the whole report.

Without JavaScript the page reads as the document: every section open, tables in report order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from valkit.report.embedding import embed_files

TEMPLATE = "report_interactive.html.j2"
STYLESHEET = "report_interactive.css"
SCRIPT = "report_interactive.js"


def _source(env, name: str) -> str:
    source, _, _ = env.loader.get_source(env, name)
    return source


def interactive_document(env, context: dict[str, Any], *, files_dir: Path) -> str:
    """``report.html``: the PDF's document with the screen layer, every image read from ``files_dir``.

    ``env`` and ``context``: the jinja2 environment and outer-template context the PDF source was
    rendered with (:func:`valkit.report.render.render_documents`).
    """
    script = _source(env, SCRIPT)
    if "</script" in script.lower():  # would end the inline <script> element early
        raise ValueError(f"{SCRIPT}: contains '</script'; write it as '<\\/script' in the script.")
    html = env.get_template(TEMPLATE).render(**context, screen_css=Markup(_source(env, STYLESHEET)),
                                             script=Markup(script))
    return embed_files(html, Path(files_dir))


__all__ = ["interactive_document", "SCRIPT", "STYLESHEET", "TEMPLATE"]
