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

from valkit.reader_study.analysis import ReaderStudyResult, analyze_reader_study
from valkit.reader_study.config import ReaderStudyOptions
from valkit.reader_study.input import RatingTable, read_model_scores, read_ratings, validate_ratings

__all__ = ["RatingTable", "ReaderStudyOptions", "ReaderStudyResult", "analyze_reader_study", "read_model_scores",
           "read_ratings", "validate_ratings"]
