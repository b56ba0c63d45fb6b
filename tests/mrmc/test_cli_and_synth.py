"""``valkit reader-study`` and the simulated reader study."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valkit.cli import main
from valkit.errors import InputError
from valkit.reader_study import analyze_reader_study
from valkit.synth.reader_study import simulate_reader_study

DATA = Path(__file__).resolve().parents[1] / "data" / "mrmc"


def test_cli_analyze_writes_flat_json(tmp_path, capsys):
    out = tmp_path / "out.json"
    res = tmp_path / "results.json"
    rc = main(["reader-study", "analyze", str(DATA / "vandyke.csv"), "--json", str(out), "--results", str(res)])
    assert rc == 0
    flat = json.loads(out.read_text())
    assert flat["or.jackknife.RRRC.F"] == pytest.approx(4.46, abs=0.005)  # OR-DBM MRMC 2.51
    assert flat["dbm.MS.TR"] == pytest.approx(0.06281753, abs=1e-6)  # JAFROC 4.2.1
    assert "roc" in json.loads(res.read_text())
    assert "OR RRRC: F = 4.4563" in capsys.readouterr().out


def test_cli_options(tmp_path):
    out = tmp_path / "o.json"
    rc = main(["reader-study", "analyze", str(DATA / "vandyke.csv"), "--fom", "sensitivity", "--threshold", "3",
               "--json", str(out)])
    assert rc == 0
    assert json.loads(out.read_text())["sens.ge3.jackknife.RRRC.F"] == pytest.approx(6.689493, abs=5e-7)
    rc = main(["reader-study", "analyze", str(DATA / "vandyke.csv"), "--covariance", "delong", "--json", str(out)])
    assert rc == 0 and json.loads(out.read_text())["or.DeLong.RRRC.F"] == pytest.approx(4.484854, abs=5e-7)


def test_cli_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("reader,case,modality,truth,rating\n1,1,a,0,x\n")
    assert main(["reader-study", "analyze", str(bad)]) == 2
    assert "column 'rating'" in capsys.readouterr().err
    assert main(["reader-study", "analyze", str(tmp_path / "missing.csv")]) == 2
    assert main(["reader-study", "analyze", str(DATA / "vandyke.csv"), "--fom", "sensitivity"]) == 2


def test_cli_plan(tmp_path, capsys):
    out = tmp_path / "plan.json"
    rc = main(["reader-study", "plan", str(DATA / "vandyke.csv"), "--effect", "0.043800322", "--readers", "6,10",
               "--json", str(out)])
    assert rc == 0
    table = json.loads(out.read_text())["table"]
    assert table[0] == {"n_readers": 6, "n_cases": 251, "power": pytest.approx(0.80054, abs=1e-5),
                        "ddf": pytest.approx(16.127, abs=1e-3)}  # RJafroc SsSampleSizeKGivenJ: K = 251


def test_cli_model_scores_and_margin(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    truth = (np.arange(n) % 3 == 0).astype(int)
    model = truth + rng.normal(size=n)
    ids = [f"p{i}" for i in range(n)]
    df = simulate_reader_study(ids, truth, model, n_readers=4, seed=1)
    ratings = tmp_path / "ratings.csv"
    df.to_csv(ratings, index=False)
    scores = tmp_path / "scores.csv"
    pd.DataFrame({"case": ids, "score": model}).to_csv(scores, index=False)
    out = tmp_path / "o.json"
    assert main(["reader-study", "analyze", str(ratings), "--model-scores", str(scores), "--margin", "0.05",
                 "--json", str(out)]) == 0
    flat = json.loads(out.read_text())
    assert {"model.auc", "comparison.verdict", "model.jackknife.RRRC.mod2.ci_lower"} <= set(flat)


def test_simulation_is_deterministic_and_tidy():
    ids = [f"c{i}" for i in range(50)]
    truth = [i % 2 for i in range(50)]
    scores = np.linspace(0, 1, 50)
    a = simulate_reader_study(ids, truth, scores, n_readers=3, seed=5)
    b = simulate_reader_study(ids, truth, scores, n_readers=3, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_reader_study(ids, truth, scores, n_readers=3, seed=6))
    assert list(a.columns) == ["reader", "case", "modality", "truth", "rating", "reading_time_s"]
    assert len(a) == 2 * 3 * 50 and set(a.rating) <= {1, 2, 3, 4, 5}
    assert (a.reading_time_s > 0).all()
    c = simulate_reader_study(ids, truth, scores, n_readers=3, seed=5, scale="0-100")
    assert c.rating.between(0, 100).all()
    analyze_reader_study(a)  # valid input for the analysis


def test_simulation_aided_readers_gain_from_a_good_model():
    rng = np.random.default_rng(2)
    n = 400
    truth = (rng.random(n) < 0.3).astype(int)
    model = 2.5 * truth + rng.normal(size=n)  # model AUC about 0.96
    df = simulate_reader_study(list(range(n)), truth, model, n_readers=5, seed=9)
    flat = analyze_reader_study(df).to_flat_dict()
    assert flat["auc.mean.mod1"] > flat["auc.mean.mod2"] + 0.02  # mod1 = aided


def test_simulation_rejects_bad_input():
    with pytest.raises(InputError, match="same length"):
        simulate_reader_study(["a", "b"], [0, 1, 1], [0.1, 0.2], seed=1)
    with pytest.raises(InputError, match="unique"):
        simulate_reader_study(["a", "a", "b", "c"], [0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], seed=1)
    with pytest.raises(InputError, match="scale"):
        simulate_reader_study(list("abcd"), [0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], seed=1, scale="1-10")
