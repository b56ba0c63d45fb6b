"""Reader study (MRMC) input, validation and results: the I/O side of :mod:`valkit.stats.mrmc`.

Input is a tidy long table, one row per reader x case x modality::

    reader,case,modality,truth,rating[,reading_time_s]

``truth`` is 1 (positive) or 0; ``rating`` is any number, higher meaning more likely
positive (a 1-5 scale or a 0-100 probability). Labels of readers, cases and modalities
are free text; modalities and readers are numbered 1, 2, ... in sorted order of their
labels, and that numbering is the one in the JSON keys (``auc.reader1.mod2``).

Optional model standalone scores are a second table with columns ``case`` and
``score`` (or ``model_score``), one row per case.

:func:`analyze_reader_study` validates, runs the pure engine and returns a
:class:`ReaderStudyResult` with ``to_flat_dict()`` (the flat JSON keys) and ``to_dict()``
(a structured form for results.json).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valkit.errors import InputError
from valkit.reader_study.input import (  # noqa: F401 - validate_ratings re-exported: the public input API
    RatingTable,
    read_model_scores,
    read_ratings,
    validate_ratings,
)
from valkit.stats.types import Estimate, TestResult
from valkit.stats.mrmc.analysis import MRMCAnalysis, fom_jackknife, mrmc_analysis
from valkit.stats.mrmc.roc import average_roc, empirical_roc
from valkit.stats.mrmc.standalone import (
    MarginVerdict,
    ModelComparison,
    margin_verdict,
    model_vs_readers,
    negate,
)


@dataclass(frozen=True)
class ReaderStudyResult:
    """Result of :func:`analyze_reader_study`: the engine's analysis plus labels and extras."""

    analysis: MRMCAnalysis
    table: RatingTable
    settings: dict[str, Any]
    roc: dict[str, Any]
    model: tuple[ModelComparison, ...] | None = None
    model_fom_name: str | None = None
    comparison: MarginVerdict | None = None
    reading_time: dict[str, Any] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def modalities(self) -> tuple[str, ...]:
        return self.table.modalities

    @property
    def readers(self) -> tuple[str, ...]:
        return self.table.readers

    def estimates(self) -> tuple[Estimate, ...]:
        """Reader-averaged FOM of each modality with its RRRC interval (Hillis ddf)."""
        orr = self.analysis.obuchowski_rockette
        out = []
        for t, label in enumerate(self.table.modalities):
            m = orr.rrrc.modalities[t]
            out.append(Estimate(
                value=float(self.analysis.fom[t].mean()), interval=m.interval,
                n=self.analysis.jackknife.n_jackknife, method=f"{self.analysis.fom_name}, OR RRRC ({self.analysis.covariance})",
            ))
        return tuple(out)

    def difference_tests(self) -> tuple[TestResult, ...]:
        """Pairwise modality differences, OR RRRC test (mod_i - mod_j, sorted labels)."""
        orr = self.analysis.obuchowski_rockette
        labels = self.table.modalities
        return tuple(
            TestResult(statistic=d.statistic, p_value=d.p_value, difference=d.estimate, interval=d.interval,
                       method=f"OR RRRC t test, Hillis ddf: {labels[d.i]} - {labels[d.j]}", df=d.df)
            for d in orr.rrrc.differences)

    def to_flat_dict(self) -> dict[str, Any]:
        """Flat JSON object; keys as in shared/reference/mrmc/published_vandyke.csv (docs/reader-study.md)."""
        out: dict[str, Any] = {}
        tb = self.table
        out["n_modalities"] = len(tb.modalities)
        out["n_readers"] = len(tb.readers)
        out["n_cases"] = len(tb.cases)
        out["n_positive"] = int(tb.truth.sum())
        out["n_negative"] = int((~tb.truth).sum())
        out["design"] = self.analysis.design
        out["fom"] = self.analysis.fom_name
        out["covariance"] = self.analysis.covariance
        out["alpha"] = self.settings["alpha"]
        for t, m in enumerate(tb.modalities):
            out[f"mod{t + 1}.label"] = m
        for r, rd in enumerate(tb.readers):
            out[f"reader{r + 1}.label"] = rd
        out.update(self.analysis.to_flat_dict())
        if self.model is not None:
            tag = self.model_fom_name
            out[f"model.{tag}"] = self.model[0].model_fom
            base = f"model.{self.analysis.covariance}"
            out[f"{base}.var"] = self.model[0].var_model
            for mc in self.model:
                for name in ("rrrc", "frrc", "rrfc"):
                    d = getattr(mc, name)
                    k = f"{base}.{name.upper()}.mod{mc.modality + 1}"
                    out[f"{k}.diff"] = d.estimate
                    out[f"{k}.se"] = d.se
                    if math.isfinite(d.df):
                        out[f"{k}.df"] = d.df
                    out[f"{k}.p"] = d.p_value
                    out[f"{k}.ci_lower"] = d.interval.low
                    out[f"{k}.ci_upper"] = d.interval.high
        if self.comparison is not None:
            c = self.comparison
            out["comparison.test"] = tb.modalities[c.test]
            out["comparison.reference"] = tb.modalities[c.reference]
            out["comparison.diff"] = c.difference.estimate
            out["comparison.se"] = c.difference.se
            out["comparison.df"] = c.difference.df
            out["comparison.ci_lower"] = c.difference.interval.low
            out["comparison.ci_upper"] = c.difference.interval.high
            out["comparison.p"] = c.difference.p_value
            out["comparison.margin"] = c.margin
            out["comparison.p_noninferiority"] = c.p_noninferiority
            out["comparison.superior"] = c.superior
            out["comparison.noninferior"] = c.noninferior
            out["comparison.verdict"] = c.verdict
        if self.reading_time is not None:
            out.update(self.reading_time["flat"])
        return {k: _json_value(v) for k, v in out.items()}

    def to_dict(self) -> dict[str, Any]:
        """Structured form for results.json (strict JSON: nan/inf become null)."""
        a = self.analysis
        orr = a.obuchowski_rockette
        tb = self.table
        labels = tb.modalities

        def diff_dict(d) -> dict[str, Any]:
            return {"comparison": f"{labels[d.i]} - {labels[d.j]}" if d.i < len(labels) else None,
                    "estimate": d.estimate, "se": d.se, "df": d.df, "statistic": d.statistic,
                    "p_value": d.p_value, "interval": d.interval.to_dict()}

        def test_dict(test) -> dict[str, Any] | None:
            if test is None:
                return None
            return {
                "statistic": test.statistic, "df1": test.df1, "df2": test.df2, "p_value": test.p_value,
                "denominator": test.denominator,
                "differences": [diff_dict(d) for d in test.differences],
                "modalities": [{"modality": labels[m.modality], "estimate": m.estimate, "se": m.se, "df": m.df,
                                "interval": m.interval.to_dict()} for m in test.modalities],
                "readers": [{"reader": tb.readers[r.reader], "comparison": f"{labels[r.i]} - {labels[r.j]}",
                             "estimate": r.estimate, "se": r.se, "p_value": r.p_value,
                             "interval": r.interval.to_dict()} for r in test.readers],
            }

        per_reader = []
        for r, rd in enumerate(tb.readers):
            row: dict[str, Any] = {"reader": rd}
            for t, m in enumerate(labels):
                row[m] = float(a.fom[t, r])
            per_reader.append(row)
        out = {
            "fom": a.fom_name,
            "estimates": {m: e.to_dict() for m, e in zip(labels, self.estimates())},
            "differences": [t.to_dict() for t in self.difference_tests()],
            "settings": self.settings,
            "design": a.design,
            "covariance": a.covariance,
            "modalities": list(labels),
            "readers": list(tb.readers),
            "n_cases": len(tb.cases),
            "n_positive": int(tb.truth.sum()),
            "n_negative": int((~tb.truth).sum()),
            "per_reader": per_reader,
            "variance_components": {
                "var_R": orr.components.var_R, "var_TR": orr.components.var_TR,
                "var_error": orr.components.var_error, "cov1": orr.components.cov1,
                "cov2": orr.components.cov2, "cov3": orr.components.cov3,
            },
            "anova": {"MS_T": orr.anova.ms_t, "MS_R": orr.anova.ms_r, "MS_TR": orr.anova.ms_tr},
            "tests": {"RRRC": test_dict(orr.rrrc), "FRRC": test_dict(orr.frrc), "RRFC": test_dict(orr.rrfc)},
            "dbm": None if a.dbm is None else {
                "MS": a.dbm.ms, "df": a.dbm.df, "components": a.dbm.components,
                "RRRC": {"F": a.dbm.rrrc.f, "ddf": a.dbm.rrrc.ddf, "p_value": a.dbm.rrrc.p_value},
                "FRRC": {"F": a.dbm.frrc.f, "ddf": a.dbm.frrc.ddf, "p_value": a.dbm.frrc.p_value},
                "RRFC": {"F": a.dbm.rrfc.f, "ddf": a.dbm.rrfc.ddf, "p_value": a.dbm.rrfc.p_value},
            },
            "roc": self.roc,
            "model": None if self.model is None else {
                "fom": self.model_fom_name,
                "value": self.model[0].model_fom,
                "vs_readers": [{"modality": labels[mc.modality], "readers_fom": mc.readers_fom,
                                "RRRC": diff_dict(mc.rrrc) | {"comparison": f"model - {labels[mc.modality]}"},
                                "FRRC": diff_dict(mc.frrc) | {"comparison": f"model - {labels[mc.modality]}"},
                                "RRFC": diff_dict(mc.rrfc) | {"comparison": f"model - {labels[mc.modality]}"}}
                               for mc in self.model],
            },
            "comparison": None if self.comparison is None else {
                "test": labels[self.comparison.test], "reference": labels[self.comparison.reference],
                "difference": diff_dict(self.comparison.difference)
                | {"comparison": f"{labels[self.comparison.test]} - {labels[self.comparison.reference]}"},
                "margin": self.comparison.margin, "p_noninferiority": self.comparison.p_noninferiority,
                "superior": self.comparison.superior, "noninferior": self.comparison.noninferior,
                "verdict": self.comparison.verdict,
            },
            "reading_time": None if self.reading_time is None else self.reading_time["summary"],
            "warnings": list(self.warnings),
        }
        return _json_value(out)


