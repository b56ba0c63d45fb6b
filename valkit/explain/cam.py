"""Class-activation heatmaps (Grad-CAM and relatives) for a model card's network, in batches.

The maps come from the grad-cam package (``pytorch_grad_cam``, Gildenblat et al.): the
method's channel weights and per-layer combination are the package's own. valkit takes
the *raw* map (after the ReLU, before the package's per-image min-max rescaling) and
upsamples it bilinearly to the model input grid itself, so that:

* the energy fraction (:func:`valkit.explain.localisation.energy_fraction`) is computed on
  the map the method defines, not on a copy shifted by its own minimum;
* every map is on the same grid as the network input, whose geometry is known exactly
  (see :func:`valkit.explain.localisation.box_to_input_grid`).

The explained output is the network's single logit (the finding-present score), for every
case, whatever its label or prediction: a heatmap shows what pushed the score up.

Gradients are taken with respect to the activations only (the network's parameters are
temporarily frozen), which halves the backward pass.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from valkit.errors import InputError
from valkit.suggest import did_you_mean

if TYPE_CHECKING:
    import torch

__all__ = ["CAM_CLASSES", "compute_heatmaps", "feature_grid", "resolve_target_layer"]

#: protocol name -> class name in pytorch_grad_cam
CAM_CLASSES: dict[str, str] = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
    "eigengradcam": "EigenGradCAM",
    "gradcam-elementwise": "GradCAMElementWise",
}
# tests/explain check that these keys equal config.CAM_METHOD_NAMES (the protocol's Literal)


def _cam_class(method: str) -> type:
    import pytorch_grad_cam

    if method not in CAM_CLASSES:
        hint = did_you_mean(method, CAM_CLASSES, cutoff=0.5)
        raise InputError(f"explainability.method: unknown method '{method}'.{hint} Valid: {', '.join(CAM_CLASSES)}.")
    return getattr(pytorch_grad_cam, CAM_CLASSES[method])


def resolve_target_layer(network: torch.nn.Module, name: str) -> torch.nn.Module:
    """The module called ``name`` in ``network.named_modules()``; an InputError that suggests names otherwise."""
    modules = dict(network.named_modules())
    if name in modules and name:
        return modules[name]
    names = [n for n in modules if n]
    hint = did_you_mean(name, names, n=3)
    raise InputError(f"explainability.target_layer: the network has no module '{name}'.{hint} "
                     f"Valid names are those of network.named_modules(), e.g. {', '.join(names[-5:])}.")


def feature_grid(network: torch.nn.Module, target_layer: str | torch.nn.Module,
                 input_shape: tuple[int, int, int]) -> tuple[int, int]:
    """(rows, columns) of the target layer's feature map for one input of ``input_shape`` (C, H, W).

    This is the heatmap's true resolution: maps are computed on this grid and upsampled.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, stride=4), torch.nn.Flatten())
    >>> feature_grid(net, "0", (1, 32, 48))
    (8, 12)
    """
    import torch

    layer = resolve_target_layer(network, target_layer) if isinstance(target_layer, str) else target_layer
    seen: list[tuple[int, ...]] = []
    handle = layer.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)) and None)
    was_training = network.training
    try:
        network.eval()
        device = next(network.parameters()).device
        with torch.no_grad():
            network(torch.zeros((1, *input_shape), device=device))
    finally:
        handle.remove()
        network.train(was_training)
    if not seen or len(seen[0]) != 4:
        raise InputError(f"explainability.target_layer: the layer's output has shape {seen[0] if seen else None}, "
                         "expected (N, C, H, W) feature maps; choose a convolutional layer.")
    return int(seen[0][2]), int(seen[0][3])


@contextlib.contextmanager
def _frozen_parameters(network: torch.nn.Module) -> Iterator[None]:
    """No parameter gradients during the CAM backward pass; flags restored afterwards."""
    params = list(network.parameters())
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def _clone(t: Any) -> Any:
    # Passed as the package's reshape_transform: a copy of the layer output, so that an
    # in-place activation after the target layer (MONAI's ReLU(inplace=True)) cannot
    # overwrite the saved activations.
    return t.clone()


def compute_heatmaps(
    network: torch.nn.Module,
    target_layer: str | torch.nn.Module,
    images: Any,
    *,
    method: str = "gradcam",
    batch_size: int = 16,
    output_index: int | None = None,
) -> np.ndarray:
    """Heatmaps for a stack of preprocessed images, on the input grid.

    Parameters
    ----------
    network : torch.nn.Module
        A network with one output logit per image (a model card's network).
    target_layer : str or torch.nn.Module
        The module (or its dotted name) whose activations are explained.
    images : array-like, shape (N, C, H, W)
        Preprocessed model inputs (float32).
    method : str
        One of :data:`CAM_CLASSES`.
    batch_size : int
        Images per forward/backward pass.
    output_index : int or None
        The logit explained: ``None`` for a single-logit network (an error otherwise), or the
        column of the positive class of a softmax network (its logit, before the softmax).

    Returns
    -------
    numpy.ndarray, shape (N, H, W), float32
        Non-negative maps, not rescaled: a map that is zero everywhere means the method
        found no positive evidence in the target layer.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(2, 1))
    >>> compute_heatmaps(net, "0", np.zeros((3, 1, 16, 16), np.float32)).shape
    (3, 16, 16)
    """
    import torch
    import torch.nn.functional as F
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = _cam_class(method)
    layer = resolve_target_layer(network, target_layer) if isinstance(target_layer, str) else target_layer
    stack = np.asarray(images, dtype=np.float32)
    if stack.ndim != 4:
        raise ValueError(f"images: expected shape (N, C, H, W), found {stack.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected >= 1, found {batch_size}")
    n, _, height, width = stack.shape
    out = np.zeros((n, height, width), dtype=np.float32)
    if n == 0:
        return out
    was_training = network.training
    cam = cls(model=network, target_layers=[layer], reshape_transform=_clone)
    device = cam.device
    target = ClassifierOutputTarget(0 if output_index is None else output_index)
    try:
        with _frozen_parameters(network), torch.enable_grad():
            for start in range(0, n, batch_size):
                x = torch.from_numpy(stack[start:start + batch_size]).to(device).requires_grad_(True)
                outputs = cam.activations_and_grads(x)
                k = len(x)
                targets = [target] * k
                if output_index is None and outputs.reshape(k, -1).shape[1] != 1:
                    raise InputError(f"explainability: the network gives {outputs.reshape(k, -1).shape[1]} outputs "
                                     "per image; valkit explains single-logit networks only.")
                grads = None
                if cam.uses_gradients:
                    loss = sum(t(o) for t, o in zip(targets, outputs.reshape(k, -1)))
                    loss.backward()
                    grads = cam.activations_and_grads.gradients[0].numpy()
                acts = cam.activations_and_grads.activations[0].numpy()
                raw = cam.get_cam_image(x, layer, targets, acts, grads, False)
                raw = np.maximum(np.asarray(raw, dtype=np.float32), 0.0)
                if raw.ndim != 3:
                    raise InputError(f"explainability.target_layer: the layer's output gives maps of shape "
                                     f"{raw.shape[1:]}, expected 2-D feature maps; choose a convolutional layer.")
                up = F.interpolate(torch.from_numpy(raw)[:, None], size=(height, width), mode="bilinear",
                                   align_corners=False)
                out[start:start + k] = np.maximum(up[:, 0].numpy(), 0.0)
                cam.activations_and_grads.clear()
                del x, outputs
    finally:
        cam.activations_and_grads.release()
        network.train(was_training)
    return out
