"""Run-time self-check: the statistics engine re-derives published numbers on this machine.

Every ``valkit run`` (and ``valkit selfcheck``) recomputes a curated set of published reference
values with the installed valkit, numpy, scipy and statsmodels, and records each comparison
(expected, obtained, tolerance, source) in results.json under ``tool_validation``. The report
prints them in the "Tool validation" appendix, and a failing check fails the run: numbers from an
engine that does not reproduce the literature on this installation must not support a claim.

The checks are a small, fast subset (about a second) of the test suite's published-value tests
(tests/stats/test_published.py, tests/subgroups/test_heterogeneity.py,
tests/mrmc/test_reference_vandyke.py), which hold the full sets. The reference data files are
shipped in ``valkit/reference/`` (see its PROVENANCE.md).

>>> out = run_self_check()
>>> out["verdict"], out["n"] == out["n_passed"]
('PASS', True)
"""
from __future__ import annotations

import csv
import functools
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

REFERENCE = Path(__file__).resolve().parent / "reference"


@dataclass(frozen=True)
class Check:
    """One published value: what is computed, the value and how close it must be.

    ``tolerance`` is an absolute tolerance; ``decimals`` (when set) compares the value rounded
    as the source printed it instead.
    """

    id: str
    quantity: str
    source: str
    expected: float
    compute: Callable[[], float]
    tolerance: float = 0.0
    decimals: int | None = None

    def run(self) -> dict[str, Any]:
        try:
            got = float(self.compute())
            error = ""
        except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check, with its reason
            got, error = math.nan, f"{type(exc).__name__}: {exc}"
        if self.decimals is not None:
            passed = math.isfinite(got) and round(got, self.decimals) == round(self.expected, self.decimals)
            rule = f"same to {self.decimals} dp"
        else:
            passed = math.isfinite(got) and abs(got - self.expected) <= self.tolerance
            rule = f"± {self.tolerance:g}"
        out = {k: v for k, v in asdict(self).items() if k in ("id", "quantity", "source", "expected")}
        return {**out, "obtained": None if not math.isfinite(got) else got, "rule": rule, "passed": bool(passed),
                **({"error": error} if error else {})}


# ----------------------------------------------------------------------------- reference data
def _asah() -> dict[str, np.ndarray]:
    with open(REFERENCE / "asah.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {"y": np.array([int(r["y_true"]) for r in rows]),
            "s100b": np.array([float(r["y_score"]) for r in rows]),
            "wfns": np.array([float(r["y_score_b"]) for r in rows]),
            "ndka": np.array([float(r["ndka"]) for r in rows])}


