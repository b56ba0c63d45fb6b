"""The reader study of a run: the protocol's ``reader_study:`` block → results.json ``reader_study``.

:func:`reader_study_section` reads the ratings named in the protocol, takes the model's
standalone scores from this run's predictions (``model_scores: run``, matched by
``case_id``), from a CSV, or not at all, runs :func:`valkit.reader_study.analyze_reader_study`
and judges the protocol's hypothesis on the confidence bound. What it returns is JSON-ready:

``reader_study`` = ``ReaderStudyResult.to_dict()`` (estimates, differences, tests, per_reader,
roc, model, comparison, reading_time, warnings, ...) plus

* ``flat``: ``to_flat_dict()`` (the keys of docs/reader-study.md);
* ``endpoint``: the verdict row (hypothesis, test - reference with its interval, the bound it
  is judged against, PASS/FAIL); a secondary endpoint that does not gate the exit code;
* ``inputs``: the ratings file and its sha256, where the model scores came from;
* ``binary``: sensitivity and specificity per modality at the protocol's rating threshold
  (when one is given), each in the compact form of :func:`_compact`;
* ``protocol``: the block as written (hypothesis, margin, washout, description).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from valkit.digests import file_sha256
from valkit.errors import InputError
from valkit.protocol import LoadedProtocol
from valkit.reader_study.analysis import ReaderStudyResult, analyze_reader_study, read_ratings
from valkit.reader_study.config import ReaderStudyOptions
from valkit.reader_study.input import listing
from valkit.results_schema import validate_block
from valkit.results_schema.reader_study import ReaderStudy
from valkit.suggest import did_you_mean

_BINARY = ("sensitivity", "specificity")


def run_model_scores(ratings: pd.DataFrame, merged: pd.DataFrame, *, source: str) -> dict[str, float]:
    """{case: score} for every case of the reader study, from this run's predictions.

    Raises :class:`InputError` naming the cases that have no prediction in the run, the
    cases whose prediction failed (with the reason), and the cases whose truth in the ratings
    differs from the run's reference standard.
    """
    cases = ratings["case"].astype(str).str.strip()
    run = merged.assign(case_id=merged["case_id"].astype(str).str.strip()).set_index("case_id")
    wanted = list(dict.fromkeys(cases))
    absent = [c for c in wanted if c not in run.index]
    if absent:
        raise InputError(
            f"{source}: reader_study.model_scores is 'run' but {len(absent)} of the {len(wanted)} reader-study "
            f"case(s) have no prediction in this run: {listing(absent, limit=10)}. Fix: the reader-study cases must be "
            "listed in the protocol's manifests with the same case_id, or give model_scores as a CSV "
            "(case, score), or model_scores: none.")
    failed = [f"{c} ({run.at[c, 'error'] if 'error' in run.columns and isinstance(run.at[c, 'error'], str) else 'failed'})"
              for c in wanted if run.at[c, "status"] != "ok"]
    if failed:
        raise InputError(
            f"{source}: reader_study.model_scores is 'run' but the model produced no score for "
            f"{len(failed)} reader-study case(s): {listing(failed, limit=10)}. Fix: repair those images, or give "
            "model_scores as a CSV, or model_scores: none.")
    truth = pd.Series(pd.to_numeric(ratings["truth"].astype(str).str.strip().str.lower()
                                    .map({"1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0}),
                                    errors="coerce").to_numpy(), index=cases.to_numpy())
    truth = truth[~truth.index.duplicated()]
    label = pd.to_numeric(run.loc[wanted, "label"], errors="coerce")
    differ = [f"{c} (ratings {int(truth[c])}, manifest {int(label[c])})" for c in wanted
              if pd.notna(truth[c]) and pd.notna(label[c]) and int(truth[c]) != int(label[c])]
    if differ:
        raise InputError(
            f"{source}: the truth of {len(differ)} reader-study case(s) differs from the run's reference "
            f"standard: {listing(differ, limit=10)}. Fix: the readers and the model must be judged against one "
            "reference standard; correct the ratings' truth column or the manifest.")
    return {c: float(run.at[c, "score"]) for c in wanted}


def _check_modalities(ratings: pd.DataFrame, opts: ReaderStudyOptions, source: str) -> None:
    found = sorted({str(m).strip() for m in ratings["modality"].dropna()})
    for key in ("test_modality", "reference_modality"):
        value = getattr(opts, key)
        if value not in found:
            hint = did_you_mean(value, found)
            raise InputError(
                f"reader_study.{key}: '{value}' is not a modality of {source}.{hint} "
                f"Modalities in the ratings: {', '.join(found) or 'none'}.")


def _compact(res: ReaderStudyResult) -> dict[str, Any]:
    """The parts of a binary-FOM analysis the report prints (no ROC, no DBM, no ANOVA)."""
    d = res.to_dict()
    keep = ("fom", "estimates", "differences", "per_reader", "model", "comparison", "n_positive", "n_negative",
            "settings", "warnings")
    return {k: d[k] for k in keep}


def _endpoint(res: ReaderStudyResult, opts: ReaderStudyOptions) -> dict[str, Any]:
    """The verdict: PASS when the lower confidence bound of test - reference clears the bound."""
    c = res.comparison
    d = c.difference
    bound = -float(opts.margin) if opts.hypothesis == "non_inferiority" else 0.0
    low = d.interval.low
    if not (isinstance(low, float) and math.isfinite(low)):
        verdict = "NOT ESTIMABLE"
    else:
        verdict = "PASS" if (c.noninferior if opts.hypothesis == "non_inferiority" else c.superior) else "FAIL"
    fom = opts.fom
    delta = f"{fom}({opts.test_modality}) - {fom}({opts.reference_modality})"
    level = f"{opts.confidence_level * 100:g}%"
    return {
        "id": "reader_study",
        "primary": False,
        "fom": fom,
        "hypothesis": opts.hypothesis,
        "test": opts.test_modality,
        "reference": opts.reference_modality,
        "margin": opts.margin,
        "bound": bound,
        "confidence_level": opts.confidence_level,
        "difference": {"estimate": d.estimate, "se": d.se, "df": d.df, "statistic": d.statistic,
                       "p_value": d.p_value, "interval": d.interval.to_dict()},
        "p_one_sided": c.p_noninferiority,
        "h0": f"{delta} <= {bound:g}",
        "h1": f"{delta} > {bound:g}",
        "judged_on": f"lower bound of the two-sided {level} CI (OR RRRC, Hillis ddf) > {bound:g}",
        "conclusion": c.verdict,
        "verdict": verdict,
        "n_readers": len(res.readers),
        "n_cases": len(res.table.cases),
    }


def _analyse(ratings_path: Path, opts: ReaderStudyOptions, *, fom: str, model_scores: Any,
             model_threshold: float | None) -> tuple[ReaderStudyResult, list[str]]:
    """Run the analysis, keeping warnings the engine emits as notes (they go into results.json)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = analyze_reader_study(
            ratings_path, fom=fom, threshold=opts.threshold,
            covariance=opts.covariance if fom == "auc" else "jackknife",
            model_scores=model_scores, alpha=opts.alpha, design=opts.design,
            margin=opts.margin if opts.hypothesis == "non_inferiority" else 0.0,
            test_modality=opts.test_modality, reference_modality=opts.reference_modality,
            model_threshold=model_threshold if fom in _BINARY and model_scores is not None else None)
    extra = [str(w.message) for w in caught if str(w.message) not in res.warnings]
    return res, list(dict.fromkeys(extra))


