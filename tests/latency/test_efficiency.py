"""Pipeline efficiency: steady-state arithmetic, parallelism rule, and a real run through the runner."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from valkit.latency.efficiency import bench_table, pipeline_efficiency, resolve_parallelism, steady_state_rate
from valkit.latency.under_test import ModelUnderTest


def test_steady_state_skips_the_startup_burst():
    # 2 workers deliver their first batches together at t=10 (start-up), then one batch of 8 every second
    marks = [(10.0, 8), (10.01, 8), (11.0, 8), (12.0, 8), (13.0, 8), (14.0, 8)]
    assert steady_state_rate(marks, 2) == pytest.approx(4 * 8 / (14.0 - 10.01))
    assert math.isnan(steady_state_rate(marks[:2], 2))


@pytest.mark.parametrize("cores, workers, threads, expect", [
    (2, None, None, (2, 1)),   # the protocol's 2 workers leave no free core: the model still gets one
    (8, None, None, (2, 6)),
    (8, 3, 2, (3, 2)),
])
def test_cpu_parallelism_never_oversubscribes_by_default(cores, workers, threads, expect):
    r = resolve_parallelism("cpu", num_workers=workers, threads=threads, protocol_workers=2, cores=cores)
    assert (r["num_workers"], r["torch_threads"]) == expect


def test_bench_table_cycles_with_unique_ids():
    t = pd.DataFrame({"case_id": ["a", "b"], "abs_path": ["/x", "/y"], "sha256": ["1", "2"]})
    out = bench_table(t, 5)
    assert out["case_id"].is_unique and list(out["abs_path"]) == ["/x", "/y", "/x", "/y", "/x"]


def test_pipeline_efficiency_through_the_runner(tiny_study):
    from valkit.predictor import load_predictor

    pred = load_predictor(tiny_study / "model" / "model.yaml", device="cpu")
    model = ModelUnderTest.from_predictor(pred)
    table = pd.read_csv(tiny_study / "manifest.csv")
    table["abs_path"] = [str(tiny_study / p) for p in table["path"]]
    before = torch.get_num_threads()
    r = pipeline_efficiency(model, table, plugins={}, batch_size=4, num_workers=0, threads=1, n_images=8,
                            min_seconds=0.05, max_seconds=2)
    assert torch.get_num_threads() == before  # thread setting restored
    assert r["torch_threads"] == 1 and r["num_workers"] == 0 and r["images_per_run"] == 4 * 1 * 6
    m, d, e = r["model_only_images_per_s"], r["decode_only_images_per_s"], r["end_to_end_images_per_s"]
    assert all(np.isfinite([m, d, e])) and min(m, d, e) > 0
    assert r["pipeline_efficiency"] == pytest.approx(e / min(m, d))
    assert r["bound_by"] == ("model" if m <= d else "decode+preprocess")
    assert r["serial_bound_images_per_s"] == pytest.approx(1 / (1 / m + 1 / d))
    assert r["end_to_end_failed"] == 0 and all(run["images"] == 24 for run in r["runs"]["end_to_end"])
