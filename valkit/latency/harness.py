"""The measurement loop, after MLPerf LoadGen's single-stream scenario.

1. **Warm-up**: ``warmup`` calls are made and discarded (lazy initialisation, cuDNN autotuning,
   ``torch.compile``, allocator growth, caches). The first call's time is kept separately,
   because a cold first call is what a freshly started service sees.
2. **Measurement**: calls are timed one by one until at least ``min_iterations`` calls *and*
   ``min_seconds`` have passed (LoadGen's ``min_query_count`` and ``min_duration``), or until
   ``max_iterations`` or ``max_seconds`` stop it. Which rule stopped it is recorded.

The loop is single-stream (the next call starts when the previous one ends), so a sample is a
latency and ``batch_size / mean(sample)`` is the throughput at that batch size.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from valkit.latency.timers import Clock, WallTimer

STOP_RULES = ("min_reached", "max_iterations", "max_seconds")


@dataclass(frozen=True)
class Measurement:
    """Timed calls of one configuration. ``samples`` are seconds per call, warm-up excluded."""

    samples: np.ndarray
    warmup: int
    first_call_seconds: float | None
    stopped_by: str
    wall_seconds: float
    timer: str

    @property
    def iterations(self) -> int:
        return int(self.samples.size)

    def throughput(self, items_per_call: int) -> float:
        """Items per second: ``items_per_call * n / sum(samples)``.

        >>> Measurement(np.array([0.5, 0.5]), 0, None, "min_reached", 1.0, "x").throughput(8)
        16.0
        """
        total = float(self.samples.sum())
        return items_per_call * self.samples.size / total if total > 0 else float("nan")


def measure(fn: Callable[[], Any], *, timer: Callable[[Callable[[], Any]], tuple[float, Any]] | None = None,
            warmup: int = 10, min_iterations: int = 100, max_iterations: int = 2000, min_seconds: float = 2.0,
            max_seconds: float = 60.0, clock: Clock = time.perf_counter) -> Measurement:
    """Warm up, then time ``fn()`` repeatedly; see the module docstring for the stopping rules.

    ``clock`` measures the elapsed budget; ``timer`` (default: a :class:`WallTimer` on the same
    clock) times each call.

    Examples
    --------
    A fake model whose calls cost 1, 1, 1, ... seconds on a fake clock (warm-up costs 100 s and
    must not appear in the samples):

    >>> now = [0.0]
    >>> costs = iter([100.0, 100.0] + [1.0] * 10)
    >>> def call():
    ...     now[0] += next(costs)
    >>> m = measure(call, warmup=2, min_iterations=3, min_seconds=5, clock=lambda: now[0])
    >>> m.samples.tolist(), m.stopped_by, m.first_call_seconds
    ([1.0, 1.0, 1.0, 1.0, 1.0], 'min_reached', 100.0)
    """
    if min_iterations < 1 or max_iterations < min_iterations:
        raise ValueError(f"need 1 <= min_iterations <= max_iterations, found {min_iterations}, {max_iterations}")
    timer = timer or WallTimer(clock=clock)
    first = None
    for i in range(warmup):
        dt, _ = timer(fn)
        if i == 0:
            first = dt
    samples: list[float] = []
    start = clock()
    stopped = "min_reached"
    while True:
        dt, _ = timer(fn)
        samples.append(dt)
        elapsed = clock() - start
        if len(samples) >= max_iterations:
            stopped = "min_reached" if elapsed >= min_seconds and len(samples) == min_iterations else "max_iterations"
            break
        if elapsed >= max_seconds:
            stopped = "max_seconds"
            break
        if len(samples) >= min_iterations and elapsed >= min_seconds:
            break
    return Measurement(np.asarray(samples, dtype=float), warmup, first, stopped, clock() - start,
                       getattr(timer, "name", type(timer).__name__))
