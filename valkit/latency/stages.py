"""End-to-end latency of one study, stage by stage: where the time goes.

One study at a time (batch 1, the way a triage device sees a new image), the validated code
path is split into stages and each is timed on a monotonic clock:

``read``            file read and DICOM header parse (:func:`valkit.preprocess.read_dicom`)
``decode``          Pixel Data decompression with the chosen plugin (:func:`decode_pixels`)
``preprocess``      LUTs, window, resize, normalisation (:func:`apply_preprocessing`)
``host_to_device``  the (1, C, H, W) tensor onto the device
``forward``         the network, with the deployed dtype policy (the predictor's)
``postprocess``     sigmoid, back to the host, a float score

On CUDA the device stages end with ``torch.cuda.synchronize`` so that asynchronous work is
charged to the stage that issued it and the stage times add up to the study's total. The total
is read from the same clock around the whole study; whatever the stages do not account for is
reported as ``unattributed``.

Files are read through the page cache: after the first touch a read is a memory copy, so
``read`` is a lower bound on reading from a PACS or network share.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from valkit.errors import without_path
from valkit.latency.percentiles import histogram, nearest_rank
from valkit.latency.timers import Clock

STAGES = ("read", "decode", "preprocess", "host_to_device", "forward", "postprocess")
Stage = tuple[str, Callable[[Any], Any]]


def time_stages(stages: Sequence[Stage], x: Any, *, clock: Clock = time.perf_counter,
                sync: Mapping[str, Callable[[], Any]] | None = None) -> tuple[dict[str, float], float, Any]:
    """Run ``stages`` in order on ``x``; return (seconds per stage, total seconds, final output).

    Examples
    --------
    >>> now = [0.0]
    >>> def cost(s):
    ...     def fn(v):
    ...         now[0] += s
    ...         return v + 1
    ...     return fn
    >>> times, total, out = time_stages([("a", cost(0.5)), ("b", cost(2.0))], 0, clock=lambda: now[0])
    >>> times, total, out
    ({'a': 0.5, 'b': 2.0}, 2.5, 2)
    """
    sync = sync or {}
    times: dict[str, float] = {}
    start = prev = clock()
    for name, fn in stages:
        x = fn(x)
        if name in sync:
            sync[name]()
        now = clock()
        times[name] = now - prev
        prev = now
    return times, clock() - start, x


def dicom_stages(forward: Callable[[Any], Any], device: Any, spec: Any, plugins: Mapping[str, str] | None = None,
                 *, prepare_input: Callable[[Any], Any] | None = None,
                 output: Any = None) -> tuple[list[Stage], dict[str, Callable]]:
    """The real stages for one DICOM path, and the CUDA synchronisers for the device stages.

    ``output`` is the card's output block (sigmoid of one logit when ``None``).
    """
    import torch

    from valkit.models.output import scores_from_logits

    from valkit.latency.decoders import read_dataset
    from valkit.latency.timers import cuda_sync
    from valkit.preprocess import apply_preprocessing, decode_pixels

    device = torch.device(device)
    prepare_input = prepare_input or (lambda t: t)

    def read(path: Any) -> Any:
        return read_dataset(path, plugins)

    def decode(ds: Any) -> Any:
        return ds, decode_pixels(ds)

    def preprocess(pair: Any) -> np.ndarray:
        ds, pixels = pair
        return apply_preprocessing(pixels, ds, spec)

    def host_to_device(arr: np.ndarray) -> Any:
        return prepare_input(torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))[None].to(device))

    def postprocess(logits: Any) -> float:
        # the same arithmetic as Predictor.predict, in float32
        return float(scores_from_logits(logits, output).cpu().numpy()[0])

    stages = [("read", read), ("decode", decode), ("preprocess", preprocess), ("host_to_device", host_to_device),
              ("forward", forward), ("postprocess", postprocess)]
    s = cuda_sync(device)
    return stages, ({"host_to_device": s, "forward": s} if device.type == "cuda" else {})


def end_to_end(items: Sequence[tuple[str, Any]], stages: Sequence[Stage], *, warmup: int,
               sync: Mapping[str, Callable] | None = None, clock: Clock = time.perf_counter,
               summarize_ms: Callable[[np.ndarray], dict], bins: int = 30) -> dict[str, Any]:
    """Time every ``(case_id, input)`` in ``items`` through ``stages``; the first ``warmup`` are discarded.

    ``summarize_ms`` turns the totals (seconds) into the summary dict in milliseconds.
    A study that fails (an undecodable file) is counted with its reason and left out of the
    latency sample; it does not stop the run.
    """
    names = [n for n, _ in stages]
    per_stage: dict[str, list[float]] = {n: [] for n in names}
    totals: list[float] = []
    failures: list[dict[str, str]] = []
    scores: dict[str, float] = {}
    for i, (case_id, x) in enumerate(items):
        try:
            t0 = clock()
            times, _, out = time_stages(stages, x, clock=clock, sync=sync)
            total = clock() - t0
        except Exception as exc:  # noqa: BLE001 - one bad study is a recorded failure
            if i >= warmup:
                reason = f"{type(exc).__name__}: {exc}"
                if isinstance(x, (str, os.PathLike)):  # outputs name a case, never its file's path
                    reason = without_path(reason, os.fspath(x))
                failures.append({"case_id": str(case_id), "reason": reason[:300]})
            continue
        if i < warmup:
            continue
        for n in names:
            per_stage[n].append(times[n])
        totals.append(total)
        scores[str(case_id)] = out
    tot = np.asarray(totals, dtype=float)
    stage_rows = []
    mean_total = float(tot.mean()) if tot.size else math.nan
    for n in names:
        v = np.asarray(per_stage[n], dtype=float) * 1000.0
        mean = float(v.mean()) if v.size else math.nan
        stage_rows.append({
            "name": n, "mean_ms": mean,
            "p50_ms": nearest_rank(v, 50) if v.size else math.nan,
            "p95_ms": nearest_rank(v, 95) if v.size else math.nan,
            "share_of_total": mean / (mean_total * 1000.0) if tot.size and mean_total > 0 else math.nan,
        })
    stage_sum = np.sum([per_stage[n] for n in names], axis=0) if tot.size else np.array([])
    unattributed = (tot - stage_sum) * 1000.0 if tot.size else np.array([])
    measured = [r for r in stage_rows if np.isfinite(r["mean_ms"])]
    return {
        "n_studies": int(tot.size),
        "warmup_studies": min(warmup, len(items)),
        "n_failed": len(failures),
        "failures": failures[:20],
        "latency_ms": summarize_ms(tot),
        "histogram_ms": histogram(tot * 1000.0, bins=bins),
        "stages": stage_rows,
        "unattributed_ms": {"mean": float(unattributed.mean()) if unattributed.size else math.nan,
                            "max_abs": float(np.abs(unattributed).max()) if unattributed.size else math.nan},
        "slowest_stage": max(measured, key=lambda r: r["mean_ms"])["name"] if measured else None,
        "studies_per_s_serial": tot.size / float(tot.sum()) if tot.size and tot.sum() > 0 else math.nan,
        "_scores": scores,
    }
