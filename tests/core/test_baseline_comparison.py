"""Model version N against the cleared N-1: matching, paired comparisons, the non-inferiority gate, flips."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from pathlib import Path

import valkit.stats as vs
from valkit.analyses.baseline import compare_with_baseline, match_cases
from valkit.baseline_source import BaselineScores
from valkit.gate import acceptance
from valkit.protocol import Protocol, protocol_problems
from valkit.results_schema.baseline import Baseline

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study" / "fake.yaml"


def protocol(baseline: dict, subgroups: dict | None = None) -> Protocol:
    data = yaml.safe_load(FAKE.read_text())
    data["subgroups"] = subgroups or {"columns": ["sex", "site"], "min_positives": 5, "min_negatives": 5}
    data["baseline"] = {"label": "v1 (cleared)", "run": "runs/v1", **baseline}
    return Protocol.model_validate(data)


def study(n: int = 12000, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Cases with sex and site, and the earlier version's scores (sensitivity ~0.85, specificity ~0.90)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.where(y == 1, rng.uniform(0.35, 1.0, n), rng.uniform(0.0, 0.55, n))
    df = pd.DataFrame({"case_id": [f"C{i:05d}" for i in range(n)], "patient_id": [f"P{i:05d}" for i in range(n)],
                       "label": y, "sex": rng.choice(["F", "M"], n), "site": rng.choice(["A", "B", "C"], n),
                       "status": "ok", "image_sha256": [f"h{i}" for i in range(n)]})
    return df, s


def earlier(df: pd.DataFrame, s: np.ndarray, **changes) -> BaselineScores:
    pred = pd.DataFrame({"case_id": df["case_id"], "score": s, "status": "ok", "image_sha256": df["image_sha256"],
                         **changes})
    return BaselineScores("v1 (cleared)", "run", "runs/v1", pred, 0.5, "the earlier run's operating point",
                          {"name": "M", "version": "1", "weights_sha256": "w1"}, "p1")


def results_with(block: dict) -> dict:
    return {"endpoints": [{"id": "sens", "verdict": "PASS", "primary": True, "goal": 0.8}], "baseline": block}


def test_identical_version_is_non_inferior_everywhere():
    df, s = study()
    block, flips = compare_with_baseline(df.assign(score=s), protocol({"non_inferiority": {"margin": 0.02}}),
                                         0.5, earlier(df, s))
    assert isinstance(block, Baseline)  # validated where it is built
    block = block.written()
    assert block["matching"]["paired"] == len(df) and block["flips"]["changed"] == 0 and flips.empty
    ni = block["non_inferiority"]
    assert ni["verdict"] == "PASS" and all(c["n_components"] == 1 + 2 + 3 for c in ni["criteria"])
    assert acceptance(results_with(block))["verdict"] == "PASS"
    assert "intersection-union" in ni["multiplicity"].lower() and "no multiplicity adjustment" in ni["multiplicity"]
    assert block["drift"]["psi"]["value"] == 0.0 and block["drift"]["ks"]["statistic"] == 0.0


def test_a_version_worse_in_one_subgroup_fails_the_gate_and_names_it():
    df, s = study()
    new = s.copy()
    worse = np.flatnonzero((df["sex"] == "F") & (df["label"] == 1) & (s >= 0.5))[:250]  # ~8% of F positives missed
    new[worse] = 0.2
    p = protocol({"non_inferiority": {"margin": 0.02, "metrics": ["sensitivity", "specificity"]}})
    block, flips = compare_with_baseline(df.assign(score=new), p, 0.5, earlier(df, s))
    block = block.written()
    [sens, spec] = block["non_inferiority"]["criteria"]
    assert spec["verdict"] == "PASS"
    assert sens["verdict"] == "FAIL"
    named = {c["where"] for c in sens["not_passed"]}
    assert "sex = F" in named and "sex = M" not in named
    gate = acceptance(results_with(block))
    assert gate["verdict"] == "FAIL"
    [crit] = [c for c in gate["criteria"] if c["kind"] == "baseline" and c["verdict"] == "FAIL"]
    assert "sex = F" in crit["rule"] and crit["metric"] == "sensitivity"
    # flips: exactly the cases made worse, all 'became wrong', counted in the F cell
    assert block["flips"]["changed"] == block["flips"]["became_wrong"] == 250 == len(flips)
    f_cell = [c for c in block["flips"]["by_subgroup"] if c["family"] == "sex" and c["level"] == "F"][0]
    assert f_cell["became_wrong"] == 250 and set(flips["sex"]) == {"F"}
    # the overall paired difference is the Newcombe interval of the discordant counts, McNemar exact on them
    o = block["overall"]["sensitivity"]
    assert o["discordant"] == {"current_only": 0, "baseline_only": 250}
    n_pos = int(df["label"].sum())
    ok_b = int(((s >= 0.5) & (df["label"] == 1)).sum())
    ref = vs.paired_proportion_difference_from_counts(ok_b - 250, 0, 250, n_pos - ok_b)
    assert o["difference"]["interval"]["low"] == pytest.approx(ref.interval.low)
    assert o["test"]["p_value"] == pytest.approx(vs.mcnemar_from_counts(0, 250).p_value)


def test_tango_interval_option_and_agreement_with_non_inferiority():
    df, s = study(n=3000, seed=4)
    new = s.copy()
    new[np.flatnonzero((df["label"] == 0) & (s < 0.5))[:30]] = 0.9
    p = protocol({"non_inferiority": {"margin": 0.05, "metrics": ["specificity", "auc"]}, "interval": "tango"},
                 subgroups={"columns": []})
    block = compare_with_baseline(df.assign(score=new), p, 0.5, earlier(df, s))[0].written()
    o = block["overall"]["specificity"]
    assert o["difference"]["method"] == "tango_score"
    f, g = o["discordant"]["current_only"], o["discordant"]["baseline_only"]
    assert o["difference"]["interval"]["low"] == pytest.approx(vs.tango_score_interval(f, g, o["n"]).interval.low)
    # AUC: the paired DeLong interval of valkit.stats.non_inferiority (same cases, same margin)
    y = df["label"].to_numpy()
    ref = vs.non_inferiority(y, s, new, metric="auc", margin=0.05)
    a = block["overall"]["auc"]
    assert a["difference"]["interval"]["low"] == pytest.approx(ref.test.interval.low)
    assert a["non_inferiority"]["p_value"] == pytest.approx(ref.test.p_value)


def test_cases_that_differ_are_reported_not_paired():
    df, s = study(n=400)
    digests = df["image_sha256"].copy()
    digests.iloc[:3] = "other"
    base = earlier(df, s, image_sha256=digests)
    base = BaselineScores(**{**base.__dict__, "predictions": base.predictions.iloc[5:].assign(
        status=lambda d: np.where(d.index < 8, "failed", "ok"))})
    paired, acc = match_cases(df.assign(score=s), base.predictions)
    assert acc["not_in_baseline"] == 5 and acc["failed_in_baseline"] == 3 and acc["image_differs"] == 0
    assert acc["paired"] == len(paired) == 392
    base2 = earlier(df, s, image_sha256=digests)
    paired, acc = match_cases(df.assign(score=s), base2.predictions)
    assert acc["image_differs"] == 3 and acc["image_differs_cases"] == ["C00000", "C00001", "C00002"]
    assert not set(paired["case_id"]) & {"C00000", "C00001", "C00002"}


def test_baseline_block_errors_name_the_fix():
    data = yaml.safe_load(FAKE.read_text())
    data["baseline"] = {"label": "v1", "run": "a", "non_inferiority": {"margin": 0.02, "metrics": ["sensitivty"]}}
    [problem] = protocol_problems(data, source="p.yaml")
    assert "baseline.non_inferiority.metrics[0]" in problem and "Did you mean 'sensitivity'" in problem
    data["baseline"] = {"label": "v1", "run": "a", "model": "m.yaml"}
    [problem] = protocol_problems(data, source="p.yaml")
    assert "exactly one way" in problem and "found run, model" in problem
