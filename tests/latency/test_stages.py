"""Stage timing: each stage is charged its own cost, totals add up, warm-up and failures handled."""
from __future__ import annotations

import numpy as np
import pytest

from valkit.latency.model_bench import MeasureSettings
from valkit.latency.stages import STAGES, end_to_end, time_stages


def fake_stages(clock, costs: dict[str, float], fail_on=()):
    def make(name):
        def fn(x):
            if name == "decode" and x in fail_on:
                raise ValueError("cannot decode pixel data")
            clock.advance(costs[name] if not callable(costs[name]) else costs[name](x))
            return x
        return fn
    return [(n, make(n)) for n in STAGES]


def test_each_stage_gets_exactly_its_cost(clock):
    costs = dict(zip(STAGES, [0.003, 0.040, 0.012, 0.001, 0.025, 0.0005]))
    times, total, out = time_stages(fake_stages(clock, costs), "study", clock=clock,
                                    sync={"forward": lambda: clock.advance(0.002)})
    assert times == pytest.approx({**costs, "forward": 0.027})  # a sync wait is charged to its stage
    assert total == pytest.approx(sum(costs.values()) + 0.002) and out == "study"


def test_end_to_end_percentiles_stage_shares_and_warmup(clock):
    # study i's decode costs i ms; warm-up studies cost 10 s and must not appear
    items = [(f"w{i}", -1) for i in range(2)] + [(f"c{i}", i) for i in range(1, 101)]
    costs = {n: 0.001 for n in STAGES}
    costs["decode"] = lambda i: 10.0 if i < 0 else i / 1000.0
    r = end_to_end(items, fake_stages(clock, costs), warmup=2, clock=clock,
                   summarize_ms=MeasureSettings().summary_ms)
    assert r["n_studies"] == 100 and r["warmup_studies"] == 2 and r["n_failed"] == 0
    # total of study i = 5 ms + i ms -> p50 = 55 ms, p95 = 100 ms, max = 105 ms
    assert r["latency_ms"]["p50"]["value"] == pytest.approx(55.0)
    assert r["latency_ms"]["p95"]["value"] == pytest.approx(100.0)
    assert r["latency_ms"]["max"] == pytest.approx(105.0)
    rows = {s["name"]: s for s in r["stages"]}
    assert rows["decode"]["mean_ms"] == pytest.approx(50.5) and rows["read"]["mean_ms"] == pytest.approx(1.0)
    assert sum(s["mean_ms"] for s in r["stages"]) == pytest.approx(r["latency_ms"]["mean"]["value"])
    assert sum(s["share_of_total"] for s in r["stages"]) == pytest.approx(1.0)
    assert r["unattributed_ms"]["max_abs"] == pytest.approx(0.0, abs=1e-9)
    assert r["slowest_stage"] == "decode" and sum(r["histogram_ms"]["counts"]) == 100


def test_a_failing_study_is_counted_and_the_run_goes_on(clock):
    items = [(f"c{i}", i) for i in range(6)]
    r = end_to_end(items, fake_stages(clock, {n: 0.001 for n in STAGES}, fail_on={3}), warmup=1, clock=clock,
                   summarize_ms=MeasureSettings().summary_ms)
    assert r["n_studies"] == 4 and r["n_failed"] == 1
    assert r["failures"][0]["case_id"] == "c3" and "cannot decode" in r["failures"][0]["reason"]


def test_real_dicom_stages_compute_the_predictors_scores(tiny_study):
    # no timing assertions: the stage-timed path must give the validated predictor's scores,
    # and the stages (intervals inside the study's interval) can never exceed the total
    import pandas as pd

    from valkit.latency.decoders import choose_decoders, plugin_map, preprocess_with_decoders
    from valkit.latency.stages import dicom_stages
    from valkit.latency.variants import prepare_variant
    from valkit.predictor import load_predictor
    from valkit.preprocess import preprocess_file

    pred = load_predictor(tiny_study / "model" / "model.yaml", device="cpu")
    table = pd.read_csv(tiny_study / "manifest.csv")
    paths = [str(tiny_study / p) for p in table["path"]]
    plugins = plugin_map(choose_decoders(paths, repeats=1))
    import torch

    prepared = prepare_variant(pred.network, "fp32", "cpu", torch.zeros(1, 1, 32, 32))
    stages, sync = dicom_stages(prepared.forward, "cpu", pred.card.preprocessing, plugins)
    for p in paths:
        times, total, score = time_stages(stages, p, sync=sync)
        assert list(times) == list(STAGES) and sum(times.values()) <= total
        x = preprocess_file(p, pred.card.preprocessing)
        np.testing.assert_array_equal(x, preprocess_with_decoders(p, pred.card.preprocessing, plugins))
        assert score == pytest.approx(float(pred.predict(x[None])[0]), abs=1e-6)
