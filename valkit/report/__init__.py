"""The report renderer: ``RUN_DIR/results.json`` → ``report.html`` and ``report.pdf``.

It reads results.json (and the signatures made on it, signatures.json) only and computes no statistic: every number printed comes from
that file (formatting, such as a percent with one decimal, is all it does). So an
archived report can be regenerated from archived results with ``valkit report RUN_DIR``.

Layout
------
- :mod:`valkit.report.context`: :data:`~valkit.report.context.SECTIONS`, the ordered list of
  sections; each is a :class:`~valkit.report.context.Section` (anchor id, title, partial
  template, context function, the results.json keys it requires).
- :mod:`valkit.report.sections`: the context functions, grouped by topic.
- :mod:`valkit.report.figures`: SVG figures (ROC, STARD flow, forest plots) as strings.
- :mod:`valkit.report.formatting`: how numbers print ("not estimable" for null).
- :mod:`valkit.report.render`: jinja2 → HTML → WeasyPrint PDF; the body is rendered once and wrapped
  twice: ``report.html.j2`` (the PDF's source) and ``report_interactive.html.j2`` (``report.html``).
- :mod:`valkit.report.interactive`, :mod:`valkit.report.embedding`: the HTML twin's screen layer
  (sidebar, sortable and filterable tables, collapsible sections; no network) and its embedded images.
- :mod:`valkit.report.templates`: which templates render a run (valkit's, and a protocol's
  ``report.templates`` overrides by file name).
- ``reports/templates/`` (shipped in the wheel, see :mod:`valkit.assets`): ``report.html.j2``
  (shell), ``front/`` (cover, document control, contents), ``sections/*.html.j2`` (one partial
  per section), ``macros.html.j2`` and ``report.css`` (A4 print stylesheet: footers, page x of y,
  bookmarks).

Adding a section
----------------
An optional section (subgroups, reader study, computational performance, ...) renders
only when its key is in results.json:

1. write ``build(results, doc) -> dict | None`` in a module under
   :mod:`valkit.report.sections` that turns the results block into printable strings
   (use :mod:`valkit.report.formatting`; return ``None`` to omit the section);
2. write the partial ``reports/templates/sections/<name>.html.j2``; it sees ``s`` (your
   dict), ``doc`` (document control) and ``captions`` (``captions.table(text)`` /
   ``captions.figure(text)`` number a caption and list it in the contents);
3. add ``Section("<anchor>", "<Title>", "sections/<name>.html.j2", build,
   requires=("<results key>",))`` to ``SECTIONS`` at its place in the report.

Numbering, the contents entry and the PDF bookmark follow automatically.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from valkit.errors import EnvironmentProblem, InputError, ReportError, ValkitError, environment_problem
from valkit.progress import QUIET, Progress

FORMATS = ("pdf", "html")


def render_report(run_dir: Path, *, formats: tuple[str, ...] = ("pdf", "html"),
                  progress: Progress = QUIET) -> tuple[Path, ...]:
    """Render ``run_dir/results.json`` to ``report.html`` and/or ``report.pdf`` in ``run_dir``.

    Returns the paths written, in the order of ``formats``. ``progress`` reports each format rendered.
    Raises InputError for an unknown format or a missing/invalid results.json, and ReportError
    (exit code 5, the cause chained) when rendering fails: a template missing, a template or renderer bug.
    """
    from valkit.atomic_file import write_atomic
    from valkit.report.render import html_to_pdf, render_documents
    from valkit.results import load_results

    run_dir = Path(run_dir)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"report format(s) {', '.join(map(repr, unknown))}: expected one of "
                         f"{', '.join(FORMATS)}.")
    results = load_results(run_dir)  # fails naming the file and every bad key: no half-rendered report
    digest = hashlib.sha256((run_dir / "results.json").read_bytes()).hexdigest()
    from valkit.audit.signatures import read_signatures

    # signatures are made after results.json and bind its digest, so they live beside it (signatures.json)
    signatures = read_signatures(run_dir)
    written = []
    try:
        with progress.task("report: HTML"):
            # one body, two documents: report.html (self-contained, interactive) and the PDF's source
            documents = render_documents(results, results_sha256=digest, signatures=signatures, files_dir=run_dir)
        for fmt in dict.fromkeys(formats):
            path = run_dir / f"report.{fmt}"
            if fmt == "html":
                write_atomic(path, documents.interactive.encode("utf-8"))
            else:
                with progress.task("report: PDF"):
                    write_atomic(path, html_to_pdf(documents.pdf_source, base_url=run_dir))
            written.append(path)
    except OSError as exc:
        problem = environment_problem(exc)  # a full disk or no permission: the machine, not a bug (exit 2)
        if problem is None:
            raise ReportError(_failure_message(run_dir, exc)) from exc
        raise EnvironmentProblem(f"{problem}\n{run_dir / 'results.json'} is complete; once the cause is fixed, "
                                 f"render the report with `valkit report {run_dir}`.") from None
    except Exception as exc:  # noqa: BLE001 - any failure to render is a ReportError (exit 5), cause chained
        raise ReportError(_failure_message(run_dir, exc)) from exc
    return tuple(written)


def _failure_message(run_dir: Path, exc: Exception) -> str:
    why = str(exc) if isinstance(exc, ValkitError) else (
        f"{type(exc).__name__}: {exc} (a bug in valkit or in a template; please report it with the traceback above)")
    return (f"{run_dir}: the report could not be rendered. {why}\n"
            f"{run_dir / 'results.json'} is complete; once the cause is fixed, render the report with "
            f"`valkit report {run_dir}`.")


__all__ = ["render_report", "FORMATS"]