def _json_value(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


def _roc_section(table: RatingTable) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for t, m in enumerate(table.modalities):
        curves = {rd: empirical_roc(table.ratings[t, r], table.truth, max_points=201)
                  for r, rd in enumerate(table.readers)}
        out[m] = {"readers": {k: c.to_dict() for k, c in curves.items()},
                  "mean": average_roc(list(curves.values())).to_dict()}
    return out


def _reading_time(table: RatingTable) -> dict[str, Any] | None:
    if table.reading_time is None or np.all(np.isnan(table.reading_time)):
        return None
    flat: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    rt = table.reading_time
    for t, m in enumerate(table.modalities):
        v = rt[t][~np.isnan(rt[t])]
        flat[f"reading_time.mean.mod{t + 1}"] = float(v.mean()) if v.size else math.nan
        flat[f"reading_time.median.mod{t + 1}"] = float(np.median(v)) if v.size else math.nan
        per_reader = {}
        for r, rd in enumerate(table.readers):
            w = rt[t, r][~np.isnan(rt[t, r])]
            flat[f"reading_time.reader{r + 1}.mod{t + 1}"] = float(w.mean()) if w.size else math.nan
            per_reader[rd] = flat[f"reading_time.reader{r + 1}.mod{t + 1}"]
        summary[m] = {"mean_s": flat[f"reading_time.mean.mod{t + 1}"],
                      "median_s": flat[f"reading_time.median.mod{t + 1}"], "per_reader_mean_s": per_reader}
    return {"flat": flat, "summary": summary}


def _pick_comparison(table: RatingTable, test_modality: str | None, reference_modality: str | None
                     ) -> tuple[int, int] | None:
    mods = table.modalities
    if test_modality is None and reference_modality is None:
        low = [m.lower() for m in mods]
        if len(mods) == 2 and set(low) == {"aided", "unaided"}:
            return low.index("aided"), low.index("unaided")
        return None
    if test_modality is None or reference_modality is None:
        raise InputError("test_modality and reference_modality: give both (e.g. 'aided' and 'unaided').")
    for name, val in (("test_modality", test_modality), ("reference_modality", reference_modality)):
        if str(val) not in mods:
            raise InputError(f"{name}: {val!r} is not a modality of the study; modalities: {', '.join(mods)}.")
    if str(test_modality) == str(reference_modality):
        raise InputError("test_modality and reference_modality must differ.")
    return mods.index(str(test_modality)), mods.index(str(reference_modality))


_FOM_ALIASES = {"sens": "sensitivity", "spec": "specificity"}


def analyze_reader_study(
    ratings: pd.DataFrame | str | os.PathLike,
    *,
    fom: str = "auc",
    threshold: float | None = None,
    covariance: str = "jackknife",
    model_scores: Any = None,
    margin: float | None = None,
    alpha: float = 0.05,
    design: str = "auto",
    test_modality: str | None = None,
    reference_modality: str | None = None,
    frrc_truncate: bool = True,
    ddf: str = "hillis",
    model_threshold: float | None = None,
    binormal_fit: str = "limit",
) -> ReaderStudyResult:
    """Validate a reader study and run the MRMC analysis.

    Parameters
    ----------
    ratings : DataFrame or path to CSV
        Tidy table with columns reader, case, modality, truth, rating (+ reading_time_s).
    fom : {"auc", "sensitivity", "specificity", "binormal"}
    threshold : float, optional
        Rating threshold for sensitivity / specificity (positive call: rating >= threshold).
    covariance : {"jackknife", "delong", "unbiased"}
    model_scores : DataFrame, path, or {case: score}, optional
        Standalone model scores per case; adds the model-vs-readers comparison.
    margin : float, optional
        Non-inferiority margin (FOM units) for test vs reference modality; the verdict is
        read off the lower bound of the two-sided 1 - alpha RRRC interval.
    test_modality, reference_modality : str, optional
        Default: "aided" vs "unaided" when those are the two modalities.
    model_threshold : float, optional
        Operating point of the model for sensitivity / specificity (its scores are on
        their own scale); required with model_scores and a binary FOM.
    design, frrc_truncate, ddf, binormal_fit
        See :func:`valkit.stats.mrmc.mrmc_analysis`. ``binormal_fit="mrmcaov"`` (fom="binormal")
        emulates MRMCaov's binormal fitting; the default "limit" is valkit's maximum-likelihood fit.
    """
    df, src = read_ratings(ratings)
    fom = _FOM_ALIASES.get(fom, fom)
    table = validate_ratings(df, source=src, design=design)
    analysis = mrmc_analysis(table.ratings, table.truth, fom=fom, threshold=threshold, covariance=covariance,
                             design=table.design, alpha=alpha, frrc_truncate=frrc_truncate, ddf=ddf,
                             binormal_fit=binormal_fit)
    notes = list(analysis.warnings)
    model = None
    if model_scores is not None:
        scores = read_model_scores(model_scores, table.cases)
        if fom in ("sensitivity", "specificity"):
            if model_threshold is None:
                raise InputError(
                    f"model_threshold: fom={fom!r} with model scores needs the model's operating point "
                    "(its scores are not on the readers' rating scale). Fix: pass model_threshold=0.5 "
                    "(for example; --model-threshold on the command line).")
            # put the model's calls on the readers' side of the rating threshold
            scores = np.where(scores >= model_threshold, float(threshold), float(threshold) - 1.0)
        model = model_vs_readers(
            table.ratings, table.truth, scores,
            fom_jackknife=lambda r, t: fom_jackknife(r, t, fom=fom, threshold=threshold,
                                                     binormal_fit=binormal_fit),
            covariance=analysis.covariance, alpha=alpha)
        for mc in model:
            notes.extend(mc.warnings)
    comparison = None
    pair = _pick_comparison(table, test_modality, reference_modality)
    if margin is not None and pair is None:
        raise InputError(
            "margin: a non-inferiority margin needs the test and reference modalities; the study's "
            f"modalities are {', '.join(table.modalities)}. Fix: pass test_modality= and reference_modality=.")
    if pair is not None:
        i, j = pair
        d = next(x for x in analysis.obuchowski_rockette.rrrc.differences if {x.i, x.j} == {i, j})
        d = d if d.i == i else negate(d)
        comparison = margin_verdict(d, test=i, reference=j, margin=0.0 if margin is None else float(margin),
                                    alpha=alpha)
    settings = {"fom": fom, "threshold": threshold, "covariance": covariance, "alpha": alpha,
                "design": table.design, "frrc_truncate": frrc_truncate, "ddf": ddf,
                "binormal_fit": binormal_fit,
                "margin": margin, "model_threshold": model_threshold, "source": src}
    roc = _roc_section(table)
    if model_scores is not None:
        roc["model"] = empirical_roc(read_model_scores(model_scores, table.cases), table.truth,
                                     max_points=201).to_dict()
    return ReaderStudyResult(
        analysis=analysis, table=table, settings=settings, roc=roc, model=model,
        model_fom_name=analysis.fom_name, comparison=comparison, reading_time=_reading_time(table),
        warnings=tuple(notes),
    )
