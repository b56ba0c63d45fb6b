"""Model formats: how a model card's file becomes a network that maps images to logits.

One module per ``architecture.format`` (see :data:`valkit.models.architectures.FORMATS`):

``monai``         :mod:`valkit.models.monai_nets`       whitelisted MONAI constructor + state dict
``torchvision``   :mod:`valkit.models.torchvision_nets` whitelisted torchvision classifier + state dict
``torchscript``   :mod:`valkit.models.torchscript`      ``torch.jit.load`` of a TorchScript graph
``onnx``          :mod:`valkit.models.onnx_graph`       onnxruntime session, wrapped as a torch module
``monai_bundle``  :mod:`valkit.models.monai_bundle`     bundle ``network_def`` through the MONAI whitelist

Each module has ``load(card, payload, device) -> LoadedNetwork``; :func:`load_network` picks one
through :data:`LOADERS`. Loading is safe by construction: the file's sha256 must equal the card's
before any of it is parsed (:mod:`valkit.models.weights`), state dicts are read with safetensors
or ``torch.load(weights_only=True)``, and TorchScript and ONNX files are graphs read by their
own loaders, never Python pickles. Nothing here imports torch until a model is loaded.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from valkit.model_card import ModelCard

__all__ = ["LOADERS", "LoadedNetwork", "load_network"]

#: ``architecture.format`` -> module with ``load(card, payload, device)``
LOADERS = {
    "monai": "valkit.models.monai_nets",
    "torchvision": "valkit.models.torchvision_nets",
    "torchscript": "valkit.models.torchscript",
    "onnx": "valkit.models.onnx_graph",
    "monai_bundle": "valkit.models.monai_bundle",
}


@dataclass
class LoadedNetwork:
    """A network in eval mode on ``device``: ``network(x) -> (N, out_channels)`` logits.

    ``explain_unavailable`` says why Grad-CAM cannot run on it (``None``: it can);
    ``torch_variants`` is False when the forward pass does not run in torch (ONNX), so
    dtype/compile/CUDA-graph latency variants do not apply; ``details`` go to results.json.
    """

    network: torch.nn.Module
    device: torch.device
    autocast: bool = True
    explain_unavailable: str | None = None
    torch_variants: bool = True
    details: dict[str, Any] | None = None


def load_network(card: ModelCard, device: str, *, autocast: bool = True) -> tuple[LoadedNetwork, str]:
    """Verify the card's file against its sha256, load it with the format's loader; (network, sha256)."""
    from valkit.suggest import did_you_mean_or_list as _did_you_mean
    from valkit.models.weights import read_verified

    fmt = card.architecture.format
    if fmt not in LOADERS:  # the card already checks this; a programming error otherwise
        raise KeyError(f"unknown model format '{fmt}'." + _did_you_mean(fmt, LOADERS))
    payload, digest = read_verified(card)
    loaded = importlib.import_module(LOADERS[fmt]).load(card, payload, device, autocast=autocast)
    return loaded, digest