def reader_study_section(loaded: LoadedProtocol, merged: pd.DataFrame, *, threshold: float) -> ReaderStudy:
    """Analyse the protocol's reader study; the results.json ``reader_study`` block, validated here.

    ``merged`` is the run's study table joined with its predictions (case_id, label, score,
    status); ``threshold`` is the run's operating threshold, the model's default operating
    point for sensitivity and specificity when ``model_scores: run``.
    """
    opts = loaded.protocol.reader_study
    if opts is None:
        raise ValueError("the protocol has no reader_study block")
    path = loaded.resolve(opts.ratings)
    if not path.is_file():
        raise InputError(f"reader_study.ratings: file not found: {opts.ratings} (resolved to {path}). "
                         "Fix: check the path (relative to the protocol file).")
    ratings, _ = read_ratings(path)
    if "modality" in ratings.columns:  # otherwise analyze_reader_study names every missing column
        _check_modalities(ratings, opts, str(path))
    model_threshold = opts.model_threshold
    inputs: dict[str, Any] = {"ratings": str(opts.ratings), "ratings_sha256": file_sha256(path),
                              "model_scores": opts.model_scores}
    if opts.model_scores == "run":
        scores: Any = run_model_scores(ratings, merged, source=str(path))
        inputs["model_scores_from"] = "this run's predictions, matched by case identifier"
        if model_threshold is None:
            model_threshold = threshold
    elif opts.model_scores_path is not None:
        scores = loaded.resolve(opts.model_scores_path)
        if not scores.is_file():
            raise InputError(f"reader_study.model_scores: file not found: {opts.model_scores} (resolved to "
                             f"{scores}). Fix: check the path, or use model_scores: run or none.")
        inputs["model_scores_sha256"] = file_sha256(scores)
        inputs["model_scores_from"] = f"file {opts.model_scores}"
    else:
        scores = None
        inputs["model_scores_from"] = "none (no standalone comparison)"
    inputs["model_threshold"] = model_threshold
    if opts.fom in _BINARY and scores is not None and model_threshold is None:
        raise InputError(f"reader_study.model_threshold: fom '{opts.fom}' with model scores from a file needs "
                         "the model's operating point on its own score scale, e.g. model_threshold: 0.5.")
    res, notes = _analyse(path, opts, fom=opts.fom, model_scores=scores, model_threshold=model_threshold)
    out: dict[str, Any] = res.to_dict()
    out["warnings"] = list(out.get("warnings") or []) + notes
    out["flat"] = res.to_flat_dict()
    out["endpoint"] = _endpoint(res, opts)
    out["inputs"] = inputs
    out["protocol"] = {"hypothesis": opts.hypothesis, "margin": opts.margin,
                       "confidence_level": opts.confidence_level, "threshold": opts.threshold,
                       "washout_days": opts.washout_days, "description": opts.description,
                       "test_modality": opts.test_modality, "reference_modality": opts.reference_modality}
    binary: dict[str, Any] | None = None
    if opts.threshold is not None:
        binary = {"threshold": opts.threshold, "model_threshold": model_threshold}
        with_model = scores if model_threshold is not None else None
        for fom in _BINARY:
            if fom == opts.fom:
                b = _compact(res)
            else:
                r2, n2 = _analyse(path, opts, fom=fom, model_scores=with_model, model_threshold=model_threshold)
                b = _compact(r2)
                b["warnings"] = list(b["warnings"]) + n2
            binary[fom] = b
    out["binary"] = binary
    return validate_block(ReaderStudy, out, path="reader_study")


__all__ = ["reader_study_section", "run_model_scores"]
