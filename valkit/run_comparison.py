"""``valkit runs compare A B``: two registered runs side by side, from the run registry.

* **Identity.** Which of model, protocol, data and predictions digests are the same.
* **Estimates.** Each key estimate of A and B with B - A and whether the change is *beyond the
  CIs*: the two intervals do not overlap. This is a conservative screen for runs that may be
  on different data (non-overlap implies a difference at a stricter level than 5%; overlap does
  not show there is none). For a formal paired comparison on the same cases use the protocol's
  ``baseline:`` block (docs/model-versions.md).
* **Score drift.** PSI and the KS test of B's scores against A's (:mod:`valkit.stats.drift`),
  when both run folders still hold the predictions the registry recorded (a rerun of the same
  protocol overwrites its folder; the digests tell).
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from valkit.registry import RegisteredRun

IDENTITY = (("model", "model_sha256"), ("protocol", "protocol_sha256"), ("data", "data_sha256"),
            ("predictions", "predictions_sha256"))


def _finite(*xs) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def beyond_cis(a: dict, b: dict) -> bool | None:
    """True when the intervals of ``a`` and ``b`` do not overlap; None when either is missing.

    >>> beyond_cis({"low": 0.8, "high": 0.9}, {"low": 0.91, "high": 0.95})
    True
    >>> beyond_cis({"low": 0.8, "high": 0.9}, {"low": 0.85, "high": 0.95})
    False
    """
    if not _finite(a.get("low"), a.get("high"), b.get("low"), b.get("high")):
        return None
    return bool(b["low"] > a["high"] or b["high"] < a["low"])


def estimate_rows(a: RegisteredRun, b: RegisteredRun) -> list[dict]:
    names = list(dict.fromkeys([*a.estimates, *b.estimates]))
    rows = []
    for name in names:
        ea, eb = a.estimates.get(name, {}), b.estimates.get(name, {})
        va, vb = ea.get("value"), eb.get("value")
        rows.append({"name": name, "a": ea or None, "b": eb or None,
                     "delta": vb - va if _finite(va, vb) else None, "beyond_cis": beyond_cis(ea, eb)})
    return rows


def _scores(run: RegisteredRun) -> tuple[pd.Series | None, str]:
    from valkit.digests import file_sha256

    path = Path(run.run_dir) / "predictions.parquet"
    if not path.is_file():
        return None, f"{path} no longer exists"
    if run.predictions_sha256 and file_sha256(path) != run.predictions_sha256:
        return None, f"{path} has changed since run #{run.id} (the folder was run again)"
    df = pd.read_parquet(path, columns=["score", "status"])
    return df.loc[df["status"] == "ok", "score"].astype(float), ""


def score_drift(a: RegisteredRun, b: RegisteredRun) -> dict:
    """PSI and KS of B's scores against A's, or why they cannot be computed."""
    from valkit import stats

    sa, why_a = _scores(a)
    sb, why_b = _scores(b)
    if sa is None or sb is None:
        return {"available": False, "reason": "; ".join(w for w in (why_a, why_b) if w)}
    psi = stats.population_stability_index(sa.to_numpy(), sb.to_numpy())
    ks = stats.ks_two_sample(sa.to_numpy(), sb.to_numpy())
    return {"available": True, "psi": psi.to_dict(), "ks": ks.to_dict(), "n_a": len(sa), "n_b": len(sb)}


def compare_runs(a: RegisteredRun, b: RegisteredRun) -> dict:
    """Identity, estimates with deltas, and score drift of two registered runs."""
    return {
        "a": a.id, "b": b.id,
        "same": {name: getattr(a, attr) == getattr(b, attr) for name, attr in IDENTITY},
        "estimates": estimate_rows(a, b),
        "drift": score_drift(a, b),
        "beyond_cis_rule": "the two 95% intervals do not overlap (a conservative screen; see docs/model-versions.md)",
    }


__all__ = ["beyond_cis", "compare_runs", "estimate_rows", "score_drift"]
