"""Every number in tests/data/mrmc/published_vandyke.csv, reproduced within its tolerance.

Sources (the CSV's ``source`` column, repeated in each failure message):

- OR-DBM MRMC 2.51 (University of Iowa; Schartz, Hillis, Pesce & Berbaum), VanDyke.lrc,
  trapezoidal AUC, jackknife covariance: RJafroc@44b0e39 inst/Iowa/VanDyke.txt
  (= tests/data/mrmc/iowa_ordbm_2.51_vandyke_output.txt).
- Windows JAFROC 4.2.1 (Chakraborty) ROC/DBM output: RJafroc@44b0e39 inst/JAFROC/VanDykeROC.txt.
- Smith & Hillis, MRMCaov JSS manuscript (knitted output), MRMCaov@d79e49b docs/jss/MRMCaov.tex:
  DeLong and unbiased covariances, sensitivity at rating >= 3, the two nested designs.
- MRMCaov 0.3.0 User Guide (2023-01-03) p.7: binormal AUC.

Each key is looked up in the flat JSON of :func:`valkit.reader_study.analyze_reader_study`:
the key's prefix picks the analysis (``or.DeLong.`` -> covariance="delong", ``sens.ge3.`` ->
fom="sensitivity", threshold=3, ``binormal.`` -> fom="binormal", ``nested_in_reader.`` /
``nested_in_modality.`` -> that data file, prefix removed), and a ``.jss`` suffix (the same
quantity from a second source) is removed.
"""
from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import pytest

from valkit.reader_study import analyze_reader_study

DATA = Path(__file__).resolve().parents[1] / "data" / "mrmc"

with open(DATA / "published_vandyke.csv", newline="") as fh:
    ROWS = list(csv.DictReader(fh))

# The one boundary fit behind these rows: reader 4 / modality 1 with its single positive case
# rated 2 left out has a binormal likelihood that increases all the way to b -> 0 (no finite
# MLE). valkit reports the limit (AUC = 0.954545); MRMCaov stops its optimiser at a small b
# (AUC ~ 0.95458, the value that gives the published F), and its two versions disagree with
# each other (F = 2.676697 in the 0.3.0 User Guide, 2.67666 in the JSS manuscript): a spread
# larger than the tolerance. The binormal AUCs and their difference do reproduce.
BINORMAL_BOUNDARY_FIT = {
    "binormal.jackknife.RRRC.F",
    "binormal.jackknife.RRRC.ddf",
    "binormal.jackknife.RRRC.p",
    "binormal.jackknife.RRRC.diff.ci_lower",
    "binormal.jackknife.RRRC.diff.ci_upper",
}


@functools.lru_cache(maxsize=None)
def flat(dataset: str, fom: str, covariance: str) -> dict:
    kwargs = {"fom": fom, "covariance": covariance}
    if fom == "sensitivity":
        kwargs["threshold"] = 3
    return analyze_reader_study(DATA / f"{dataset}.csv", **kwargs).to_flat_dict()


def locate(key: str) -> tuple[tuple[str, str, str], str]:
    """(dataset, fom, covariance) and the key in that analysis' flat JSON."""
    dataset = "vandyke"
    for prefix, name in (("nested_in_reader.", "vandyke_cases_nested_in_reader"),
                         ("nested_in_modality.", "vandyke_cases_nested_in_modality")):
        if key.startswith(prefix):
            dataset, key = name, key[len(prefix):]
    key = key.removesuffix(".jss")
    fom, cov = "auc", "jackknife"
    if key.startswith("or.DeLong."):
        cov = "delong"
    elif key.startswith("or.unbiased."):
        cov = "unbiased"
    elif key.startswith("binormal."):
        fom = "binormal"
    elif key.startswith("sens.ge3."):
        fom = "sensitivity"
    return (dataset, fom, cov), key


def _param(row: dict) -> pytest.param:
    marks = []
    if row["key"] in BINORMAL_BOUNDARY_FIT:
        marks.append(pytest.mark.xfail(strict=True, reason="MRMCaov optimiser stop at a b -> 0 boundary fit"))
    return pytest.param(row, id=row["key"], marks=marks)


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_published_value(row):
    (dataset, fom, cov), key = locate(row["key"])
    out = flat(dataset, fom, cov)
    assert key in out, f"{key} missing from the flat JSON of {dataset} ({fom}, {cov})"
    ours = out[key]
    published, tol = float(row["published"]), float(row["tolerance"])
    assert ours is not None and math.isfinite(ours)
    assert abs(ours - published) <= tol, (
        f"{row['key']}: valkit {ours!r} vs published {published!r} (tolerance {tol}); source: {row['source']}"
    )


def test_every_row_is_parametrised():
    assert len(ROWS) == 132


def test_binormal_auc_table_matches_mrmcaov_jss():
    # MRMCaov JSS manuscript, print(est) for binormal_auc(truth, rating): per-reader AUCs
    # rounded to 3 decimals and the treatment means 0.9109867 / 0.9515536 from summary(est).
    out = flat("vandyke", "binormal", "jackknife")
    jss = {(1, 1): 0.933, (1, 2): 0.890, (1, 3): 0.929, (1, 4): 0.970, (1, 5): 0.833,
           (2, 1): 0.951, (2, 2): 0.935, (2, 3): 0.928, (2, 4): 1.0, (2, 5): 0.945}
    for (m, r), v in jss.items():
        assert out[f"binormal.reader{r}.mod{m}"] == pytest.approx(v, abs=5e-4)
    assert out["binormal.mean.mod1"] == pytest.approx(0.9109867, abs=5e-8)
    assert out["binormal.mean.mod2"] == pytest.approx(0.9515536, abs=5e-8)
