"""Model-only forward latency and throughput against batch size, per variant.

The input batch is already on the device (no host-to-device copy, no decoding): this is the
ceiling the model alone allows. On CUDA every call is timed with CUDA events; on CPU with
``time.perf_counter``. A batch size whose single call is predicted (from the previous batch
size, scaled linearly) to exceed ``max_seconds`` is skipped and reported as skipped, so a
512² DenseNet at batch 128 on a laptop CPU does not hold the run for an hour.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from valkit.latency.config import LatencyOptions
from valkit.latency.environment import GpuPeakMemory, HostPeakMemory
from valkit.latency.harness import Measurement, measure
from valkit.latency.percentiles import histogram, summarize, throughput_knee
from valkit.latency.timers import Clock, timer_for
from valkit.latency.variants import prepare_variant, unavailable_reason, variant_config


@dataclass(frozen=True)
class MeasureSettings:
    """The stopping rules and statistics settings, taken from :class:`LatencyOptions`."""

    warmup: int = 10
    min_iterations: int = 100
    max_iterations: int = 2000
    min_seconds: float = 2.0
    max_seconds: float = 60.0
    confidence_level: float = 0.95
    ci: str = "order_statistic"
    resamples: int = 2000
    seed: int | None = None
    bins: int = 30
    knee_fraction: float = 0.9

    @classmethod
    def from_options(cls, o: LatencyOptions, *, seed: int | None) -> "MeasureSettings":
        return cls(warmup=o.warmup_iterations, min_iterations=o.min_iterations, max_iterations=o.max_iterations,
                   min_seconds=o.min_seconds, max_seconds=o.max_seconds, confidence_level=o.confidence_level,
                   ci=o.ci, resamples=o.bootstrap_resamples, seed=seed, bins=o.histogram_bins,
                   knee_fraction=o.knee_fraction)

    def run(self, fn: Callable[[], Any], *, timer: Any, clock: Clock | None) -> Measurement:
        kwargs = {"clock": clock} if clock is not None else {}
        return measure(fn, timer=timer, warmup=self.warmup, min_iterations=self.min_iterations,
                       max_iterations=self.max_iterations, min_seconds=self.min_seconds,
                       max_seconds=self.max_seconds, **kwargs)

    def summary_ms(self, seconds: Any) -> dict[str, Any]:
        import numpy as np

        ms = np.asarray(seconds, dtype=float) * 1000.0
        return summarize(ms, confidence_level=self.confidence_level, ci=self.ci, resamples=self.resamples,
                         seed=self.seed).to_dict()


def measurement_record(m: Measurement, batch_size: int, settings: MeasureSettings) -> dict[str, Any]:
    """The JSON record of one measured configuration (times in milliseconds)."""
    import numpy as np

    mean_s = float(np.mean(m.samples)) if m.iterations else math.nan
    return {
        "batch_size": batch_size,
        "status": "measured",
        "iterations": m.iterations,
        "warmup_iterations": m.warmup,
        "first_call_ms": m.first_call_seconds * 1000.0 if m.first_call_seconds is not None else None,
        "stopped_by": m.stopped_by,
        "timer": m.timer,
        "wall_seconds": m.wall_seconds,
        "latency_ms": settings.summary_ms(m.samples),
        "per_image_ms": mean_s * 1000.0 / batch_size,
        "throughput_images_per_s": m.throughput(batch_size),
    }


def model_only(network: Any, input_shape: Sequence[int], device: Any, *, variant: str, batch_sizes: Sequence[int],
               settings: MeasureSettings, clock: Clock | None = None, seed: int = 0,
               torch_variants: bool = True) -> dict[str, Any]:
    """Time ``variant`` of ``network`` at each batch size; the throughput curve and its knee.

    Returns ``{"variant", "config", "available", "reason", "batches": [...], "knee": {...}}``;
    each batch entry is a :func:`measurement_record` or ``{"batch_size", "status": "skipped" |
    "failed", "reason"}``. With ``torch_variants=False`` (an ONNX graph, run by onnxruntime) only
    ``fp32`` is measured; every other variant is reported as not applicable.
    """
    import torch

    device = torch.device(device)
    out: dict[str, Any] = {"variant": variant, "config": variant_config(variant), "available": True,
                           "reason": None, "batches": [], "torch_threads": torch.get_num_threads()}
    reason = unavailable_reason(variant, device)
    if not torch_variants and variant != "fp32":
        reason = (f"not applicable to this model: it runs in onnxruntime, not torch, so the torch dtype, memory "
                  f"format, compile and CUDA-graph settings of '{variant}' do not apply")
    if reason:
        out.update(available=False, reason=reason)
        out["knee"] = throughput_knee([], [], fraction=settings.knee_fraction).to_dict()
        return out
    if variant_config(variant)["cuda_graphs"]:
        batch_sizes = [1]  # graphs are the batch-1 latency tool; other sizes are not reported for them
    timer = timer_for(device, clock=clock)
    host, gpu = HostPeakMemory(), GpuPeakMemory(device)
    gen = torch.Generator().manual_seed(seed)
    last: tuple[int, float] | None = None  # (batch size, seconds per call) of the last measured size
    for b in sorted(batch_sizes):
        if last is not None:
            predicted = last[1] * b / last[0]
            if predicted * (settings.warmup + 1) > settings.max_seconds:
                out["batches"].append({"batch_size": b, "status": "skipped",
                                       "reason": f"one call would take about {predicted:.1f} s; warm-up plus one "
                                                 f"timed call exceeds max_seconds={settings.max_seconds:g}"})
                continue
        try:
            x = torch.randn((b, *input_shape), generator=gen).to(device)
            gpu.reset()
            host.reset()
            prepared = prepare_variant(network, variant, device, x)
            xin = prepared.prepare_input(x)
            m = settings.run(lambda: prepared.forward(xin), timer=timer, clock=clock)
        except Exception as exc:  # noqa: BLE001 - an OOM or a compiler failure is a result, not a crash
            out["batches"].append({"batch_size": b, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:500]})
            if device.type == "cuda":
                torch.cuda.empty_cache()
            continue
        rec = measurement_record(m, b, settings)
        rec["setup_seconds"] = prepared.setup_seconds
        rec["notes"] = prepared.notes
        rec["peak_gpu_memory_bytes"] = gpu.peak_bytes()
        rec["peak_host_rss_bytes"] = host.peak_bytes()
        rec["host_rss_scope"] = host.scope
        rec["histogram_ms"] = histogram(m.samples * 1000.0, bins=settings.bins)
        out["batches"].append(rec)
        last = (b, float(m.samples.mean()))
        del prepared, xin, x
    measured = [r for r in out["batches"] if r["status"] == "measured"]
    out["knee"] = throughput_knee([r["batch_size"] for r in measured],
                                  [r["throughput_images_per_s"] for r in measured],
                                  fraction=settings.knee_fraction).to_dict()
    return out
