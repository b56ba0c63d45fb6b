"""Format ``torchscript``: a TorchScript graph saved with ``torch.jit.save`` (``.ts``, ``.pt``, ``.pth``).

A TorchScript archive is a graph plus tensors, read by TorchScript's own loader, which builds
only TorchScript types and never calls arbitrary Python: it is not a Python pickle. A file
that is not a TorchScript archive (a ``torch.save`` pickle) is refused. Grad-CAM is not
available: scripted modules do not support the forward/backward hooks it needs.
"""
from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from valkit.errors import InputError
from valkit.models import LoadedNetwork
from valkit.models.device import resolve_device

if TYPE_CHECKING:
    from valkit.model_card import ModelCard

__all__ = ["NO_GRADCAM", "load"]

NO_GRADCAM = ("Grad-CAM is not available for TorchScript models: a scripted graph does not support the forward "
              "and backward hooks Grad-CAM needs. Provide the network as format monai or torchvision with a "
              "state dict to get heatmaps.")


def load(card: ModelCard, payload: bytes, device: str, *, autocast: bool = True) -> LoadedNetwork:
    import torch

    resolved = resolve_device(device)
    try:
        with warnings.catch_warnings():
            # torch 2.14 marks TorchScript as deprecated; it is still what many vendors ship
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.load.* is deprecated", category=FutureWarning)
            network = torch.jit.load(io.BytesIO(payload), map_location=resolved)
    except Exception as exc:  # noqa: BLE001 - any failure to read the archive: refuse with the reason
        raise InputError(
            f"{card.weights_path}: refused to load: not a TorchScript archive ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}). Format 'torchscript' reads files written by torch.jit.save; "
            "valkit never unpickles arbitrary objects. A state dict belongs with format monai or torchvision."
        ) from None
    network.eval()
    return LoadedNetwork(network=network, device=resolved, autocast=autocast, explain_unavailable=NO_GRADCAM)
