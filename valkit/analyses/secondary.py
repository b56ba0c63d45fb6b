"""Secondary results among reference-positive cases: sensitivity by lesion-size band and by lesion type.

The protocol's ``secondary`` block names the manifest columns. Every row's interval comes from the
run's :class:`~valkit.analyses.estimates.ProportionEstimator`, so a set of cases gets the same
interval (Wilson, or patient-clustered bootstrap where a patient has several images) as anywhere else
in the report: a row's case set is its positives with every negative case, so a row that holds
every positive reproduces the primary sensitivity and its interval exactly. A band below the evidence rule's ``min_positives`` keeps its counts and is marked
insufficient evidence.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from valkit.analyses.estimates import ProportionEstimator, withhold_if_insufficient
from valkit.protocol_test_data import Secondary

__all__ = ["lesion_size_band", "secondary_results"]

NOT_RECORDED = "not recorded"


def _mm(x: float) -> str:
    return f"{x:g}"


def lesion_size_band(size: pd.Series, edges: list[float]) -> pd.Series:
    """Band label per lesion size: ``"10–<15 mm"`` (lower edge included), ``"not recorded"`` when
    absent, ``"outside 10–30 mm"`` when outside every band.

    >>> lesion_size_band(pd.Series([9.9, 10, 14.99, 15, None]), [10, 15, 20]).tolist()
    ['outside 10–20 mm', '10–<15 mm', '10–<15 mm', '15–<20 mm', 'not recorded']
    """
    values = pd.to_numeric(size, errors="coerce").to_numpy(dtype=float)
    labels = [f"{_mm(a)}–<{_mm(b)} mm" for a, b in zip(edges, edges[1:])]
    idx = np.searchsorted(np.asarray(edges, dtype=float), values, side="right") - 1
    inside = ~np.isnan(values) & (idx >= 0) & (idx < len(labels))
    outside = f"outside {_mm(edges[0])}–{_mm(edges[-1])} mm"
    out = np.where(np.isnan(values), NOT_RECORDED, outside).astype(object)
    out[inside] = np.asarray(labels, dtype=object)[idx[inside]]
    return pd.Series(out, index=size.index, dtype=object)


def _rows(levels: pd.Series, order: list[str], positive: np.ndarray, estimator: ProportionEstimator,
          min_positives: int) -> list[dict]:
    rows = []
    for level in order:
        # the band's positives with every negative: a band holding every positive is the primary case set,
        # so it prints the primary's interval (the negatives do not enter a sensitivity)
        idx = np.flatnonzero((positive & (levels.to_numpy() == level)) | ~positive)
        cs = estimator.estimate(idx)
        enough = (cs.n_positive_patients if cs.clustered else cs.n_positive) >= min_positives
        rows.append(withhold_if_insufficient({
            "level": level, "n_positive": cs.n_positive, "n_positive_patients": cs.n_positive_patients,
            "detected": cs.confusion["tp"], "clustered": cs.clustered, "sufficient_evidence": bool(enough),
            "sensitivity": cs.estimates["sensitivity"].to_dict(),
        }, enough))
    return rows


def secondary_results(analysed: pd.DataFrame, secondary: Secondary | None, estimator: ProportionEstimator, *,
                      min_positives: int) -> dict | None:
    """Sensitivity by lesion-size band and by lesion type among the analysed reference-positive cases.

    ``analysed`` is the table the estimator was built on (same row order). ``None`` without a
    ``secondary`` block. Every positive case is in exactly one row of each family (a size that is
    missing or outside the bands has its own row), so the rows' positives sum to all positives.
    """
    if secondary is None:
        return None
    positive = analysed["label"].to_numpy(dtype=int) == 1
    out: dict = {"n_positive": int(positive.sum()), "lesion_size": None, "lesion_type": None}
    if secondary.lesion_size_column:
        edges = secondary.lesion_size_bands_mm
        band = lesion_size_band(analysed[secondary.lesion_size_column], edges)
        order = [f"{_mm(a)}–<{_mm(b)} mm" for a, b in zip(edges, edges[1:])]
        order += [v for v in (f"outside {_mm(edges[0])}–{_mm(edges[-1])} mm", NOT_RECORDED)
                  if (band[positive] == v).any()]
        out["lesion_size"] = {"column": secondary.lesion_size_column, "edges_mm": list(edges),
                              "rows": _rows(band, order, positive, estimator, min_positives)}
    if secondary.lesion_type_column:
        v = analysed[secondary.lesion_type_column].astype(object)
        v = v.where(v.notna(), "").astype(str).str.strip().replace({"": NOT_RECORDED, "nan": NOT_RECORDED})
        order = sorted(set(v[positive]), key=lambda x: (x == NOT_RECORDED, x))
        out["lesion_type"] = {"column": secondary.lesion_type_column,
                              "rows": _rows(v, order, positive, estimator, min_positives)}
    return out
