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

:func:`validate_results` is called where results.json is written
(:func:`valkit.results.write_results`) and where it is read (:func:`valkit.results.load_results`,
the renderer's entry); a missing, misspelt or mistyped key is an error naming its path.
``valkit schema --results`` prints :func:`results_json_schema` (committed as docs/results.schema.json).

Adding a key: add the field to the block's model (optional, with a default, if older runs
lack it and the report copes), regenerate docs/results.schema.json
(``valkit schema --results > docs/results.schema.json``) and say it in the commit.
"""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

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


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if err["type"] == "missing":
            msg = "missing (required key)"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key (misspelt, or written by a different valkit version)"
        else:
            found = repr(err.get("input"))
            msg = f"{err['msg']} (found {found[:60] + '…' if len(found) > 60 else found})"
        out.append((key_path(loc), msg))
    return out


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
    from valkit import __version__

    try:
        results = Results.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        listed = "\n".join(f"  {path}: {msg}" for path, msg in problems[:MAX_LISTED])
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise ResultsSchemaError(
            f"{source}: does not match the results.json schema of valkit {__version__} "
            f"({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{listed}{more}\n"
            f"It was written by {_writer(data)}. Fix: re-run `valkit run PROTOCOL` with this valkit to write a "
            "current results.json (`valkit schema --results` prints the expected format).",
            problems) from None
    return results


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
           "TestResult", "key_path", "results_json_schema", "validate_results"]
