"""How well the truthers agreed: the ``reference_agreement`` block of results.json.

With ``reference_standard.truther_columns`` (two or more manifest columns, each one truther's own
0/1 label before adjudication) the agreement is computed over every manifest case that all
truthers labelled, whether or not the device gave a result: the reference standard was made for
the whole test set, before and apart from the device. Fleiss' kappa covers all truthers; Cohen's
kappa is given for each pair (for two truthers, the one pair). The statistics are
:func:`valkit.stats.fleiss_kappa` and :func:`valkit.stats.cohens_kappa`.
"""
from __future__ import annotations

import warnings
from itertools import combinations

import pandas as pd

from valkit.protocol import Protocol
from valkit.stats.agreement import cohens_kappa, fleiss_kappa
from valkit.stats.types import NotEstimableWarning

CONFIDENCE_LEVEL = 0.95


def truther_agreement(merged: pd.DataFrame, protocol: Protocol) -> dict | None:
    """The ``reference_agreement`` block, or ``None`` when the protocol names fewer than two truther columns.

    ``merged``: every manifest row (any status) with the truther columns as text ``"0"``, ``"1"`` or
    ``""`` (not labelled by that truther; checked when the study is loaded,
    :func:`valkit.study.check_truther_labels`).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> p = NS(reference_standard=NS(truther_columns=["r1", "r2"]))
    >>> t = pd.DataFrame({"r1": ["1", "1", "0", "0", ""], "r2": ["1", "0", "0", "0", "1"],
    ...                   "patient_id": ["a", "b", "c", "d", "e"]})
    >>> b = truther_agreement(t, p)
    >>> b["n_cases"], b["n_complete"], b["percent_agreement"]["numerator"], round(b["cohen"][0]["kappa"]["value"], 3)
    (5, 4, 3, 0.5)
    """
    columns = list(protocol.reference_standard.truther_columns)
    if len(columns) < 2:
        return None
    labels = merged[columns].astype(str).apply(lambda c: c.str.strip())
    complete = (labels != "").all(axis=1).to_numpy()
    ratings = labels[complete].to_numpy().astype(int)
    patients = merged["patient_id"][complete] if "patient_id" in merged.columns else pd.Series(dtype=str)
    with warnings.catch_warnings():
        # a kappa that is not estimable (every label the same) carries its named warning into the report
        warnings.simplefilter("ignore", NotEstimableWarning)
        fleiss = fleiss_kappa(ratings.reshape(-1, len(columns)), confidence_level=CONFIDENCE_LEVEL)
        pairs = [{"truthers": [columns[i], columns[j]],
                  **cohens_kappa(ratings[:, i], ratings[:, j], confidence_level=CONFIDENCE_LEVEL).to_dict()}
                 for i, j in combinations(range(len(columns)), 2)]
    n_patients = int(patients.nunique())
    return {
        "truther_columns": columns,
        "n_cases": int(len(merged)),
        "n_complete": int(complete.sum()),
        "n_incomplete": int((~complete).sum()),
        "n_patients": n_patients,
        "several_images_per_patient": bool(n_patients and n_patients < int(complete.sum())),
        "positive_by_truther": [{"truther": c, "positive": int(ratings[:, k].sum()), "n": int(len(ratings))}
                                for k, c in enumerate(columns)],
        "confidence_level": CONFIDENCE_LEVEL,
        "percent_agreement": fleiss.percent_agreement.to_dict(),
        "fleiss": fleiss.to_dict(),
        "cohen": pairs,
    }


__all__ = ["truther_agreement"]
