"""Randomisation test (Adebayo et al. 2018), SSIM and Spearman."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps

from valkit.explain.sanity import randomisation_stages, randomisation_test, randomised_copy, spearman, ssim


def _ssim_brute(x, y, *, sigma=1.5, radius=5, c1=1e-4, c2=9e-4):
    """Wang et al. (2004) eq. 13-16 with an explicit 11 x 11 Gaussian window at every interior pixel."""
    t = np.arange(-radius, radius + 1)
    g = np.exp(-(t**2) / (2 * sigma**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    vals = []
    for i in range(radius, x.shape[0] - radius):
        for j in range(radius, x.shape[1] - radius):
            a = x[i - radius:i + radius + 1, j - radius:j + radius + 1]
            b = y[i - radius:i + radius + 1, j - radius:j + radius + 1]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            vals.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_matches_brute_force_window(seed):
    rng = np.random.default_rng(seed)
    x = rng.random((20, 23))
    y = np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1) if seed else rng.random((20, 23))
    assert ssim(x, y) == pytest.approx(_ssim_brute(x, y), abs=1e-10)


def test_ssim_properties():
    rng = np.random.default_rng(4)
    x, y = rng.random((16, 16)), rng.random((16, 16))
    assert ssim(x, x) == 1.0
    assert ssim(x, y) == pytest.approx(ssim(y, x))
    assert abs(ssim(x, y)) < 0.35  # independent noise: little shared structure
    assert ssim(x, 1 - x) < 0  # anti-correlated structure
    # constant images: (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 1)^2
    assert ssim(np.full((12, 12), 0.2), np.full((12, 12), 0.6)) == pytest.approx((0.24 + 1e-4) / (0.4 + 1e-4))
    with pytest.raises(ValueError, match="at least 11"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))


def test_spearman_matches_scipy_and_handles_constant_maps():
    rng = np.random.default_rng(5)
    a = rng.random((10, 10))
    b = np.round(a + rng.normal(0, 0.3, a.shape), 1)  # with ties
    assert spearman(a, b) == pytest.approx(sps.spearmanr(a.ravel(), b.ravel()).statistic, abs=1e-12)
    assert math.isnan(spearman(a, np.zeros_like(a)))


def test_stages_cascade_from_the_output_and_blocks_partition(helpers):
    import monai.networks.nets as nets

    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, init_features=4, growth_rate=4,
                        block_config=[1, 1], bn_size=2)
    cascade = randomisation_stages(net, mode="cascading", stages=4)
    blocks = randomisation_stages(net, mode="independent", stages=4)
    assert len(cascade) == len(blocks) == 4
    assert cascade[0][0] == "class_layers.out"  # the output layer goes first
    assert cascade[-1][-1] == "features.conv0"  # the stem last
    assert all(set(a) < set(b) for a, b in zip(cascade, cascade[1:]))
    assert sum(blocks, []) == cascade[-1]
    with pytest.raises(ValueError, match="cascading"):
        randomisation_stages(net, mode="cascade")


def test_randomised_copy_is_seeded_leaves_original_and_global_rng(helpers):
    net = helpers.blob_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng_state = torch.random.get_rng_state()
    a = randomised_copy(net, ["features.conv"], seed=3)
    b = randomised_copy(net, ["features.conv"], seed=3)
    c = randomised_copy(net, ["features.conv"], seed=4)
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    assert torch.equal(a.features.conv.weight, b.features.conv.weight)
    assert not torch.equal(a.features.conv.weight, c.features.conv.weight)
    assert not torch.equal(a.features.conv.weight, net.features.conv.weight)
    assert torch.equal(a.out.weight, net.out.weight)  # not named: kept


def _blob_batch(helpers, n=4):
    rng = np.random.default_rng(8)
    xs = []
    for i in range(n):
        x0, y0 = (int(v) for v in rng.integers(4, 20, 2))
        xs.append(helpers.blob_image(32, 32, (x0, y0, x0 + 6, y0 + 6), seed=i)[None] / 4000.0)
    return np.stack(xs).astype(np.float32)


def test_gradcam_changes_when_the_model_is_randomised(helpers):
    net = helpers.blob_net()
    result, trained, stage_maps = randomisation_test(net, "features.relu", _blob_batch(helpers), method="gradcam",
                                                     mode="cascading", stages=5, seed=1, flag_threshold=0.5)
    assert len(stage_maps) == 2 and trained.shape == stage_maps[0].shape
    last = result["stages"][-1]
    assert last["fraction_of_parameters"] == pytest.approx(1.0)
    assert last["spearman"]["mean"] < 0.5 and last["ssim"]["mean"] < 0.9
    assert result["flag_metric"] == "spearman" and "Spearman correlation" in result["rule"]
    assert result["flagged"] is False and result["judged_stage"] == 2  # two layers: at most two stages
    again, _, _ = randomisation_test(net, "features.relu", _blob_batch(helpers), stages=5, seed=1)
    assert again["stages"][-1]["spearman"]["mean"] == last["spearman"]["mean"]


def test_a_method_blind_to_the_weights_is_flagged(helpers):
    # EigenCAM on a parameter-free layer before every weight: the map is a function of the input alone
    net = helpers.blob_net()
    result, _, _ = randomisation_test(net, "features.entry", _blob_batch(helpers), method="eigencam",
                                      mode="independent", stages=2, seed=0)
    assert result["flagged"] is True
    assert result["similarity_at_judged_stage"]["spearman"] == pytest.approx(1.0)
    assert "FLAGGED" in result["interpretation"]
    either, _, _ = randomisation_test(net, "features.entry", _blob_batch(helpers), method="eigencam",
                                      mode="cascading", stages=2, seed=0, flag_metric="either")
    assert either["flagged"] is True and either["judged_stage"] == 2 and "or mean SSIM" in either["rule"]
