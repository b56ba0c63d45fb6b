"""Tables for a user's own analysis: the report's numbers as a pandas DataFrame.

:func:`subgroup_table` is fairlearn's ``MetricFrame`` for valkit: one row per group and
metric, with counts, the estimate, its interval and the evidence flag, computed by the same
code that fills the report's subgroup tables (:class:`valkit.analyses.estimates.ProportionEstimator`).
Given the analysed cases of a run (``cases.csv`` rows with ``status == "ok"``, in file order)
and the run's seed, its numbers equal the ``subgroups`` cells of ``results.json``.

It lives here, not in :mod:`valkit.stats`, because it returns a DataFrame and builds on the
analyses layer (the evidence rule, clustering rule and per-case-set seeding of the report);
:mod:`valkit.stats` stays pure (arrays in, dataclasses out, no pandas).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from valkit.stats.types import Estimate, NotEstimableWarning
from valkit.stats.validation import (
    StatsInputError,
    as_count,
    as_label_pair,
    as_scores,
    check_confidence_level,
    check_same_length,
    look_up_option,
)

METRICS = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "auc")
COLUMNS = ("group", "metric", "n", "n_patients", "n_positive", "n_negative", "numerator", "denominator",
           "estimate", "low", "high", "confidence_level", "method", "clustered", "sufficient_evidence", "warnings")


def _group_columns(groups: Any, n: int) -> dict[str, np.ndarray]:
    """Group values per grouping column, as the report reads them (empty / NaN = ``missing``)."""
    import pandas as pd

    from valkit.analyses.subgroups import column_values

    if isinstance(groups, pd.DataFrame):
        frame = groups.reset_index(drop=True)
    elif isinstance(groups, Mapping):
        frame = pd.DataFrame({str(k): list(v) for k, v in groups.items()})
    else:
        arr = np.asarray(groups, dtype=object)
        if arr.ndim != 1:
            raise StatsInputError(f"groups: expected one group per case (1-D), or a DataFrame / dict of columns for "
                                  f"intersections; got shape {arr.shape}.")
        frame = pd.DataFrame({"group": arr})
    if frame.shape[1] == 0:
        raise StatsInputError("groups: no grouping column given. Pass one group per case, or columns to intersect.")
    if len(frame) != n:
        raise StatsInputError(f"groups: expected one group per case ({n}), got {len(frame)}.")
    return {str(c): column_values(frame.astype({c: object}), c) for c in frame.columns}


def _cells(columns: dict[str, np.ndarray]) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Observed cells (levels sorted, ``missing`` last in each column) and each case's cell."""
    from valkit.study import MISSING

    keys = list(zip(*columns.values()))
    cells = sorted(set(keys), key=lambda k: tuple((x == MISSING, x) for x in k))
    where = {c: i for i, c in enumerate(cells)}
    return cells, np.fromiter((where[k] for k in keys), dtype=np.int64, count=len(keys))


