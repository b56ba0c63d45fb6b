"""How fast are heatmaps on CPU? Prints one JSON object.

Times :func:`valkit.explain.cam.compute_heatmaps` for N preprocessed images (default 100)
with the demo model (``models/demo-nodule/model.yaml``) when its weights exist, else with a
randomly initialised network of the same architecture and input size (same cost). Also
times the localisation metrics on those maps and one cascading randomisation test. Inputs are
random arrays of the model's input shape: the cost of a heatmap does not depend on the pixels.

    .venv/bin/python benchmarks/explain_bench.py [--n 100] [--batch-size 16] [--method gradcam]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO_CARD = REPO / "models" / "demo-nodule" / "model.yaml"
# the demo card's architecture (models/demo-nodule/train.py), used when the weights are not there
FALLBACK = {"init_features": 8, "growth_rate": 8, "block_config": (2, 2, 2), "bn_size": 2}
FALLBACK_SIZE = (128, 128)
FALLBACK_LAYER = "features.transition1"


def _network():
    if DEMO_CARD.is_file():
        try:
            from valkit.predictor import load_predictor

            p = load_predictor(DEMO_CARD, device="cpu")
            return p.network, p.card.explainability.target_layer, tuple(p.card.preprocessing.size), "demo-nodule"
        except Exception as exc:  # noqa: BLE001 - a benchmark falls back rather than fails
            print(f"# demo model not loadable ({exc}); using the same architecture with random weights",
                  file=__import__("sys").stderr)
    import monai.networks.nets as nets
    import torch

    torch.manual_seed(0)
    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, **FALLBACK).eval()
    return net, FALLBACK_LAYER, FALLBACK_SIZE, "DenseNet(8, 8, [2, 2, 2]) random weights"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--method", default="gradcam")
    ap.add_argument("--sanity-images", type=int, default=8)
    args = ap.parse_args()

    import torch

    from valkit.explain.cam import compute_heatmaps
    from valkit.explain.localisation import Box, energy_fraction, pointing_game_hit
    from valkit.explain.sanity import randomisation_test

    net, layer, size, which = _network()
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, size=(args.n, 1, *size)).astype(np.float32)
    compute_heatmaps(net, layer, x[:2], method=args.method)  # warm-up (allocator, lazy imports)
    t0 = time.perf_counter()
    maps = compute_heatmaps(net, layer, x, method=args.method, batch_size=args.batch_size)
    cam_s = time.perf_counter() - t0

    box = Box(size[1] * 0.4, size[0] * 0.4, size[1] * 0.55, size[0] * 0.55)
    t0 = time.perf_counter()
    for h in maps:
        pointing_game_hit(h, box)
        energy_fraction(h, box)
    metric_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    randomisation_test(net, layer, x[:args.sanity_images], method=args.method, stages=5, seed=0,
                                      batch_size=args.batch_size)
    sanity_s = time.perf_counter() - t0

    print(json.dumps({
        "benchmark": "explain",
        "model": which,
        "target_layer": layer,
        "input_size": list(size),
        "method": args.method,
        "n_heatmaps": args.n,
        "batch_size": args.batch_size,
        "heatmap_seconds": round(cam_s, 3),
        "heatmaps_per_second": round(args.n / cam_s, 2),
        "ms_per_heatmap": round(1000 * cam_s / args.n, 2),
        "localisation_metrics_ms_per_map": round(1000 * metric_s / args.n, 3),
        "randomisation_test": {"images": args.sanity_images, "stages": 5, "seconds": round(sanity_s, 3)},
        "load_average_1min": round(os.getloadavg()[0], 2),  # the machine is shared: timings scale with load
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }, indent=2))


if __name__ == "__main__":
    main()
