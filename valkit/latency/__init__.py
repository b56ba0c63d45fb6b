"""Latency and throughput of a model and of the whole DICOM → prediction pipeline.

Measured the way MLPerf LoadGen does it (warm-up, many samples, percentiles, the environment
recorded) and reported in the "Computational performance" section of the report.

Modules, by what they hold:

``config``        the protocol's ``latency:`` block (:class:`LatencyOptions`, :class:`Budget`)
``percentiles``   pure statistics of timings: nearest-rank percentiles with order-statistic or
                  bootstrap CIs, histogram, the knee of the throughput curve
``timers``        monotonic-clock and CUDA-event timers (the clock is injectable for tests)
``harness``       the warm-up + measurement loop with LoadGen-style stopping rules
``environment``   GPU/CPU/software/load record; peak host RSS and GPU memory
``variants``      fp32 / bf16 / fp16 autocast, channels_last, torch.compile, CUDA graphs
``model_bench``   model-only latency and throughput against batch size, per variant
``decoders``      fastest installed pixel decoder per transfer syntax
``stages``        per-study latency split into read, decode, preprocess, H2D, forward, post
``efficiency``    end-to-end vs decode-only vs model-only throughput; pipeline efficiency
``section``       :func:`latency_section` → results.json ``latency``

Importing this package does not import torch (the protocol imports :mod:`valkit.latency.config`).
"""
from __future__ import annotations

from typing import Any

from valkit.latency.config import Budget, LatencyOptions

__all__ = ["Budget", "LatencyOptions", "latency_section", "measure_latency"]


def __getattr__(name: str) -> Any:
    if name in ("latency_section", "measure_latency"):
        from valkit.latency import section

        return getattr(section, name)
    raise AttributeError(f"module 'valkit.latency' has no attribute '{name}'")
