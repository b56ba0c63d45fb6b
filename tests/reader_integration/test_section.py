"""The reader-study section of a run: results.json ``reader_study`` from the protocol block.

The fake study (external predictions, no images) gets a simulated reader study on 60 of its
cases; ``model_scores: run`` must pick the run's scores for exactly those cases.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from valkit import stats
from valkit.errors import InputError
from valkit.protocol import load_protocol
from valkit.reader_study import analyze_reader_study
from valkit.reader_study.run import reader_study_section


def _merged(folder) -> pd.DataFrame:
    """The run's study table joined with its predictions, as the pipeline hands it to the section."""
    m = pd.read_csv(folder / "manifest.csv", dtype={"case_id": str, "patient_id": str})
    s = pd.read_csv(folder / "scores.csv", dtype={"case_id": str})
    m = m.merge(s, on="case_id", how="left")
    m["status"] = np.where(np.isfinite(m["score"]), "ok", "failed")
    m["error"] = np.where(m["status"] == "ok", None, "no score in the vendor file")
    return m


def test_results_block_has_the_engine_output_and_the_verdict(reader_results):
    rs = reader_results["reader_study"]
    for key in ("estimates", "differences", "tests", "per_reader", "roc", "model", "comparison", "warnings",
                "flat", "endpoint", "inputs", "binary", "protocol", "variance_components", "reading_time"):
        assert key in rs, key
    assert rs["modalities"] == ["aided", "unaided"] and len(rs["readers"]) == 4
    assert (rs["n_cases"], rs["n_positive"], rs["n_negative"]) == (60, 30, 30)
    assert rs["flat"]["comparison.test"] == "aided" and rs["flat"]["n_cases"] == 60
    assert rs["inputs"]["model_scores"] == "run" and len(rs["inputs"]["ratings_sha256"]) == 64
    assert rs["protocol"]["washout_days"] == 28


def test_numbers_equal_a_direct_analysis_with_the_vendor_scores(reader_run, reader_results):
    """model_scores: run took, for each reader-study case, the score the vendor file gives it."""
    study = reader_run.parents[1] / "study"
    ratings = pd.read_csv(study / "ratings.csv", dtype={"case": str})
    scores = pd.read_csv(study / "scores.csv", dtype={"case_id": str}).set_index("case_id")["score"]
    direct = analyze_reader_study(study / "ratings.csv", model_scores={c: scores[c] for c in ratings["case"]},
                                  margin=0.05, test_modality="aided", reference_modality="unaided")
    assert reader_results["reader_study"]["flat"] == json.loads(json.dumps(direct.to_flat_dict()))


def test_model_auc_is_the_plain_auc_of_its_scores_on_those_cases(reader_run, reader_results):
    study = reader_run.parents[1] / "study"
    ratings = pd.read_csv(study / "ratings.csv", dtype={"case": str}).drop_duplicates("case")
    scores = pd.read_csv(study / "scores.csv", dtype={"case_id": str}).set_index("case_id")["score"]
    auc = stats.roc_auc(ratings["truth"].to_numpy(int), scores[ratings["case"]].to_numpy(float))
    assert reader_results["reader_study"]["model"]["value"] == pytest.approx(auc.value, abs=1e-12)


def test_verdict_is_judged_on_the_lower_bound_against_minus_margin(reader_results):
    ep = reader_results["reader_study"]["endpoint"]
    low = ep["difference"]["interval"]["low"]
    assert ep["bound"] == -0.05 and ep["hypothesis"] == "non_inferiority" and ep["primary"] is False
    assert ep["verdict"] == ("PASS" if low > -0.05 else "FAIL")
    assert ep["difference"]["interval"]["confidence_level"] == 0.95
    assert ep["difference"]["estimate"] == pytest.approx(
        reader_results["reader_study"]["flat"]["auc.mod1"] - reader_results["reader_study"]["flat"]["auc.mod2"])
    # the secondary endpoint does not gate the exit code: the fake study's verdict comes from its endpoints
    assert reader_results["verdict"] == "FAIL"


def test_sensitivity_at_the_rating_threshold_counted_by_hand(reader_run, reader_results):
    study = reader_run.parents[1] / "study"
    r = pd.read_csv(study / "ratings.csv")
    pos = r[r.truth == 1]
    by_hand = (pos.rating >= 3).groupby(pos.modality).mean()
    b = reader_results["reader_study"]["binary"]
    assert b["threshold"] == 3 and b["model_threshold"] == 0.5  # the run's operating threshold
    for mod in ("aided", "unaided"):
        assert b["sensitivity"]["estimates"][mod]["value"] == pytest.approx(by_hand[mod], abs=1e-12)
    neg = r[r.truth == 0]
    spec = (neg.rating < 3).groupby(neg.modality).mean()
    assert b["specificity"]["estimates"]["aided"]["value"] == pytest.approx(spec["aided"], abs=1e-12)
    scores = pd.read_csv(study / "scores.csv", dtype={"case_id": str}).set_index("case_id")["score"]
    cases = r.drop_duplicates("case")
    model_sens = (scores[cases.case[cases.truth == 1].astype(str)] >= 0.5).mean()
    assert b["sensitivity"]["model"]["value"] == pytest.approx(model_sens, abs=1e-12)


