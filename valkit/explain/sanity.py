"""Sanity check for explanations: the model-parameter randomisation test.

Adebayo J, Gilmer J, Muelly M, Goodfellow I, Hardt M, Kim B. "Sanity checks for saliency
maps." NeurIPS 2018. If a heatmap method explains *the model*, its maps must change when the
model's learned weights are destroyed. The test compares heatmaps of the trained network
with heatmaps of copies whose layers are re-initialised:

* ``cascading`` (the paper's main test): stage k re-initialises the top k/S of the
  parameterised layers, counted from the output backwards; the last stage is a fully
  random network. The figure is similarity against stage.
* ``independent``: stage k re-initialises only the k-th block of layers (same blocks,
  output first); the rest keeps its trained weights.

Re-initialisation uses each layer's own ``reset_parameters()`` (PyTorch's default
initialisation: Kaiming-uniform convolutions and linear layers; normalisation layers back
to weight 1, bias 0 and running statistics 0/1) under a seeded, forked RNG, so the global
torch RNG is untouched and a seed reproduces the random networks.

Similarity of two maps (both per-image min-max scaled to [0, 1], as in the paper):
Spearman rank correlation of the pixel values, and SSIM (:func:`ssim`). The method is
flagged when the similarity at the most-randomised stage stays at or above a threshold
(cascading: the last stage; independent: the stage whose maps changed most). By default
the flag is judged on the Spearman correlation: SSIM is always reported, but for sparse maps
(Grad-CAM's ReLU leaves much of the image at exactly zero) its mean is dominated by the
shared empty background and overstates similarity.
"""
from __future__ import annotations

import copy
import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from valkit import stats
from valkit.stats.types import NotEstimableWarning

if TYPE_CHECKING:
    import torch

__all__ = ["randomisation_stages", "randomised_copy", "randomisation_test", "spearman", "ssim"]

_FLAG_METRICS = {"spearman": ("spearman",), "ssim": ("ssim",), "either": ("spearman", "ssim")}
_LABELS = {"spearman": "Spearman correlation", "ssim": "SSIM"}


def ssim(a: Any, b: Any, *, data_range: float = 1.0, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> float:
    """Mean structural similarity of two 2-D images (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004).

    Local means, variances and covariance are taken under an 11 x 11 Gaussian window
    (sigma 1.5, the paper's choice; population, not sample, moments), the SSIM map is
    ``((2 mu_a mu_b + C1)(2 cov + C2)) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))`` with
    ``C1 = (k1 L)^2``, ``C2 = (k2 L)^2`` and ``L = data_range``, and the mean is over pixels
    whose window lies inside the image (as scikit-image's ``structural_similarity`` with
    ``gaussian_weights=True, use_sample_covariance=False``).

    >>> x = np.linspace(0, 1, 400).reshape(20, 20)
    >>> ssim(x, x)
    1.0
    >>> round(ssim(np.full((16, 16), 0.2), np.full((16, 16), 0.6)), 4)  # (2ab + C1) / (a^2 + b^2 + C1)
    0.6001
    """
    from scipy import ndimage

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"ssim: expected two 2-D images of the same shape, found {x.shape} and {y.shape}")
    truncate = 3.5  # radius int(3.5 * 1.5 + 0.5) = 5: the 11 x 11 window
    radius = int(truncate * sigma + 0.5)
    if min(x.shape) < 2 * radius + 1:
        raise ValueError(f"ssim: images must be at least {2 * radius + 1} pixels on each side, found {x.shape}")

    def blur(img: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(img, sigma, mode="reflect", truncate=truncate)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    smap = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    inner = smap[radius:-radius, radius:-radius]
    return float(round(inner.mean(), 12))


def spearman(a: Any, b: Any) -> float:
    """Spearman rank correlation of two maps' pixel values; NaN when either map is constant.

    >>> x = np.arange(12.0).reshape(3, 4)
    >>> spearman(x, x ** 3), spearman(x, -x)
    (1.0, -1.0)
    """
    from scipy.stats import rankdata

    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"spearman: maps differ in size ({x.size} vs {y.size})")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    rx, ry = rankdata(x), rankdata(y)
    return float(round(np.corrcoef(rx, ry)[0, 1], 12))


