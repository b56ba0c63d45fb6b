"""Inference on Ray Data (protocol ``inference.executor: ray``): the local runner's rows, on many machines.

The pipeline::

    manifest rows ──► map_batches(decode)            CPU tasks: read, verify, decode, preprocess
                  ──► map_batches(_Replica, actors)   one model replica per actor (``num_gpus=1`` each
                                                      when the cluster has GPUs)
                  ──► driver: parquet parts           ``predictions.parts/`` then ``predictions.parquet``

Everything that decides what a prediction row is comes from :mod:`valkit.runner`, unchanged:
the resume plan (:func:`~valkit.runner.plan_reuse`: a saved row is reused only when case id,
model, image and preprocessing digests match), the per-image decode with failures as data
(the runner's dataset class, so ``ok`` / ``excluded`` / ``failed`` and the reasons are the
same), the score check and row layout (:func:`~valkit.runner.batch_rows`), the atomic part
files and the consolidation (:func:`~valkit.runner.finish`). A killed Ray run therefore
resumes like a killed local run: whole batches are kept, nothing is scored twice or lost.

The driver joins a running cluster with ``ray.init(address=...)`` (protocol
``inference.ray_address``; ``None`` starts a local Ray on this machine). Image paths must be
readable from every worker (a shared filesystem). See docs/scale.md.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from valkit.errors import InputError
from valkit.runner import (
    InferenceSummary,
    RowMaker,
    _ImageDataset,
    batch_rows,
    finish,
    plan_reuse,
    todo_rows,
    write_part,
)


def require_ray() -> Any:
    """The ``ray`` module, or an InputError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InputError("inference.executor: ray needs Ray Data, which is not installed. Install the extra: "
                         "pip install 'valkit[ray]' (or set inference.executor: local).") from None
    return ray


class _Decode:
    """Ray task body: decode and preprocess a batch of manifest rows with the local runner's dataset."""

    def __init__(self, preprocess: Callable[[str], np.ndarray], verify_sha256: bool):
        self.preprocess, self.verify = preprocess, verify_sha256

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = list(zip(batch["case_id"].tolist(), batch["path"].tolist(), batch["digest"].tolist()))
        items = _ImageDataset(rows, self.preprocess, self.verify)
        out: dict[str, list] = {"case_id": [], "status": [], "error": [], "x": [], "shape": []}
        for i in range(len(items)):
            it = items[i]
            x = it["x"]
            out["case_id"].append(it["case_id"])
            out["status"].append(it["status"])
            out["error"].append(it["error"])
            out["x"].append(b"" if x is None else np.ascontiguousarray(x, dtype=np.float32).tobytes())
            out["shape"].append("" if x is None else ",".join(map(str, x.shape)))
        return {k: np.array(v, dtype=object) for k, v in out.items()}


class _Replica:
    """Ray actor: one model replica; scores the decoded images of a batch."""

    def __init__(self, load_predict: Callable[[], Callable[[Any], Any]]):
        self.predict = load_predict()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        ok = np.array([s == "ok" for s in batch["status"]], dtype=bool)
        score = np.full(len(ok), np.nan)
        if ok.any():
            xs = [np.frombuffer(b, dtype=np.float32).reshape([int(d) for d in shape.split(",")])
                  for b, shape, k in zip(batch["x"], batch["shape"], ok) if k]
            got = np.asarray(self.predict(torch.from_numpy(np.stack(xs))), dtype=np.float64).reshape(-1)
            score[ok] = got
        return {"case_id": batch["case_id"], "status": batch["status"], "error": batch["error"], "score": score}


def replicas_and_gpus(ray: Any, device: str, replicas: int | None) -> tuple[int, float]:
    """(model replicas, GPUs per replica): one replica per GPU of the cluster when it has GPUs."""
    gpus = int(ray.cluster_resources().get("GPU", 0)) if device != "cpu" else 0
    if gpus:
        return (replicas or gpus), 1.0
    return (replicas or 1), 0.0


def run_inference_ray(
    table: pd.DataFrame,
    run_dir: Path,
    *,
    preprocess: Callable[[str], np.ndarray],
    load_predict: Callable[[], Callable[[Any], Any]],
    model_sha256: str,
    preprocessing_sha256: str,
    batch_size: int = 16,
    device: str = "cpu",
    verify_sha256: bool = True,
    decoder_of: dict[str, str] | None = None,
    address: str | None = None,
    replicas: int | None = None,
    progress: bool = True,
) -> InferenceSummary:
    """Predict every row of ``table`` on Ray Data; same rows, files and resume rules as :func:`run_inference`.

    ``load_predict()`` runs once in each model actor and returns ``predict(batch_tensor) -> probabilities``
    (it and ``preprocess`` must be picklable). ``address`` is given to ``ray.init`` when Ray is not
    initialised yet (``None``: a local Ray; ``"auto"`` or ``"ray://host:10001"``: a cluster).
    """
    ray = require_ray()
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    plan = plan_reuse(table, run_dir, model_sha256=model_sha256, preprocessing_sha256=preprocessing_sha256)
    rows = todo_rows(plan)
    row = RowMaker(plan, model_sha256, preprocessing_sha256, decoder_of)
    if rows:
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = progress
        n_replicas, gpus = replicas_and_gpus(ray, device, replicas)
        items = [{"case_id": c, "path": p, "digest": d} for c, p, d in rows]
        ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items) // batch_size, 1000)))
        # decoding: stateless CPU tasks (Ray scales them to the free CPUs of the cluster)
        ds = ds.map_batches(_decode_batch, fn_kwargs={"preprocess": preprocess, "verify_sha256": verify_sha256},
                            batch_size=batch_size, batch_format="numpy", num_cpus=1)
        # scoring: a fixed pool of model replicas (actors), one GPU each when the cluster has GPUs
        ds = ds.map_batches(_Replica, fn_constructor_kwargs={"load_predict": load_predict}, batch_size=batch_size,
                            batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=n_replicas),
                            num_gpus=gpus or None)
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            status = batch["status"].tolist()
            ids = batch["case_id"].tolist()
            not_scored = [(c, st, e) for c, st, e in zip(ids, status, batch["error"].tolist()) if st != "ok"]
            ok = [i for i, st in enumerate(status) if st == "ok"]
            write_part(run_dir, batch_rows(row, not_scored, [ids[i] for i in ok], batch["score"][ok]))
    return finish(table, run_dir, plan, t0=t0, device=f"ray:{device}")


def _decode_batch(batch: dict[str, np.ndarray], *, preprocess: Callable[[str], np.ndarray],
                  verify_sha256: bool) -> dict[str, np.ndarray]:
    return _Decode(preprocess, verify_sha256)(batch)
