"""The measurement loop with a fake model of known cost on a fake clock: exact arithmetic.

Costs are multiples of 1/1024 s so that sums on the fake clock are exact in binary floating point.
"""
from __future__ import annotations

import numpy as np
import pytest

from valkit.latency.harness import measure
from valkit.latency.model_bench import MeasureSettings, measurement_record
from valkit.latency.timers import WallTimer


TICK = 1 / 1024


class FakeModel:
    """Each call costs the next value of ``costs`` seconds on ``clock``."""

    def __init__(self, clock, costs):
        self.clock, self.costs, self.calls = clock, list(costs), 0

    def __call__(self):
        self.clock.advance(self.costs[self.calls])
        self.calls += 1


def test_warmup_is_excluded_and_first_call_kept(clock):
    model = FakeModel(clock, [5.0, 3.0, 3.0] + [TICK] * 100)
    m = measure(model, warmup=3, min_iterations=10, max_iterations=10, min_seconds=0, clock=clock)
    assert m.samples.tolist() == [TICK] * 10
    assert m.first_call_seconds == 5.0 and m.warmup == 3 and m.iterations == 10
    assert model.calls == 13


def test_percentiles_and_throughput_of_known_costs(clock):
    # costs 1..400 ticks in a shuffled order: nearest-rank p95 is tick 380 whatever the order
    costs = np.random.default_rng(0).permutation(np.arange(1, 401)) * TICK
    m = measure(FakeModel(clock, costs), warmup=0, min_iterations=400, max_iterations=400, min_seconds=0,
                max_seconds=1e9, clock=clock)
    assert sorted(m.samples.tolist()) == sorted(costs.tolist())
    rec = measurement_record(m, 8, MeasureSettings())
    lat = rec["latency_ms"]
    ms = 1000 * TICK
    assert (lat["p50"]["value"], lat["p95"]["value"], lat["p99"]["value"], lat["max"]) == pytest.approx(
        (200 * ms, 380 * ms, 396 * ms, 400 * ms))
    # order-statistic 95 % CI of p95 with n = 400 (ranks from the binomial, see test_percentiles)
    assert (lat["p95"]["ci_low"], lat["p95"]["ci_high"]) == pytest.approx((371 * ms, 389 * ms))
    # throughput: 8 images per call, 400 calls in sum(costs) seconds
    assert rec["throughput_images_per_s"] == pytest.approx(8 * 400 / costs.sum())
    assert rec["per_image_ms"] == pytest.approx(costs.mean() * 1000 / 8)


@pytest.mark.parametrize("kw, n, rule", [
    ({"min_iterations": 5, "min_seconds": 0.0}, 5, "min_reached"),
    ({"min_iterations": 5, "min_seconds": 2.0}, 16, "min_reached"),  # 1/8 s a call: time rule decides
    ({"min_iterations": 5, "min_seconds": 100.0, "max_iterations": 30}, 30, "max_iterations"),
    ({"min_iterations": 500, "min_seconds": 0.0, "max_seconds": 1.0}, 8, "max_seconds"),
])
def test_stopping_rules(clock, kw, n, rule):
    kw.setdefault("max_iterations", 1000)
    m = measure(FakeModel(clock, [0.125] * 2000), warmup=0, clock=clock, **kw)
    assert m.iterations == n and m.stopped_by == rule


def test_timer_sync_is_inside_the_timed_interval(clock):
    # the synchroniser's cost (waiting for a GPU) must be charged to the call
    timer = WallTimer(clock=clock, sync=lambda: clock.advance(0.5))
    dt, out = timer(lambda: (clock.advance(0.25), "y")[1])
    assert dt == pytest.approx(0.75) and out == "y"


def test_bad_iteration_bounds_are_refused():
    with pytest.raises(ValueError, match="min_iterations"):
        measure(lambda: None, min_iterations=10, max_iterations=5)
