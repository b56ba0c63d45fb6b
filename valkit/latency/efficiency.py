"""Pipeline efficiency: how close the full DICOM → prediction pipeline runs to its slowest stage.

Three throughputs (images/s) at the same batch size, the same number of decode workers and the
same number of model threads:

``end_to_end``   valkit's inference runner (:func:`valkit.runner.run_inference`: DataLoader
                 workers decode and preprocess, the main process predicts and writes parts),
``decode_only``  the same runner with a predict that returns at once: read + decode +
                 preprocess + batching, nothing else,
``model_only``   ``predict`` on a batch already in memory (host-to-device copy, forward,
                 sigmoid).

``pipeline_efficiency = end_to_end / min(model_only, decode_only)``; ``bound_by`` names the
slower of the two stages. Perfect overlap gives 1.0; running the stages one after the other
gives ``serial_bound / min(...)``, also reported.

Throughputs are steady-state: the clock starts when the first ``warmup_batches`` batches have
been predicted (worker start-up, first-call allocation) and stops at the last batch.

On a CPU-only machine the decode workers and the model share the cores. Efficiency is then
only meaningful when they do not fight over them: by default on CPU the workers get half the
cores and the model's intra-op threads the rest (``torch.set_num_threads``), and the model-only
reference is measured with that same thread count.
"""
from __future__ import annotations

import contextlib
import functools
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valkit.latency.decoders import preprocess_with_decoders
from valkit.latency.harness import measure
from valkit.latency.timers import Clock


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count for the block, and restore it after."""
    import torch

    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def resolve_parallelism(device_type: str, *, num_workers: int | None, threads: int | None,
                        protocol_workers: int, cores: int | None = None) -> dict[str, Any]:
    """Decode workers and model threads for the throughput runs, and the rule that chose them.

    Workers default to the protocol's ``inference.num_workers`` (efficiency is judged at the
    configuration that runs). On CPU the model's intra-op threads default to the cores the
    workers leave free (at least one): more threads than free cores makes OpenMP threads spin
    against the decode workers, which on a 2-core machine made a forward pass several times
    slower in our measurements (docs/latency.md).

    >>> resolve_parallelism("cpu", num_workers=None, threads=None, protocol_workers=2, cores=2)
    {'num_workers': 2, 'torch_threads': 1, 'rule': 'cpu: inference.num_workers; model threads = free cores (min 1)'}
    >>> resolve_parallelism("cuda", num_workers=None, threads=None, protocol_workers=4, cores=16)["torch_threads"] is None
    True
    """
    cores = cores or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    w = protocol_workers if num_workers is None else num_workers
    src = "inference.num_workers" if num_workers is None else "latency.num_workers"
    if device_type == "cuda":
        return {"num_workers": w, "torch_threads": threads,
                "rule": f"cuda: {src}; model threads " + ("from latency.torch_threads" if threads else "unchanged")}
    t = max(1, cores - w) if threads is None else threads
    how = "free cores (min 1)" if threads is None else "latency.torch_threads"
    return {"num_workers": w, "torch_threads": t, "rule": f"cpu: {src}; model threads = {how}"}


def steady_state_rate(marks: list[tuple[float, int]], warmup_batches: int) -> float:
    """Images per second after the warm-up batches, from ``(time batch finished, images)`` marks.

    >>> steady_state_rate([(1.0, 4), (2.0, 4), (2.5, 4), (3.0, 2)], 1)
    5.0
    """
    w = max(1, warmup_batches)
    if len(marks) <= w:
        return math.nan
    images = sum(n for _, n in marks[w:])
    span = marks[-1][0] - marks[w - 1][0]
    return images / span if span > 0 else math.nan


def bench_table(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows cycling through the table's images, with unique ids for the runner."""
    rows = table.reset_index(drop=True)
    idx = np.arange(n) % len(rows)
    out = pd.DataFrame({
        "case_id": [f"bench-{i:06d}" for i in range(n)],
        "abs_path": rows["abs_path"].to_numpy()[idx],
        "sha256": (rows["sha256"].to_numpy()[idx] if "sha256" in rows.columns else [""] * n),
    })
    return out


def _cpu_seconds(*, children: bool = True) -> float:
    """CPU time of this process, plus its reaped children (DataLoader workers) when ``children``.

    A child's time is counted when it is reaped, so a worker reaped late lands in a later run:
    the utilisation figures are a diagnostic of contention, not a measurement.
    """
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    total = me.ru_utime + me.ru_stime
    if children:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += kids.ru_utime + kids.ru_stime
    return total


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _decode_only_predict(x: Any) -> np.ndarray:
    return np.full(len(x), 0.5)


def stream(table: pd.DataFrame, *, spec: Any, plugins: dict[str, str], predict: Any, batch_size: int,
           num_workers: int, device: str, warmup_batches: int = 1, clock: Clock = time.perf_counter) -> dict[str, Any]:
    """Push ``table`` through the inference runner; the steady-state images/s and the wall time."""
    from valkit.runner import run_inference

    marks: list[tuple[float, int]] = []

    def timed_predict(x: Any) -> np.ndarray:
        out = predict(x)
        marks.append((clock(), len(x)))
        return out

    with tempfile.TemporaryDirectory(prefix="valkit-bench-") as tmp:
        t0, c0 = clock(), _cpu_seconds()
        summary = run_inference(table, Path(tmp) / "run",
                                preprocess=functools.partial(preprocess_with_decoders, spec=spec, plugins=plugins),
                                predict=timed_predict, model_sha256="latency-benchmark",
                                preprocessing_sha256="latency-benchmark", batch_size=batch_size,
                                num_workers=num_workers, device=device, progress=False)
        wall, cpu = clock() - t0, _cpu_seconds() - c0
    return {"images_per_s": steady_state_rate(marks, warmup_batches), "images": summary.n_ok,
            "failed": summary.n_failed, "batches": len(marks), "warmup_batches": warmup_batches,
            "wall_seconds": wall, "wall_images_per_s": summary.n_ok / wall if wall > 0 else math.nan,
            "cpu_utilisation": cpu / (wall * _cores()) if wall > 0 else math.nan}


