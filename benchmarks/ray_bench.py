"""Ray executor against the local one: same results, and throughput against worker count.

Makes a phantom study (``valkit synth``, default 96 images) and a small model card
(:func:`valkit.testing.write_tiny_model`), then runs the inference runner

* locally with 0, 1, 2 DataLoader workers, and
* on Ray Data (a local Ray with ``--cpus`` CPUs) with 1 and 2 model replicas,

checks every executor's predictions equal the first local run's (scores to 1e-6, statuses
and reasons exactly), and prints one JSON line last::

    {"images": 96, "runs": [{"executor": "local", "workers": 0, "images_per_s": ...}, ...],
     "identical": true, "cpu_count": 2, "load_average_1m": ...}

Ray's start-up (seconds) is timed apart (``ray_init_seconds``), not in the throughput.

    .venv/bin/python benchmarks/ray_bench.py [--images 96] [--cpus 2] [--batch-size 16]
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _load_predict(card: str):
    from valkit.predictor import load_predictor

    return load_predictor(card, device="cpu").predict


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=96)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args(argv)

    import ray

    from valkit.manifest import build_manifest, load_manifest
    from valkit.predictor import load_predictor
    from valkit.preprocess import preprocess_file
    from valkit.ray_runner import run_inference_ray
    from valkit.runner import image_digests, run_inference
    from valkit.synth.study import generate_study
    from valkit.testing import write_tiny_model

    root = Path(tempfile.mkdtemp(prefix="valkit-ray-bench-"))
    try:
        generate_study(root / "study", n_images=args.images, seed=7, jobs=1)
        build_manifest(root / "study" / "dicom", out=root / "manifest.csv", labels=root / "study" / "labels.csv")
        table = load_manifest(root / "manifest.csv").table
        table = table.assign(sha256=image_digests(table))
        card = write_tiny_model(root / "model")
        pred = load_predictor(card, device="cpu")
        spec = pred.card.preprocessing
        pre = functools.partial(preprocess_file, spec=spec, accepts=pred.card.accepts)
        common = dict(preprocess=pre, model_sha256=pred.weights_sha256, preprocessing_sha256=spec.sha256,
                      batch_size=args.batch_size, progress=False)
        runs, frames = [], []
        for workers in (0, 1, 2):
            out = root / f"local{workers}"
            s = run_inference(table, out, predict=pred.predict, num_workers=workers, **common)
            runs.append({"executor": "local", "workers": workers, "seconds": round(s.seconds, 2),
                         "images_per_s": round(len(table) / s.seconds, 1), "ok": s.n_ok})
            frames.append(pd.read_parquet(s.predictions_path))
        t0 = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        ray_init = time.perf_counter() - t0
        for replicas in (1, 2):
            out = root / f"ray{replicas}"
            s = run_inference_ray(table, out, load_predict=functools.partial(_load_predict, str(card)),
                                  replicas=replicas, **common)
            runs.append({"executor": "ray", "replicas": replicas, "cpus": args.cpus, "seconds": round(s.seconds, 2),
                         "images_per_s": round(len(table) / s.seconds, 1), "ok": s.n_ok})
            frames.append(pd.read_parquet(s.predictions_path))
        ray.shutdown()
        ref = frames[0].sort_values("case_id").reset_index(drop=True)
        identical = True
        for f in frames[1:]:
            f = f.sort_values("case_id").reset_index(drop=True)
            identical &= bool(np.allclose(f["score"], ref["score"], atol=1e-6, equal_nan=True))
            identical &= f.drop(columns="score").equals(ref.drop(columns="score"))
        print(json.dumps({"images": len(table), "batch_size": args.batch_size, "runs": runs, "identical": identical,
                          "ray_init_seconds": round(ray_init, 1), "cpu_count": os.cpu_count(),
                          "load_average_1m": round(os.getloadavg()[0], 2)}))
        return 0 if identical else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