def test_results_json_is_strict_json(reader_run):
    def refuse(x):
        raise ValueError(f"non-standard JSON constant {x}")

    json.loads((reader_run / "results.json").read_text(), parse_constant=refuse)


def test_superiority_is_judged_against_zero(tmp_path, make_study):
    p = make_study(tmp_path, {"ratings": "ratings.csv", "hypothesis": "superiority", "model_scores": "none"})
    out = reader_study_section(load_protocol(p), _merged(tmp_path), threshold=0.5).written()
    ep = out["endpoint"]
    assert ep["bound"] == 0.0 and out["model"] is None and out["binary"] is None
    assert ep["verdict"] == ("PASS" if ep["difference"]["interval"]["low"] > 0 else "FAIL")
    assert ep["conclusion"] == out["comparison"]["verdict"]
    assert ep["p_one_sided"] == pytest.approx(out["comparison"]["p_noninferiority"])


def test_model_scores_from_a_file_give_the_same_model_auc(tmp_path, reader_results, make_study):
    p = make_study(tmp_path, {"ratings": "ratings.csv", "model_scores": "model.csv"})
    s = pd.read_csv(tmp_path / "scores.csv", dtype={"case_id": str}).rename(columns={"case_id": "case"})
    s[np.isfinite(s.score)].to_csv(tmp_path / "model.csv", index=False)
    out = reader_study_section(load_protocol(p), _merged(tmp_path), threshold=0.5).written()
    assert out["model"]["value"] == reader_results["reader_study"]["model"]["value"]
    assert len(out["inputs"]["model_scores_sha256"]) == 64


def test_case_without_a_prediction_is_named(tmp_path, make_study):
    p = make_study(tmp_path)
    merged = _merged(tmp_path)
    gone = sorted(pd.read_csv(tmp_path / "ratings.csv", dtype={"case": str})["case"].unique())[:2]
    with pytest.raises(InputError) as exc:
        reader_study_section(load_protocol(p), merged[~merged.case_id.isin(gone)], threshold=0.5)
    msg = str(exc.value)
    assert "2 of the 60 reader-study case(s) have no prediction in this run" in msg
    assert all(c in msg for c in gone) and "model_scores: none" in msg


def test_case_whose_prediction_failed_is_named_with_its_reason(tmp_path, make_study):
    p = make_study(tmp_path)
    merged = _merged(tmp_path)
    bad = pd.read_csv(tmp_path / "ratings.csv", dtype={"case": str})["case"].iloc[0]
    merged.loc[merged.case_id == bad, ["status", "error", "score"]] = ["failed", "DICOM unreadable", np.nan]
    with pytest.raises(InputError, match=rf"{bad} \(DICOM unreadable\)"):
        reader_study_section(load_protocol(p), merged, threshold=0.5)


def test_truth_that_differs_from_the_reference_standard_is_named(tmp_path, make_study):
    p = make_study(tmp_path)
    merged = _merged(tmp_path)
    case = pd.read_csv(tmp_path / "ratings.csv", dtype={"case": str}).query("truth == 1")["case"].iloc[0]
    merged.loc[merged.case_id == case, "label"] = 0
    with pytest.raises(InputError, match=rf"{case} \(ratings 1, manifest 0\)"):
        reader_study_section(load_protocol(p), merged, threshold=0.5)


def test_unknown_modality_suggests_the_right_one(tmp_path, make_study):
    p = make_study(tmp_path, {"ratings": "ratings.csv", "test_modality": "aidded"})
    with pytest.raises(InputError, match=r"reader_study.test_modality: 'aidded' .* Did you mean 'aided'\?"):
        reader_study_section(load_protocol(p), _merged(tmp_path), threshold=0.5)


def test_bad_ratings_stop_the_run_with_exit_2(tmp_path, capsys, make_study):
    from valkit.cli import main

    p = make_study(tmp_path)
    r = pd.read_csv(tmp_path / "ratings.csv", dtype=str)
    r.loc[3, "rating"] = "high"
    r.to_csv(tmp_path / "ratings.csv", index=False)
    assert main(["run", str(p), "--runs-dir", str(tmp_path / "runs"), "--no-report", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "column 'rating': expected a finite number" in err and "row 5" in err


def test_engine_warnings_are_recorded_not_raised(tmp_path, make_study, monkeypatch):
    """A warning the engine emits lands in results (pytest would turn a stray warning into an error)."""
    import warnings

    import valkit.reader_study.run as section
    from valkit.stats.mrmc.options import NegativeVarianceWarning

    real = section.analyze_reader_study

    def noisy(*args, **kwargs):
        warnings.warn("var of the difference is negative (-1e-05)", NegativeVarianceWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(section, "analyze_reader_study", noisy)
    p = make_study(tmp_path, {"ratings": "ratings.csv", "covariance": "unbiased", "threshold": 3})
    out = reader_study_section(load_protocol(p), _merged(tmp_path), threshold=0.5).written()
    assert "var of the difference is negative (-1e-05)" in out["warnings"]
    assert "var of the difference is negative (-1e-05)" in out["binary"]["specificity"]["warnings"]
    assert out["covariance"] == "unbiased" and math.isfinite(out["estimates"]["aided"]["value"])