def model_only_rate(predict: Any, input_shape: tuple[int, ...], batch_size: int, *, min_seconds: float,
                    max_seconds: float, clock: Clock = time.perf_counter) -> dict[str, Any]:
    """``predict`` on one in-memory batch, repeated: images/s."""
    import torch

    x = torch.randn((batch_size, *input_shape), generator=torch.Generator().manual_seed(0))
    c0 = _cpu_seconds(children=False)
    m = measure(lambda: predict(x), warmup=2, min_iterations=3, max_iterations=10_000, min_seconds=min_seconds,
                max_seconds=max(max_seconds, min_seconds), clock=clock)
    cpu = _cpu_seconds(children=False) - c0
    return {"images_per_s": m.throughput(batch_size), "iterations": m.iterations, "seconds": float(m.samples.sum()),
            "cpu_utilisation": cpu / (m.wall_seconds * _cores()) if m.wall_seconds > 0 else math.nan}


def pipeline_efficiency(model: Any, table: pd.DataFrame, *, plugins: dict[str, str], batch_size: int,
                        num_workers: int, threads: int | None, n_images: int, repeats: int = 1,
                        min_seconds: float = 3.0, max_seconds: float = 60.0, warmup_batches: int = 1,
                        min_rounds: int = 6) -> dict[str, Any]:
    """Measure end-to-end, decode-only and model-only throughput; efficiency and what bounds the run.

    ``model`` is a :class:`~valkit.latency.under_test.ModelUnderTest`. The three runs are
    repeated ``repeats`` times, interleaved (decode, model, end-to-end, decode, ...). Each
    throughput is the **best of the repeats**: load from other processes can only slow a run
    down, so the fastest repeat is the closest to the machine's own capacity (the convention of
    Python's ``timeit``). The ratio of medians (``pipeline_efficiency_median``), the ratio
    within each repeat and each run's CPU utilisation (share of the usable cores this process and
    its workers got) are reported next to it, so a reader can see how noisy the machine was.
    """
    # One round = one batch per worker: the workers start together, so the first round arrives
    # at once. Skipping it and measuring over several rounds keeps the start-up burst out.
    rounds = max(1, num_workers)
    warmup_batches = max(warmup_batches, rounds)
    n_images = max(n_images, batch_size * rounds * min_rounds)
    rows = bench_table(table, n_images)
    device = str(model.device)
    runs: dict[str, list[dict]] = {"decode_only": [], "model_only": [], "end_to_end": []}
    with torch_threads(threads):
        import torch

        used_threads = torch.get_num_threads()
        model.predict(torch.zeros((batch_size, *model.input_shape)))  # lazy initialisation out of the way
        for _ in range(repeats):
            runs["decode_only"].append(stream(rows, spec=model.spec, plugins=plugins, predict=_decode_only_predict,
                                              batch_size=batch_size, num_workers=num_workers, device=device,
                                              warmup_batches=warmup_batches))
            runs["model_only"].append(model_only_rate(model.predict, model.input_shape, batch_size,
                                                      min_seconds=min_seconds, max_seconds=max_seconds))
            runs["end_to_end"].append(stream(rows, spec=model.spec, plugins=plugins, predict=model.predict,
                                             batch_size=batch_size, num_workers=num_workers, device=device,
                                             warmup_batches=warmup_batches))
    rate = {k: float(np.nanmax([r["images_per_s"] for r in v])) for k, v in runs.items()}
    median = {k: float(np.nanmedian([r["images_per_s"] for r in v])) for k, v in runs.items()}
    ceiling = min(rate["model_only"], rate["decode_only"])
    serial = 1.0 / (1.0 / rate["model_only"] + 1.0 / rate["decode_only"])
    median_ceiling = min(median["model_only"], median["decode_only"])
    return {
        "batch_size": batch_size,
        "num_workers": num_workers,
        "torch_threads": used_threads,
        "images_per_run": n_images,
        "repeats": repeats,
        "model_only_images_per_s": rate["model_only"],
        "decode_only_images_per_s": rate["decode_only"],
        "end_to_end_images_per_s": rate["end_to_end"],
        "pipeline_efficiency": rate["end_to_end"] / ceiling if ceiling > 0 else math.nan,
        "bound_by": "model" if rate["model_only"] <= rate["decode_only"] else "decode+preprocess",
        "ceiling_images_per_s": ceiling,
        "serial_bound_images_per_s": serial,
        "statistic": "best of repeats" if repeats > 1 else "single run",
        "pipeline_efficiency_median": median["end_to_end"] / median_ceiling if median_ceiling > 0 else math.nan,
        "median_images_per_s": median,
        "cpu_utilisation": {k: [r["cpu_utilisation"] for r in v] for k, v in runs.items()},
        "pipeline_efficiency_per_repeat": [
            e["images_per_s"] / min(m["images_per_s"], d["images_per_s"])
            for e, m, d in zip(runs["end_to_end"], runs["model_only"], runs["decode_only"])],
        "end_to_end_wall_images_per_s": float(np.median([r["wall_images_per_s"] for r in runs["end_to_end"]])),
        "end_to_end_failed": runs["end_to_end"][-1]["failed"],
        "runs": runs,
        "definition": "end_to_end / min(model_only, decode_only), steady state, same batch size, workers and "
                      "model threads",
    }