def subgroup_table(
    y_true: Any,
    y_pred: Any,
    groups: Any,
    *,
    cluster: Any = None,
    y_score: Any = None,
    metrics: Sequence[str] = ("sensitivity", "specificity"),
    min_positives: int = 5,
    min_negatives: int = 5,
    ci: str = "wilson",
    confidence_level: float = 0.95,
    clustering: str = "auto",
    seed: int = 0,
    n_resamples: int = 2000,
    pos_label: Any = None,
):
    """Per-group accuracy with intervals and the evidence flag, as the report computes it.

    Each group's proportions get one interval: ``ci`` (Wilson by default) when every patient
    has one image in the group, else the patient-clustered bootstrap percentile interval
    (patients resampled within outcome strata, ``n_resamples`` resamples seeded by
    ``[seed, digest of the group's case positions]``), with the Wilson-on-patients fallback
    when the bootstrap has no spread (docs/statistical-methods.md). A group below the evidence
    rule (``min_positives`` positive and ``min_negatives`` negative patients under clustering,
    cases otherwise) keeps its counts but its estimate and interval are withheld (``nan``) and
    ``sufficient_evidence`` is False, as the report prints "insufficient evidence".

    Parameters
    ----------
    y_true, y_pred : arrays, one per case
        Reference standard and model decision: 0/1, or any two labels with ``pos_label``.
    groups : array, or DataFrame / dict of columns
        The group of each case. Several columns give their intersection (``"F × 40–59"``),
        with one column per grouping column in the output. Empty / NaN values form the group
        ``missing``, as in the report.
    cluster : array, optional
        Patient id per case; ``None`` treats every case as its own patient.
    y_score : array of float, optional
        Model scores, needed only for ``"auc"`` (DeLong, or Obuchowski's clustered variance).
    metrics : sequence of {"sensitivity", "specificity", "ppv", "npv", "accuracy", "auc"}
    min_positives, min_negatives : int
        The evidence rule (the protocol's ``subgroups.min_positives`` / ``min_negatives``).
    ci : {"wilson", "clopper_pearson", "jeffreys", "agresti_coull"}
        Interval of groups without repeated patients.
    clustering : {"auto", "patient", "none"}
        The protocol's ``analysis.clustering`` rule.
    seed, n_resamples : int
        The protocol's ``analysis.seed`` and ``analysis.bootstrap_resamples``.
    pos_label : optional
        The positive class when labels are not 0/1 (sklearn's convention).

    Returns
    -------
    pandas.DataFrame
        One row per group × metric (groups sorted, ``missing`` last): ``group``, ``metric``,
        ``n``, ``n_patients``, ``n_positive``, ``n_negative``, ``numerator``, ``denominator``,
        ``estimate``, ``low``, ``high``, ``confidence_level``, ``method``, ``clustered``,
        ``sufficient_evidence``, ``warnings``. ``attrs`` records the settings. Metrics that are
        undefined in a group (no positives for sensitivity) are ``nan`` and one
        :class:`~valkit.stats.NotEstimableWarning` names those groups.

    Examples
    --------
    >>> y    = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    >>> pred = [1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    >>> sex  = ["F"] * 10 + ["M"] * 4
    >>> t = subgroup_table(y, pred, sex, metrics=["sensitivity"])
    >>> t[["group", "n", "numerator", "denominator", "estimate", "sufficient_evidence"]]
      group   n  numerator  denominator  estimate  sufficient_evidence
    0     F  10          4            5       0.8                 True
    1     M   4          1            2       NaN                False
    >>> round(float(t.loc[0, "low"]), 4), round(float(t.loc[0, "high"]), 4)  # Wilson, 4 of 5
    (0.3755, 0.9638)
    """
    import pandas as pd

    from valkit.analyses.estimates import CLUSTERING_RULES, ProportionEstimator

    wanted = [look_up_option(m, dict(zip(METRICS, METRICS)), what="metrics") for m in (
        [metrics] if isinstance(metrics, str) else list(metrics))]
    if not wanted:
        raise StatsInputError(f"metrics: expected at least one of {', '.join(METRICS)}.")
    look_up_option(clustering, dict.fromkeys(CLUSTERING_RULES), what="clustering")
    cl = check_confidence_level(confidence_level)
    min_pos, min_neg = as_count(min_positives, name="min_positives"), as_count(min_negatives, name="min_negatives")
    y, pred = as_label_pair(y_true, y_pred, pos_label=pos_label)
    n = check_same_length(y_true=y, y_pred=pred, cluster=None if cluster is None else np.asarray(cluster),
                          y_score=None if y_score is None else np.asarray(y_score))
    if "auc" in wanted and y_score is None:
        raise StatsInputError("metrics: 'auc' needs y_score=<the model's score per case>.")
    score = as_scores(y_score) if y_score is not None else None
    if cluster is None:
        patient = np.arange(n, dtype=np.int64)
    else:  # coded as the report codes patient ids (as text), so resamples match the report's
        patient = np.unique(np.asarray(cluster).astype(str), return_inverse=True)[1].reshape(-1).astype(np.int64)
    columns = _group_columns(groups, n)
    cells, codes = _cells(columns)
    estimator = ProportionEstimator(y, pred, patient, clustering=clustering, seed=seed, n_resamples=n_resamples)

    rows, undefined = [], []
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(cells) + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)  # gathered into one warning below
        for i, levels in enumerate(cells):
            idx = order[bounds[i]:bounds[i + 1]]
            cs = estimator.estimate(idx, ci=ci, confidence_level=cl)
            enough = cs.evidence(min_positives=min_pos, min_negatives=min_neg)
            for metric in wanted:
                e = cs.estimates.get(metric) if metric != "auc" else _auc(y[idx], score[idx], patient[idx],
                                                                          cs.clustered, cs, cl)
                if not e.estimable:
                    undefined.append(f"{' × '.join(levels)}: {metric}")
                rows.append(_row(levels, columns, metric, e, cs, enough))
    if undefined:
        warnings.warn(NotEstimableWarning(
            f"subgroup_table: not estimable (no cases in the denominator) in {len(undefined)} group/metric cell(s): "
            f"{'; '.join(undefined[:10])}{' ...' if len(undefined) > 10 else ''}. Their estimate is nan."),
            stacklevel=2)
    extra = list(columns) if len(columns) > 1 else []
    table = pd.DataFrame(rows, columns=[*COLUMNS[:1], *extra, *COLUMNS[1:]])
    table.attrs.update(seed=int(seed), n_resamples=int(n_resamples), clustering=clustering, ci=ci,
                       min_positives=min_pos, min_negatives=min_neg, confidence_level=cl,
                       evidence_unit="patients" if estimator.uses_clusters(np.arange(n)) else "images")
    return table


def _auc(y: np.ndarray, s: np.ndarray, patient: np.ndarray, clustered: bool, cs: Any, cl: float) -> Estimate:
    """The report's cell AUC: DeLong, or Obuchowski's clustered variance when the cell is clustered."""
    if not (cs.n_positive and cs.n_negative):
        return Estimate(math.nan, None, cs.n, None, None, None, ("not_estimable: AUC needs positives and negatives.",))
    from valkit.analyses.accuracy import auc_estimate

    return auc_estimate(y, s, patient if clustered else None, confidence_level=cl)


def _row(levels: tuple[str, ...], columns: dict, metric: str, e: Estimate, cs: Any, enough: bool) -> dict:
    f = e.to_flat_dict()
    shown = {k: (f[k] if enough else math.nan) for k in ("value", "low", "high")}
    return {
        "group": " × ".join(levels), **(dict(zip(columns, levels)) if len(columns) > 1 else {}),
        "metric": metric, "n": cs.n, "n_patients": cs.n_patients, "n_positive": cs.n_positive,
        "n_negative": cs.n_negative, "numerator": f["numerator"], "denominator": f["denominator"],
        "estimate": shown["value"], "low": shown["low"], "high": shown["high"],
        "confidence_level": f["confidence_level"], "method": f["method"], "clustered": cs.clustered,
        "sufficient_evidence": enough, "warnings": f["warnings"],
    }


__all__ = ["METRICS", "subgroup_table"]
