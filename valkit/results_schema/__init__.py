"""The typed contract of results.json: one frozen pydantic model per block.

Every block is a frozen model that rejects unknown keys, in the module of its noun:

- :mod:`~valkit.results_schema.base`: ``Estimate``, ``Interval``, ``TestResult``, ``Confusion``;
- :mod:`~valkit.results_schema.run_info`: protocol echo, model, inference, provenance, tool validation;
- :mod:`~valkit.results_schema.data`: case flow, Table 1, acquisition, clustering, external scores;
- :mod:`~valkit.results_schema.accuracy`: operating point, primary, per-level rows, endpoints,
  methods, deviations, calibration, acceptance;
- :mod:`~valkit.results_schema.subgroups`, :mod:`~valkit.results_schema.fairness`,
  :mod:`~valkit.results_schema.sites`: the subgroup, fairness and heterogeneity sections;
- :mod:`~valkit.results_schema.latency`, :mod:`~valkit.results_schema.explainability`,
  :mod:`~valkit.results_schema.reader_study`, :mod:`~valkit.results_schema.baseline`: the optional sections;
- :mod:`~valkit.results_schema.document`: :class:`Results`, the whole file.

:func:`validate_block` is called where each block is built (:func:`valkit.analyses.analyse` returns a
:class:`~valkit.results_schema.analyses.StudyAnalyses`; each optional section returns its block),
:func:`validate_results` where results.json is written (:func:`valkit.results.write_results`) and where
it is read (:func:`valkit.results.load_results`, the renderer's entry); a missing, misspelt or mistyped
key is an error naming its path. A block dumps (:meth:`Block.written`) the keys it was given, in their order.
``valkit schema --results`` prints :func:`results_json_schema` (committed as docs/results.schema.json).

Adding a key: add the field to the block's model (optional, with a default, if older runs
lack it and the report copes), regenerate docs/results.schema.json
(``valkit schema --results > docs/results.schema.json``) and say it in the commit.
"""
from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter, ValidationError

from valkit.json_values import as_written

from valkit.results_schema.base import Block, Confusion, Estimate, Interval, TestResult
from valkit.results_schema.document import Results

#: the most problems listed in one error message
MAX_LISTED = 12


class ResultsSchemaError(ValueError):
    """results.json does not match :class:`Results`: ``problems`` holds ``(key path, message)`` pairs."""

    def __init__(self, message: str, problems: list[tuple[str, str]]):
        super().__init__(message)
        self.problems = problems


def key_path(loc: tuple[Any, ...]) -> str:
    """``('primary', 'sensitivity', 'interval')`` → ``primary.sensitivity.interval``; list items as ``[i]``.

    >>> key_path(("endpoints", 0, "estimate", "value"))
    'endpoints[0].estimate.value'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _problems(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        if err["type"] == "missing":
            msg = "missing (required key)"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key (misspelt, or written by a different valkit version)"
        else:
            found = repr(err.get("input"))
            msg = f"{err['msg']} (found {found[:60] + '…' if len(found) > 60 else found})"
        out.append((key_path(loc), msg))
    return out


def schema_error(exc: ValidationError, *, what: str, fix: str, prefix: tuple[Any, ...] = ()) -> ResultsSchemaError:
    """The one error message for a results.json block that does not match its model.

    Parameters
    ----------
    exc
        pydantic's error.
    what
        What was checked, e.g. ``"results.json"`` or ``"the block 'latency' built by this run"``.
    fix
        The sentence that tells the reader what to do.
    prefix
        The block's place in results.json (``("latency",)``): each problem is named by its full key path.

    Returns
    -------
    ResultsSchemaError
        Listing at most :data:`MAX_LISTED` ``key path: problem`` lines.
    """
    from valkit import __version__

    problems = _problems(exc, prefix)
    listed = "\n".join(f"  {path}: {msg}" for path, msg in problems[:MAX_LISTED])
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return ResultsSchemaError(
        f"{what}: does not match the results.json schema of valkit {__version__} "
        f"({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{listed}{more}\n{fix}", problems)


def _writer(data: Any) -> str:
    """Which valkit wrote ``data``, from its provenance (best effort)."""
    try:
        v = data["provenance"]["valkit"]
        commit = f", commit {str(v['commit'])[:12]}" if v.get("commit") else ""
        return f"valkit {v['version']}{commit}"
    except (KeyError, TypeError, AttributeError):
        return "an unknown valkit version"


def validate_results(data: dict[str, Any], *, source: str = "results.json") -> Results:
    """``data`` as a :class:`Results`, or :class:`ResultsSchemaError` naming every bad key path.

    ``source`` names the file (or the writer) in the message.
    """
    try:
        results = Results.model_validate(data)
    except ValidationError as exc:
        raise schema_error(
            exc, what=source,
            fix=f"It was written by {_writer(data)}. Fix: re-run `valkit run PROTOCOL` with this valkit to write a "
                "current results.json (`valkit schema --results` prints the expected format).") from None
    return results


@functools.lru_cache(maxsize=None)
def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


def validate_block(kind: Any, data: Any, *, path: str) -> Any:
    """``data``, a block an analysis built, as its frozen model: checked where it is made.

    Parameters
    ----------
    kind
        The block's model (:class:`~valkit.results_schema.accuracy.Primary`, ...) or a union alias
        (:data:`~valkit.results_schema.explainability.Explainability`).
    data
        The block as built: NaN, numpy scalars and tuples are taken as results.json writes them
        (:func:`valkit.json_values.as_written`), so the model holds what the file will hold.
    path
        Where the block goes in results.json (``"latency"``, or ``"(analyses)"`` for
        :class:`~valkit.results_schema.analyses.StudyAnalyses`, whose fields are top-level keys).

    Returns
    -------
    Block
        The validated, frozen block; :meth:`Block.written` gives it back for results.json.

    Raises
    ------
    ResultsSchemaError
        A missing, misspelt or mistyped key, named by its full key path (``latency.batches[0].status``):
        a bug in the code that built the block, found before anything is written.
    """
    prefix = () if path == "(analyses)" else (path,)
    try:
        return _adapter(kind).validate_python(as_written(data))
    except ValidationError as exc:
        where = "the analyses" if not prefix else f"the block '{path}'"
        raise schema_error(
            exc, what=f"{where} built by this run", prefix=prefix,
            fix="Nothing was written. Fix: this is a bug in the code that builds the block (valkit/analyses or "
                "the section's module): make it match its model in valkit/results_schema "
                "(`valkit schema --results` prints the expected format).") from None


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of results.json."""
    schema = Results.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "valkit results.json",
        "description": ("results.json written by `valkit run` (schema_version 1): the archivable truth of a run and "
                        "the report's single input. Numbers that were NaN or infinite are null."),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


__all__ = ["Block", "Confusion", "Estimate", "Interval", "MAX_LISTED", "Results", "ResultsSchemaError",
           "TestResult", "key_path", "results_json_schema", "schema_error", "validate_block", "validate_results"]
