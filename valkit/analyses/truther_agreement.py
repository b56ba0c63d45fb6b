"""How well the truthers agreed: the ``reference_agreement`` block of results.json.

With ``reference_standard.truther_columns`` (two or more manifest columns, each one truther's own
0/1 label before adjudication) the agreement is computed over every manifest case that all
truthers labelled, whether or not the device gave a result: the reference standard was made for
the whole test set, before and apart from the device. Fleiss' kappa covers all truthers; Cohen's
kappa is given for each pair (for two truthers, the one pair). The statistics are
:func:`valkit.stats.fleiss_kappa` and :func:`valkit.stats.cohens_kappa`.

Intervals follow the protocol's ``analysis.clustering`` rule, as the accuracy estimates do
(:class:`valkit.analyses.estimates.ProportionEstimator`): under ``auto`` when some patient
contributed several of the cases, and always under ``patient``, every kappa gets the
patient-clustered percentile bootstrap interval (:func:`valkit.stats.fleiss_kappa_clustered`,
:func:`valkit.stats.cohens_kappa_clustered`; ``analysis.bootstrap_resamples`` resamples, seeded by
``analysis.seed`` and a digest of the case set, the same resamples for every kappa); under ``none``,
or with one image per patient under ``auto``, Wald's interval. ``clustered`` records which. The
percent agreement keeps its Wilson interval either way.
"""
from __future__ import annotations

import warnings
from functools import partial
from itertools import combinations

import numpy as np
import pandas as pd

from valkit.analyses.estimates import case_set_digest, clustering_applies
from valkit.protocol import Protocol
from valkit.stats.agreement import cohens_kappa, cohens_kappa_clustered, fleiss_kappa, fleiss_kappa_clustered
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
    >>> p = NS(reference_standard=NS(truther_columns=["r1", "r2"]),
    ...        analysis=NS(clustering="auto", seed=1, bootstrap_resamples=200))
    >>> t = pd.DataFrame({"r1": ["1", "1", "0", "0", ""], "r2": ["1", "0", "0", "0", "1"],
    ...                   "patient_id": ["a", "b", "c", "d", "e"]})
    >>> b = truther_agreement(t, p)
    >>> b["n_cases"], b["n_complete"], b["percent_agreement"]["numerator"], round(b["cohen"][0]["kappa"]["value"], 3)
    (5, 4, 3, 0.5)
    >>> b["clustered"], b["fleiss"]["kappa"]["interval"]["method"]  # one image per patient: Wald
    (False, 'fleiss_nee_landis_1979_null_se')
    """
    columns = list(protocol.reference_standard.truther_columns)
    if len(columns) < 2:
        return None
    labels = merged[columns].astype(str).apply(lambda c: c.str.strip())
    complete = (labels != "").all(axis=1).to_numpy()
    ratings = labels[complete].to_numpy().astype(int)
    patients = merged["patient_id"][complete] if "patient_id" in merged.columns else pd.Series(dtype=str)
    n_patients = int(patients.nunique())
    clustered = clustering_applies(protocol.analysis.clustering, n_patients, int(complete.sum()))
    ratings = ratings.reshape(-1, len(columns))
    if clustered:
        a = protocol.analysis
        resampling = {"cluster": patients.astype(str).to_numpy(), "n_resamples": a.bootstrap_resamples,
                      "confidence_level": CONFIDENCE_LEVEL,
                      # the same case set gives the same resamples (and interval), as ProportionEstimator's
                      "seed": [int(a.seed), case_set_digest(np.flatnonzero(complete))]}
        fleiss_of = partial(fleiss_kappa_clustered, **resampling)
        cohen_of = partial(cohens_kappa_clustered, **resampling)
    else:
        fleiss_of = partial(fleiss_kappa, confidence_level=CONFIDENCE_LEVEL)
        cohen_of = partial(cohens_kappa, confidence_level=CONFIDENCE_LEVEL)
    with warnings.catch_warnings():
        # a kappa that is not estimable (every label the same) carries its named warning into the report
        warnings.simplefilter("ignore", NotEstimableWarning)
        fleiss = fleiss_of(ratings)
        pairs = [{"truthers": [columns[i], columns[j]], **cohen_of(ratings[:, i], ratings[:, j]).to_dict()}
                 for i, j in combinations(range(len(columns)), 2)]
    return {
        "truther_columns": columns,
        "n_cases": int(len(merged)),
        "n_complete": int(complete.sum()),
        "n_incomplete": int((~complete).sum()),
        "n_patients": n_patients,
        "several_images_per_patient": bool(n_patients and n_patients < int(complete.sum())),
        "clustering_rule": protocol.analysis.clustering,
        "clustered": clustered,
        "positive_by_truther": [{"truther": c, "positive": int(ratings[:, k].sum()), "n": int(len(ratings))}
                                for k, c in enumerate(columns)],
        "confidence_level": CONFIDENCE_LEVEL,
        "percent_agreement": fleiss.percent_agreement.to_dict(),
        "fleiss": fleiss.to_dict(),
        "cohen": pairs,
    }



__all__ = ["truther_agreement"]