def _unit_scale(h: np.ndarray) -> np.ndarray:
    lo, hi = float(h.min()), float(h.max())
    return (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)


def _parameterised_layers(network: torch.nn.Module) -> list[str]:
    """Names of modules holding their own parameters, output first (reverse registration order)."""
    names = [name for name, m in network.named_modules()
             if name and any(True for _ in m.parameters(recurse=False))]
    return names[::-1]


def randomisation_stages(network: torch.nn.Module, *, mode: str = "cascading", stages: int = 5) -> list[list[str]]:
    """Which layers each stage re-initialises (module names, output side first).

    The parameterised layers, in reverse registration order (for MONAI's networks: the
    classifier, then the deepest features, down to the stem), are cut into ``stages``
    consecutive blocks of near-equal size. ``cascading``: stage k = blocks 1..k;
    ``independent``: stage k = block k alone.
    """
    if mode not in ("cascading", "independent"):
        raise ValueError(f"randomisation mode '{mode}': expected 'cascading' or 'independent'")
    layers = _parameterised_layers(network)
    if not layers:
        raise ValueError("the network has no parameters to randomise")
    k = min(stages, len(layers))
    cuts = np.linspace(0, len(layers), k + 1).round().astype(int)
    blocks = [layers[cuts[i]:cuts[i + 1]] for i in range(k)]
    if mode == "independent":
        return blocks
    return [layers[:cuts[i + 1]] for i in range(k)]


def randomised_copy(network: torch.nn.Module, layer_names: list[str], *, seed: int) -> torch.nn.Module:
    """A deep copy of ``network`` with the named layers re-initialised (seeded, global RNG untouched)."""
    import torch

    device = next(network.parameters()).device
    net = copy.deepcopy(network).cpu()
    modules = dict(net.named_modules())
    with torch.random.fork_rng(devices=[]):
        for i, name in enumerate(layer_names):
            torch.manual_seed((seed * 1_000_003 + i) % (2**63))
            module = modules[name]
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
            else:  # no default initialiser: Gaussian with the layer's own scale
                gen = torch.Generator().manual_seed((seed * 7919 + i) % (2**63))
                with torch.no_grad():
                    for p in module.parameters(recurse=False):
                        std = float(p.detach().std()) if p.numel() > 1 else 1.0
                        p.copy_(torch.randn(p.shape, generator=gen) * (std or 1.0))
            if hasattr(module, "reset_running_stats"):
                module.reset_running_stats()
    return net.to(device).eval()


def _summary(values: list[float], *, seed: int) -> dict:
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    out = {"n": int(len(v)), "n_not_estimable": int(len(v) - len(finite))}
    if len(finite) == 0:
        return {**out, "mean": None, "ci_low": None, "ci_high": None, "min": None, "max": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEstimableWarning)
        est = stats.bootstrap_ci(np.mean, finite, n_resamples=1000, seed=seed) if len(finite) > 1 else None
    return {**out, "mean": float(finite.mean()),
            "ci_low": est.interval.low if est else None, "ci_high": est.interval.high if est else None,
            "ci_method": "bootstrap_percentile" if est else None,
            "min": float(finite.min()), "max": float(finite.max())}


