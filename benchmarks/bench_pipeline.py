"""Pipeline efficiency of DICOM → prediction, for the demo model and a standard architecture.

Prints its summary as one JSON line, the last line of its output. For each model: steady-state throughput (images/s) of

* ``end_to_end``: valkit's inference runner (DataLoader workers read, decode and preprocess;
  the main process predicts),
* ``decode_only``: the same runner with a predict that returns at once,
* ``model_only``: ``predict`` on a batch already in memory,

and ``pipeline_efficiency = end_to_end / min(model_only, decode_only)`` with ``bound_by``, all
at the same batch size, decode workers and model threads (see valkit/latency/efficiency.py).

Models: the demo model (``models/demo-nodule/model.yaml`` if it is built, else the same
architecture and preprocessing with random weights: same cost), MONAI DenseNet-121 at 224²
and 512² (random weights; timing does not depend on them). On a CUDA GPU it also records
model-only throughput of bf16 + channels_last + torch.compile for DenseNet-121 and ResNet-50
at 224², and batch-1 latency with CUDA graphs; on CPU those are "not available on this device".

Images: ``--dicom-dir`` (default ``datasets/phantom/demo/dicom`` when present), else a phantom
study made with ``valkit synth`` in a cache folder.

    .venv/bin/python benchmarks/bench_pipeline.py [--models demo,densenet121-224,densenet121-512]
        [--workers 2] [--threads N] [--repeats 3] [--device auto]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_CARD = REPO / "models" / "demo-nodule" / "model.yaml"
DEMO_DICOM = REPO / "datasets" / "phantom" / "demo" / "dicom"
# batch sizes: the demo protocol's 32; smaller for the heavy networks so a CPU run stays minutes
DEFAULT_BATCH = {"demo": 32, "densenet121-224": 16, "densenet121-512": 4}
STANDARD_WINDOW = {"window": {"source": "dicom", "percentiles": [0.5, 99.5]},
                   "normalization": {"method": "fixed", "mean": 0.5, "std": 0.25}}


def log(msg: str) -> None:
    print(f"# {msg}", file=sys.stderr, flush=True)


def dicom_paths(args: argparse.Namespace) -> tuple[list[str], str]:
    root = Path(args.dicom_dir) if args.dicom_dir else (DEMO_DICOM if DEMO_DICOM.is_dir() else None)
    if root is None:
        from valkit.synth.study import generate_study

        root = Path(tempfile.gettempdir()) / f"valkit-bench-phantom-{args.n_images}-{args.seed}"
        log(f"generating {args.n_images} phantom images in {root} (valkit synth, seed {args.seed})")
        generate_study(root, n_images=args.n_images, seed=args.seed, jobs=1)
        root = root / "dicom"
    paths = sorted(str(p) for p in root.rglob("*.dcm"))
    if not paths:
        sys.exit(f"no .dcm files under {root}")
    return paths, str(root)


def demo_model(device: str):
    from valkit.latency.under_test import ModelUnderTest

    if DEMO_CARD.is_file():
        from valkit.predictor import load_predictor

        return ModelUnderTest.from_predictor(load_predictor(DEMO_CARD, device=device)), "model card (trained weights)"
    spec = importlib.util.spec_from_file_location("demo_train", REPO / "models" / "demo-nodule" / "train.py")
    train = importlib.util.module_from_spec(spec)
    sys.modules["demo_train"] = train  # its dataclasses look their module up
    spec.loader.exec_module(train)
    import monai.networks.nets as nets

    from valkit.model_card import PreprocessingSpec

    arch = train.ARCHITECTURE
    net = nets.DenseNet(spatial_dims=2, in_channels=arch["in_channels"], out_channels=arch["out_channels"],
                        **arch["params"])
    pre = PreprocessingSpec.model_validate(train.PREPROCESSING)
    return (ModelUnderTest.from_network("demo-nodule architecture (random weights)", net, pre, device),
            "models/demo-nodule/train.py architecture, random weights (card not built)")


def densenet121(size: int, device: str):
    import monai.networks.nets as nets
    import torch

    from valkit.latency.under_test import ModelUnderTest
    from valkit.model_card import PreprocessingSpec

    torch.manual_seed(0)
    net = nets.DenseNet121(spatial_dims=2, in_channels=1, out_channels=1)
    pre = PreprocessingSpec.model_validate({**STANDARD_WINDOW, "size": [size, size]})
    return ModelUnderTest.from_network(f"MONAI DenseNet-121 {size}x{size}", net, pre, device), "random weights"


def gpu_targets(device, settings) -> dict:
    """bf16 + channels_last + compile throughput (DenseNet-121, ResNet-50 at 224²); CUDA-graph batch-1 latency."""
    import monai.networks.nets as nets
    import torch

    from valkit.latency.model_bench import model_only

    if torch.device(device).type != "cuda":
        return {"status": "not available on this device (cpu)"}
    nets_ = {"densenet121-224": nets.DenseNet121(spatial_dims=2, in_channels=1, out_channels=1),
             "resnet50-224": nets.resnet50(spatial_dims=2, n_input_channels=1, num_classes=1)}
    out = {}
    for name, net in nets_.items():
        net = net.to(device).eval()
        rec = {}
        for variant, batches in (("fp32", [1, 64]), ("fp16", [1, 64]), ("bf16+channels_last+compile", [1, 64, 256]),
                                 ("fp16+cuda_graphs", [1])):
            r = model_only(net, (1, 224, 224), device, variant=variant, batch_sizes=batches, settings=settings)
            rec[variant] = {"available": r["available"], "reason": r["reason"], "batches": [
                {k: b.get(k) for k in ("batch_size", "status", "reason", "throughput_images_per_s", "per_image_ms",
                                        "peak_gpu_memory_bytes")} | {"p50_ms": (b.get("latency_ms") or {}).get(
                                            "p50", {}).get("value"), "p99_ms": (b.get("latency_ms") or {}).get(
                                            "p99", {}).get("value")} for b in r["batches"]]}
        out[name] = rec
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="demo,densenet121-224,densenet121-512")
    ap.add_argument("--dicom-dir", default=None)
    ap.add_argument("--n-images", type=int, default=64, help="phantom images to generate when no DICOM dir")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--batch-size", type=int, default=None, help="override the per-model batch size")
    ap.add_argument("--workers", type=int, default=2, help="decode workers (the demo protocol's 2)")
    ap.add_argument("--threads", type=int, default=None, help="model threads (CPU default: free cores, min 1)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats; best (and median) reported")
    ap.add_argument("--rounds", type=int, default=6, help="measured rounds of one batch per worker")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    import pandas as pd

    from valkit.latency.decoders import choose_decoders, plugin_map
    from valkit.latency.efficiency import pipeline_efficiency, resolve_parallelism
    from valkit.latency.environment import capture_environment
    from valkit.latency.model_bench import MeasureSettings
    from valkit.digests import file_sha256
    from valkit.predictor import resolve_device

    t0 = time.perf_counter()
    device = resolve_device(args.device)
    env = capture_environment(device)
    paths, root = dicom_paths(args)
    table = pd.DataFrame({"case_id": [f"c{i}" for i in range(len(paths))], "abs_path": paths,
                          "sha256": [file_sha256(Path(p)) for p in paths]})
    log(f"{len(paths)} DICOM files; choosing decoders")
    decoders = choose_decoders(paths)
    plugins = plugin_map(decoders)
    par = resolve_parallelism(device.type, num_workers=args.workers, threads=args.threads,
                              protocol_workers=args.workers)
    builders = {"demo": lambda: demo_model(str(device)), "densenet121-224": lambda: densenet121(224, str(device)),
                "densenet121-512": lambda: densenet121(512, str(device))}
    results = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if name not in builders:
            sys.exit(f"unknown model '{name}'; valid: {', '.join(builders)}")
        model, weights = builders[name]()
        batch = args.batch_size or DEFAULT_BATCH[name]
        log(f"{name}: batch {batch}, {par['num_workers']} workers, {par['torch_threads']} model threads")
        t = time.perf_counter()
        r = pipeline_efficiency(model, table, plugins=plugins, batch_size=batch, num_workers=par["num_workers"],
                                threads=par["torch_threads"], n_images=0, repeats=args.repeats,
                                min_rounds=args.rounds, min_seconds=3.0, max_seconds=60.0)
        runs = r.pop("runs")
        results.append({"model": name, "description": model.name, "weights": weights,
                        "input_shape": list(model.input_shape), "device": str(device), **r,
                        "per_repeat_images_per_s": {k: [round(x["images_per_s"], 3) for x in v]
                                                    for k, v in runs.items()},
                        "seconds": round(time.perf_counter() - t, 1)})
        del model
    settings = MeasureSettings(warmup=10, min_iterations=100, max_iterations=2000, min_seconds=2, max_seconds=30)
    out = {
        "benchmark": "bench_pipeline",
        "device": str(device),
        "environment": env,
        "load_average_1m_after": os.getloadavg()[0],
        "dicom": {"root": root, "n_files": len(paths), "decoders": decoders},
        "parallelism": par,
        "results": results,
        "gpu_targets": gpu_targets(device, settings),
        "seconds": round(time.perf_counter() - t0, 1),
        "note": "machine shared with other jobs: see environment.load_average_1m" if (env.get("load_average_1m") or 0)
        > 0.5 * (env.get("cpu_affinity") or 1) else "",
    }
    print(json.dumps(out, default=str))  # one line, last: `tail -1 | jq` reads it


if __name__ == "__main__":
    main()