# BCG vaccine trials (Colditz et al. 1994, JAMA 271:698-702; metafor's dat.bcg): tpos, tneg, cpos, cneg
_BCG = np.array([
    [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
    [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619], [505, 87886, 499, 87892],
    [29, 7470, 45, 7232], [17, 1699, 65, 1600], [186, 50448, 141, 27197], [5, 2493, 3, 2338],
    [27, 16886, 29, 17825],
], dtype=float)


def _bcg_dl():
    from valkit.stats.heterogeneity import random_effects

    a, b, c, d = _BCG.T
    y = np.log((a / (a + b)) / (c / (c + d)))
    v = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return random_effects(y, v, method="dl")


def _vandyke_or() -> dict[str, Any]:
    from valkit.reader_study import analyze_reader_study

    return analyze_reader_study(REFERENCE / "vandyke.csv").to_flat_dict()


def _hanley_mcneil_auc() -> float:
    from valkit import stats

    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    s = np.r_[np.repeat(np.arange(1, 6), normal), np.repeat(np.arange(1, 6), abnormal)]
    y = np.r_[np.zeros(sum(normal), int), np.ones(sum(abnormal), int)]
    return stats.roc_auc(y, s, ci=None).value


# ----------------------------------------------------------------------------- the checks
def checks() -> list[Check]:
    """The published values, each with its source (program or paper, version, where it is printed)."""
    from valkit import stats

    @functools.cache
    def asah() -> dict[str, np.ndarray]:
        return _asah()

    @functools.cache
    def delong_ndka() -> Any:
        return stats.roc_auc(asah()["y"], asah()["ndka"])

    @functools.cache
    def paired() -> Any:
        return stats.delong_test(asah()["y"], asah()["wfns"], asah()["s100b"])

    @functools.cache
    def lrs() -> Any:
        return stats.likelihood_ratios_from_counts(670, 202, 74, 640)

    bcg = functools.cache(_bcg_dl)
    vd = functools.cache(_vandyke_or)
    proc = "pROC 1.18 (Robin et al. 2011) on aSAH, tests/testthat/"
    return [
        Check("auc.asah.s100b", "empirical AUC, aSAH s100b", proc + "test-auc.R: auc(r.s100b)",
              0.731368563685637, lambda: stats.roc_auc(asah()["y"], asah()["s100b"], ci=None).value, 1e-12),
        Check("delong.var.asah.s100b", "DeLong variance of the AUC, aSAH s100b", proc + "test-var.R: var(r.s100b)",
              0.00266868245717244, lambda: stats.delong_covariance(asah()["y"], asah()["s100b"])[1][0, 0], 1e-15),
        Check("delong.ci.asah.ndka.low", "DeLong 95% CI of the AUC, lower, aSAH ndka",
              proc + "test-ci.R: ci.auc(r.ndka)", 0.501244999271703, lambda: delong_ndka().interval.low, 1e-12),
        Check("delong.ci.asah.ndka.high", "DeLong 95% CI of the AUC, upper, aSAH ndka",
              proc + "test-ci.R: ci.auc(r.ndka)", 0.722670989888189, lambda: delong_ndka().interval.high, 1e-12),
        Check("delong.paired.ci.low", "paired DeLong CI of AUC(wfns) - AUC(s100b), lower",
              proc + "test-roc.test.R: roc.test(r.wfns, r.s100b)$conf.int", 0.0104061769564846,
              lambda: paired().interval.low, 1e-12),
        Check("delong.paired.ci.high", "paired DeLong CI of AUC(wfns) - AUC(s100b), upper",
              proc + "test-roc.test.R: roc.test(r.wfns, r.s100b)$conf.int", 0.174214419249478,
              lambda: paired().interval.high, 1e-12),
        Check("wilson.81of263.low", "Wilson 95% CI of 81/263, lower", "Newcombe (1998a) Stat Med 17:857-872, Table I",
              0.2553, lambda: stats.wilson_interval(81, 263).low, decimals=4),
        Check("wilson.81of263.high", "Wilson 95% CI of 81/263, upper", "Newcombe (1998a) Stat Med 17:857-872, Table I",
              0.3662, lambda: stats.wilson_interval(81, 263).high, decimals=4),
        Check("clopper_pearson.1of29.low", "Clopper-Pearson 95% CI of 1/29, lower",
              "Newcombe (1998a) Stat Med 17:857-872, Table I", 0.0009,
              lambda: stats.clopper_pearson_interval(1, 29).low, decimals=4),
        Check("newcombe.diff.low", "Newcombe hybrid-score CI of 56/70 - 48/80, lower",
              "Newcombe (1998b) Stat Med 17:873-890, Table II, method 10", 0.0524,
              lambda: stats.proportion_difference(56, 70, 48, 80).interval.low, decimals=4),
        Check("newcombe.diff.high", "Newcombe hybrid-score CI of 56/70 - 48/80, upper",
              "Newcombe (1998b) Stat Med 17:873-890, Table II, method 10", 0.3339,
              lambda: stats.proportion_difference(56, 70, 48, 80).interval.high, decimals=4),
        Check("lr_positive.ci.low", "LR+ 95% CI (Simel log method), lower",
              "epiR 2.0.57 epi.tests Example 1 (670, 202, 74, 640)", 3.32068843550748, lambda: lrs()[0].interval.low,
              1e-10),
        Check("hanley_mcneil.auc", "trapezoidal AUC of the 5-point rating example",
              "Hanley & McNeil (1982) Radiology 143:29-36, Table 1", 0.893, _hanley_mcneil_auc, decimals=3),
        Check("random_effects.bcg.estimate", "DerSimonian-Laird pooled log risk ratio, BCG trials",
              "Stata metan (randomi) on dat.bcg, in metafor tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r",
              -0.7141, lambda: bcg().estimate, 1e-4),
        Check("random_effects.bcg.tau2", "DerSimonian-Laird tau², BCG trials",
              "Stata metan (randomi) on dat.bcg, in metafor tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r",
              0.3088, lambda: bcg().tau2, 1e-4),
        Check("mrmc.vandyke.or.F", "Obuchowski-Rockette RRRC F (jackknife, Hillis ddf), Van Dyke reader study",
              "OR-DBM MRMC 2.51 (Univ. Iowa) output for VanDyke.lrc, RJafroc@44b0e39 inst/Iowa/VanDyke.txt",
              4.46, lambda: vd()["or.jackknife.RRRC.F"], decimals=2),
        Check("mrmc.vandyke.or.p", "Obuchowski-Rockette RRRC p-value, Van Dyke reader study",
              "OR-DBM MRMC 2.51 (Univ. Iowa) output for VanDyke.lrc, RJafroc@44b0e39 inst/Iowa/VanDyke.txt",
              0.0517, lambda: vd()["or.jackknife.RRRC.p"], decimals=4),
    ]


def run_self_check() -> dict[str, Any]:
    """Run every check; the ``tool_validation`` block of results.json."""
    import warnings

    from valkit.stats.types import NotEstimableWarning

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        results = [c.run() for c in checks()]
    n_passed = sum(r["passed"] for r in results)
    return {
        "verdict": "PASS" if n_passed == len(results) else "FAIL",
        "n": len(results),
        "n_passed": n_passed,
        "seconds": round(time.perf_counter() - t0, 3),
        "statement": (f"{n_passed} of {len(results)} published reference values reproduced by this installation"
                      " of valkit"),
        "checks": results,
    }


__all__ = ["Check", "checks", "run_self_check"]