def randomisation_test(
    network: torch.nn.Module,
    target_layer: str,
    images: Any,
    *,
    method: str = "gradcam",
    mode: str = "cascading",
    stages: int = 5,
    seed: int = 0,
    batch_size: int = 16,
    flag_threshold: float = 0.5,
    flag_metric: str = "spearman",
    output_index: int | None = None,
) -> tuple[dict, np.ndarray, list[np.ndarray]]:
    """Run the randomisation test on ``images`` (N, C, H, W).

    Returns ``(result, trained_maps, stage_maps)``: a JSON-ready dict (per-stage similarity
    summaries, the flag and the rule behind it), the trained network's heatmaps and one
    heatmap stack per stage (for figures).

    Per image and stage, similarity is computed between the trained and the randomised
    map; a map that is constant (e.g. zero everywhere) gives a not-estimable Spearman
    correlation, counted in ``n_not_estimable``.
    """
    from valkit.explain.cam import compute_heatmaps

    x = np.asarray(images, dtype=np.float32)
    trained = compute_heatmaps(network, target_layer, x, method=method, batch_size=batch_size,
                               output_index=output_index)
    trained_unit = [_unit_scale(h) for h in trained]
    layer_sets = randomisation_stages(network, mode=mode, stages=stages)
    n_layers = len(_parameterised_layers(network))
    param_count = {name: sum(p.numel() for p in m.parameters(recurse=False))
                   for name, m in network.named_modules() if name}
    total_params = sum(param_count.values()) or 1
    rows, stage_maps = [], []
    for k, names in enumerate(layer_sets, start=1):
        net = randomised_copy(network, names, seed=seed + k)
        maps = compute_heatmaps(net, target_layer, x, method=method, batch_size=batch_size,
                                output_index=output_index)
        del net
        stage_maps.append(maps)
        unit = [_unit_scale(h) for h in maps]
        rho = [spearman(a, b) for a, b in zip(trained_unit, unit)]
        # a constant map (no evidence anywhere) has no structure to compare: not estimable
        sim = [ssim(a, b) if np.ptp(a) > 0 and np.ptp(b) > 0 else math.nan for a, b in zip(trained_unit, unit)]
        rows.append({
            "stage": k,
            "layers_randomised": len(names),
            "first_layer": names[0],
            "last_layer": names[-1],
            "fraction_of_parameters": sum(param_count[n] for n in names) / total_params,
            "target_layer_randomised": any(n == target_layer or n.startswith(target_layer + ".") for n in names),
            "spearman": _summary(rho, seed=seed + k),
            "ssim": _summary(sim, seed=seed + k),
            "spearman_per_image": rho,
            "ssim_per_image": sim,
        })
    if flag_metric not in _FLAG_METRICS:
        raise ValueError(f"flag_metric '{flag_metric}': expected one of {', '.join(_FLAG_METRICS)}")
    metrics = _FLAG_METRICS[flag_metric]
    judged = _judged_stage(rows, mode, metrics)
    worst = _similarity(judged, metrics)
    flagged: bool | None = bool(worst >= flag_threshold) if math.isfinite(worst) else None
    result = {
        "method": method,
        "mode": mode,
        "n_images": int(len(x)),
        "n_parameterised_layers": n_layers,
        "seed": seed,
        "stages": rows,
        "judged_stage": judged["stage"],
        "similarity_at_judged_stage": {"spearman": judged["spearman"]["mean"], "ssim": judged["ssim"]["mean"]},
        "flag_threshold": flag_threshold,
        "flag_metric": flag_metric,
        "flagged": flagged,
        "rule": (f"flagged when the mean {' or mean '.join(_LABELS[m] for m in metrics)} between trained-model "
                 f"and randomised-model heatmaps is >= {flag_threshold} at the "
                 + ("last cascading stage (fully random network)" if mode == "cascading"
                    else "independent stage with the lowest similarity")),
        "interpretation": _interpretation(flagged),
    }
    return result, trained, stage_maps


def _interpretation(flagged: bool | None) -> str:
    if flagged is None:
        return ("Not estimable: the heatmaps were constant (no positive evidence) for every image, so "
                "their similarity cannot be measured.")
    if flagged:
        return ("FLAGGED: the heatmaps barely change when the model's weights are randomised; they may "
                "reflect the image or the architecture rather than what the model learned.")
    return "Passed: the heatmaps change substantially when the model's weights are randomised."


def _num(x: float | None) -> float:
    return -math.inf if x is None or not math.isfinite(x) else float(x)


def _similarity(row: dict, metrics: tuple[str, ...]) -> float:
    return max(_num(row[m]["mean"]) for m in metrics)


def _judged_stage(rows: list[dict], mode: str, metrics: tuple[str, ...]) -> dict:
    if mode == "cascading":
        return rows[-1]
    return min(rows, key=lambda r: _similarity(r, metrics))
