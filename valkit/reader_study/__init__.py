"""Reader studies (MRMC): one home for the feature, from the protocol block to results.json.

- :mod:`valkit.reader_study.config`: the protocol's ``reader_study:`` block (:class:`ReaderStudyOptions`).
- :mod:`valkit.reader_study.input`: the tidy ratings table read and validated (:func:`validate_ratings`).
- :mod:`valkit.reader_study.analysis`: :func:`analyze_reader_study` → :class:`ReaderStudyResult`, the
  I/O side of the statistics in :mod:`valkit.stats.mrmc`.
- :mod:`valkit.reader_study.run`: the reader study of a validation run → results.json ``reader_study``.

Its results block is typed in :mod:`valkit.results_schema.reader_study`, its report section is
:mod:`valkit.report.sections.reader_study` (the renderer seam), its CLI is ``valkit reader-study``
(:mod:`valkit.commands.reader_study`).
"""
from __future__ import annotations

import importlib
from typing import Any

#: public name -> submodule. Loaded on first use (PEP 562), so that reading a protocol
#: (which imports :mod:`valkit.reader_study.config`) does not import the MRMC statistics.
_PUBLIC = {
    "RatingTable": "input", "read_model_scores": "input", "read_ratings": "input", "validate_ratings": "input",
    "ReaderStudyOptions": "config",
    "ReaderStudyResult": "analysis", "analyze_reader_study": "analysis",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'valkit.reader_study' has no attribute '{name}'")
    return getattr(importlib.import_module(f"valkit.reader_study.{_PUBLIC[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
