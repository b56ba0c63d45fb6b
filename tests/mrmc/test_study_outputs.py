"""Model vs readers, the margin verdict, reading time, structured output, power and sample size."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from valkit.errors import InputError
from valkit.reader_study import analyze_reader_study
from valkit.stats.mrmc.obuchowski_rockette import CovarianceComponents
from valkit.stats.mrmc.sample_size import or_power, or_sample_size, power_table
from valkit.synth.reader_study import simulate_reader_study


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(11)
    n = 160
    truth = (rng.random(n) < 0.35).astype(int)
    model = 1 / (1 + np.exp(-(2.0 * truth - 1.0 + rng.normal(size=n))))
    ids = [f"case{i:03d}" for i in range(n)]
    df = simulate_reader_study(ids, truth, model, n_readers=6, seed=3)
    return df, dict(zip(ids, model))


def test_model_vs_readers_rrfc_is_the_paired_t_interval(vandyke):
    # the model = reader 1's modality-2 ratings: D_j = theta_model - theta_j
    scores = vandyke[(vandyke.reader == 1) & (vandyke.modality == 2)].set_index("case")["rating"]
    res = analyze_reader_study(vandyke, model_scores={str(k): v for k, v in scores.items()})
    flat = res.to_flat_dict()
    assert flat["model.auc"] == pytest.approx(0.94782609, abs=5e-9)  # Iowa: reader 1, treatment 2
    for t in (1, 2):
        aucs = np.array([flat[f"auc.reader{r}.mod{t}"] for r in range(1, 6)])
        d = flat["model.auc"] - aucs
        assert flat[f"model.jackknife.RRFC.mod{t}.diff"] == pytest.approx(d.mean())
        lo, hi = stats.t.interval(0.95, 4, loc=d.mean(), scale=d.std(ddof=1) / np.sqrt(5))
        assert flat[f"model.jackknife.RRFC.mod{t}.ci_lower"] == pytest.approx(lo)
        assert flat[f"model.jackknife.RRFC.mod{t}.ci_upper"] == pytest.approx(hi)
        # RRRC adds the case variability: never narrower than the fixed-case interval
        assert flat[f"model.jackknife.RRRC.mod{t}.se"] >= flat[f"model.jackknife.RRFC.mod{t}.se"]


def test_simulated_study_aided_vs_unaided_verdict(simulated):
    df, scores = simulated
    res = analyze_reader_study(df, model_scores=scores, margin=0.05)
    flat = res.to_flat_dict()
    assert flat["mod1.label"] == "aided" and flat["mod2.label"] == "unaided"
    assert flat["comparison.test"] == "aided" and flat["comparison.reference"] == "unaided"
    assert flat["comparison.diff"] == pytest.approx(flat["auc.diff.1-2"])
    lo = flat["comparison.ci_lower"]
    assert flat["comparison.noninferior"] == (lo > -0.05)
    assert flat["comparison.superior"] == (lo > 0)
    assert flat["comparison.verdict"] in ("superior", "non-inferior", "non-inferiority not shown")
    assert flat["reading_time.mean.mod1"] < flat["reading_time.mean.mod2"]  # aided reads are faster
    assert json.loads(json.dumps(res.to_dict(), allow_nan=False))["comparison"]["test"] == "aided"


def test_explicit_reference_reverses_the_difference(simulated):
    df, _ = simulated
    a = analyze_reader_study(df, test_modality="aided", reference_modality="unaided", margin=0.1).to_flat_dict()
    b = analyze_reader_study(df, test_modality="unaided", reference_modality="aided", margin=0.1).to_flat_dict()
    assert a["comparison.diff"] == pytest.approx(-b["comparison.diff"])
    assert a["comparison.ci_lower"] == pytest.approx(-b["comparison.ci_upper"])


def test_structured_output_has_roc_points_and_per_reader_table(vandyke):
    d = analyze_reader_study(vandyke).to_dict()
    json.dumps(d, allow_nan=False)
    assert d["modalities"] == ["1", "2"]
    assert len(d["per_reader"]) == 5 and d["per_reader"][0]["1"] == pytest.approx(0.91964573, abs=5e-9)
    roc = d["roc"]["1"]
    curve = roc["readers"]["1"]
    assert curve["fpr"][0] == 0.0 and curve["tpr"][-1] == 1.0 and curve["fpr"][-1] == 1.0
    assert np.all(np.diff(curve["fpr"]) >= 0) and np.all(np.diff(curve["tpr"]) >= 0)
    assert len(roc["mean"]["fpr"]) == 101
    assert d["tests"]["RRRC"]["differences"][0]["comparison"] == "1 - 2"
    assert d["dbm"]["MS"]["TR"] == pytest.approx(0.06281753, abs=1e-6)  # JAFROC 4.2.1


def test_flat_json_is_strict_json_for_every_fom(vandyke):
    for kwargs in ({}, {"fom": "sensitivity", "threshold": 3}, {"fom": "specificity", "threshold": 3},
                   {"covariance": "unbiased"}):
        flat = analyze_reader_study(vandyke, **kwargs).to_flat_dict()
        text = json.dumps(flat, allow_nan=False)
        assert all(isinstance(v, (int, float, str, bool, type(None))) for v in json.loads(text).values())


# RJafroc (dpc10ster/RJafroc tests/testthat/test-SsSampleSizeRoc.R), VanDyke = dataset02, FOM Wilcoxon,
# OR method with jackknife components, effectSize = -0.043800322:
#   SsPowerGivenJK(J = 10, K = 165, RRRC) -> 0.80541995;  (J = 10, K = 131, FRRC) -> 0.80091813;
#   (J = 10, K = 53, RRFC) -> 0.80496663;  (J = 6, K = 111, RRRC) -> 0.5526116;
#   SsSampleSizeKGivenJ(J = 6, RRRC) -> K = 251 (power 0.801 in SsPowerTable)
@pytest.mark.parametrize("analysis, readers, cases, power, tol", [
    ("RRRC", 10, 165, 0.80541995, 1e-8),
    ("FRRC", 10, 131, 0.80091813, 1e-8),
    ("RRFC", 10, 53, 0.80496663, 1e-8),
    ("RRRC", 6, 111, 0.5526116, 5e-8),
])
def test_power_matches_rjafroc(vandyke, analysis, readers, cases, power, tol):
    comps = analyze_reader_study(vandyke).analysis.obuchowski_rockette.components
    got = or_power(-0.043800322, comps, n_readers=readers, n_cases=cases, pilot_n_cases=114, analysis=analysis)
    assert got.power == pytest.approx(power, abs=tol)


def test_sample_size_matches_rjafroc(vandyke):
    comps = analyze_reader_study(vandyke).analysis.obuchowski_rockette.components
    res = or_sample_size(-0.043800322, comps, n_readers=6, pilot_n_cases=114)
    assert res.n_cases == 251 and round(res.power, 3) == 0.801


def test_power_properties():
    comps = CovarianceComponents(8e-4, 3.5e-4, 3.4e-4, 2.4e-4, 1.5e-3, 2e-4)
    assert or_power(0.0, comps, n_readers=5, n_cases=100, pilot_n_cases=100).power == pytest.approx(0.05)
    p = [or_power(0.05, comps, n_readers=5, n_cases=c, pilot_n_cases=100).power for c in (50, 100, 200, 400)]
    assert p == sorted(p)
    q = [or_power(0.05, comps, n_readers=r, n_cases=100, pilot_n_cases=100).power for r in (3, 5, 8, 12)]
    assert q == sorted(q)
    table = power_table(0.05, comps, pilot_n_cases=100, readers=[2, 5, 10], max_cases=5000)
    assert table[0] is None or table[0].n_cases >= table[1].n_cases >= table[2].n_cases


# MRMCaov JSS manuscript (MRMCaov@d79e49b docs/jss/MRMCaov.tex), "95% treatment ... CIs (each analysis
# based only on data for the specified treatment)" tables; MRMCaov clips these intervals to [0, 1].
@pytest.mark.parametrize("kwargs, key, published", [
    ({"fom": "sensitivity", "threshold": 3}, "sens.ge3.jackknife.RRRC.mod1.se", 0.05893747),
    ({"fom": "sensitivity", "threshold": 3}, "sens.ge3.jackknife.RRRC.mod1.df", 14.456811),
    ({"fom": "sensitivity", "threshold": 3}, "sens.ge3.jackknife.RRRC.mod1.ci_lower", 0.6961876),
    ({"fom": "sensitivity", "threshold": 3}, "sens.ge3.jackknife.RRRC.mod2.ci_lower", 0.8328691),
    ({"fom": "sensitivity", "threshold": 3}, "sens.ge3.jackknife.RRRC.mod2.ci_upper", 1.0),
    ({"covariance": "delong"}, "or.DeLong.RRRC.mod1.se", 0.03307642),
    ({"covariance": "delong"}, "or.DeLong.RRRC.mod1.df", 12.59597),
    ({"covariance": "delong"}, "or.DeLong.RRRC.mod2.ci_lower", 0.8942155),
    ({"covariance": "delong"}, "or.DeLong.RRRC.mod2.ci_upper", 0.9874592),
    ({"covariance": "unbiased"}, "or.unbiased.var_R", 0.0015365290),
])
def test_single_modality_intervals_match_mrmcaov_jss(vandyke, kwargs, key, published):
    flat = analyze_reader_study(vandyke, **kwargs).to_flat_dict()
    decimals = len(repr(published).split(".")[1]) if published != 1.0 else 7  # printed as 1.0000000
    assert flat[key] == pytest.approx(published, abs=0.51 * 10.0**-decimals)  # half a unit in the last place


def test_model_threshold_for_binary_fom(vandyke):
    scores = {str(c): 0.9 if r >= 3 else 0.1 for c, r in
              vandyke[(vandyke.reader == 1) & (vandyke.modality == 2)][["case", "rating"]].values}
    with pytest.raises(InputError, match="model_threshold"):
        analyze_reader_study(vandyke, fom="sensitivity", threshold=3, model_scores=scores)
    flat = analyze_reader_study(vandyke, fom="sensitivity", threshold=3, model_scores=scores,
                                model_threshold=0.5).to_flat_dict()
    assert flat["model.sens.ge3"] == pytest.approx(flat["sens.ge3.reader1.mod2"])  # 44/45 (MRMCaov: 0.978)


def test_single_modality_study_with_model(vandyke):
    one = vandyke[vandyke.modality == 1]
    scores = {str(c): float(r) for c, r in vandyke[(vandyke.reader == 4) & (vandyke.modality == 2)][
        ["case", "rating"]].values}
    res = analyze_reader_study(one, model_scores=scores)
    flat = res.to_flat_dict()
    assert "or.jackknife.RRRC.F" not in flat and "comparison.diff" not in flat
    # the single-modality interval is the Iowa one for treatment 1 (OR-DBM MRMC 2.51)
    assert flat["or.jackknife.RRRC.mod1.ci_lower"] == pytest.approx(0.8252236, abs=5e-8)
    assert flat["model.auc"] == pytest.approx(0.99935588, abs=5e-9)  # Iowa reader 4, treatment 2
    assert flat["model.jackknife.RRRC.mod1.diff"] == pytest.approx(0.99935588 - 0.89703704, abs=1e-8)
    json.dumps(res.to_dict(), allow_nan=False)
