"""Heatmaps: the grad-cam package's methods, batched, on the input grid, checked against hand computation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from valkit.errors import InputError
from valkit.explain.cam import CAM_CLASSES, compute_heatmaps
from valkit.explain.localisation import Box, energy_fraction, pointing_game_hit


@pytest.fixture
def blob_net(helpers):
    return helpers.blob_net


@pytest.fixture
def inputs(helpers):
    return lambda n=4, size=32, seed=0: _inputs(helpers.blob_image, n, size, seed)


def _inputs(blob_image, n, size, seed):
    """Blob images in [0, 1] with their (input-grid) boxes."""
    rng = np.random.default_rng(seed)
    xs, boxes = [], []
    for i in range(n):
        x0, y0 = (int(v) for v in rng.integers(3, size - 10, 2))
        box = (x0, y0, x0 + 6, y0 + 5)
        img = blob_image(size, size, box, seed=seed + i).astype(np.float32)
        xs.append(((img - 0.0) / 4000.0)[None])
        boxes.append(Box(*box))
    return np.stack(xs).astype(np.float32), boxes


def _manual_gradcam(net, layer_name, x):
    """Selvaraju et al. (2017) eq. 1-2 by hand: w_c = spatial mean of d logit / d A_c; relu(sum_c w_c A_c).

    The blob net's forward pass is written out so that A is the named layer's output exactly.
    """
    conv = net.features.conv
    pre = torch.nn.functional.conv2d(torch.nn.functional.pad(torch.from_numpy(x), (2, 2, 2, 2), mode="replicate"),
                                     conv.weight, conv.bias)
    if layer_name == "features.conv":
        a = pre.detach().requires_grad_(True)
        post = torch.relu(a)
    else:
        a = torch.relu(pre).detach().requires_grad_(True)
        post = a
    logit = net.out(post.mean(dim=(2, 3)))
    (grad,) = torch.autograd.grad(logit.sum(), a)
    w = grad.mean(dim=(2, 3), keepdim=True)
    return torch.relu((w * a).sum(dim=1)).detach().numpy()


@pytest.mark.parametrize("layer", ["features.relu", "features.conv"])
def test_gradcam_equals_hand_computation(layer, blob_net, inputs):
    # features.conv is followed by ReLU(inplace=True): the saved activations must be the pre-ReLU ones.
    # A negative read-out weight on the edge channel makes the difference visible in the map.
    net = blob_net()
    with torch.no_grad():
        net.out.weight.copy_(torch.tensor([[1000.0, -300.0]]))
    x, _ = inputs()
    got = compute_heatmaps(net, layer, x, method="gradcam", batch_size=3)
    want = _manual_gradcam(net, layer, x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", list(CAM_CLASSES))
def test_every_method_gives_nonnegative_maps_on_the_input_grid(method):
    import monai.networks.nets as nets

    torch.manual_seed(0)
    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, init_features=4, growth_rate=4,
                        block_config=[1, 1], bn_size=2).eval()
    x = np.random.default_rng(1).normal(size=(3, 1, 24, 40)).astype(np.float32)
    h = compute_heatmaps(net, "features.denseblock2", x, method=method, batch_size=2)
    assert h.shape == (3, 24, 40) and h.dtype == np.float32 and (h >= 0).all() and np.isfinite(h).all()


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "hirescam"])
def test_matches_the_package_public_output_after_its_rescaling(method):
    """The package min-max scales each map on the feature grid, then resizes (cv2, half-pixel centres)."""
    import monai.networks.nets as nets
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(2)
    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, init_features=4, growth_rate=4,
                        block_config=[1, 1], bn_size=2).eval()
    x = np.random.default_rng(3).normal(size=(4, 1, 32, 32)).astype(np.float32)
    ours = compute_heatmaps(net, "features.denseblock1", x, method=method)
    cls = getattr(pytorch_grad_cam, CAM_CLASSES[method])
    with cls(model=net, target_layers=[net.features.denseblock1]) as cam:
        theirs = cam(torch.from_numpy(x), targets=[ClassifierOutputTarget(0)] * 4)
    for a, b in zip(ours, theirs):
        if a.max() == 0:
            assert b.max() == 0
            continue
        np.testing.assert_allclose((a - a.min()) / (a.max() - a.min()), b, atol=2e-3)


def test_batch_size_does_not_change_maps_and_flags_are_restored(blob_net, inputs):
    net = blob_net()
    net.train()
    net.out.weight.requires_grad_(False)
    x, _ = inputs(5)
    one = compute_heatmaps(net, "features.relu", x, batch_size=1)
    many = compute_heatmaps(net, "features.relu", x, batch_size=5)
    np.testing.assert_allclose(one, many, rtol=1e-6, atol=1e-9)
    assert net.training  # restored
    assert [p.requires_grad for p in net.parameters()] == [True, True, False, True]
    assert all(p.grad is None for p in net.parameters())  # no parameter gradients were taken


def test_heatmap_peak_falls_in_the_lesion_box(blob_net, inputs):
    net = blob_net()
    x, boxes = inputs(6, seed=11)
    maps = compute_heatmaps(net, "features.relu", x)
    for h, box in zip(maps, boxes):
        assert pointing_game_hit(h, box)
        assert energy_fraction(h, box) > 0.5


def test_errors_name_the_problem(blob_net):
    net = blob_net()
    x = np.zeros((1, 1, 16, 16), np.float32)
    with pytest.raises(InputError, match="Did you mean 'gradcam\\+\\+'"):
        compute_heatmaps(net, "features.relu", x, method="gradcam+")
    with pytest.raises(InputError, match="no module 'features.rel'. Did you mean 'features.relu'"):
        compute_heatmaps(net, "features.rel", x)
    two = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    with pytest.raises(InputError, match="single-logit"):
        compute_heatmaps(two, "0", x)
    with pytest.raises(ValueError, match="N, C, H, W"):
        compute_heatmaps(net, "features.relu", x[0])


def test_empty_stack(blob_net):
    assert compute_heatmaps(blob_net(), "features.relu", np.zeros((0, 1, 8, 8), np.float32)).shape == (0, 8, 8)
