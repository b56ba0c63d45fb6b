"""Format ``torchvision``: a whitelisted torchvision classifier
(:data:`~valkit.models.architectures.TORCHVISION_ARCHITECTURES`) built with ``weights=None`` and
``num_classes`` = the card's ``out_channels``, then filled from the card's state dict.

torchvision classifiers take 3-channel images: the card says ``in_channels: 3`` and
``preprocessing.channels: 3``, and the preprocessed grey image is repeated into the three
channels (:func:`valkit.preprocess.apply_preprocessing`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.models import LoadedNetwork
from valkit.models.monai_nets import construct, torch_module
from valkit.models.weights import fit_state_dict, state_dict_from_bytes

if TYPE_CHECKING:
    import torch

    from valkit.model_card import ModelCard

__all__ = ["build_network", "load"]


def build_network(card: ModelCard) -> torch.nn.Module:
    """Instantiate the card's whitelisted torchvision classifier, untrained (no download)."""
    import torchvision.models as models

    arch = card.architecture
    return construct(models, arch.spec, dict(arch.params), card, spatial_dims=arch.spatial_dims,
                     in_channels=arch.in_channels, out_channels=arch.out_channels)


def load(card: ModelCard, payload: bytes, device: str, *, autocast: bool = True) -> LoadedNetwork:
    state = state_dict_from_bytes(payload, card.weights_path)
    network = build_network(card)
    fit_state_dict(card, network, state, what=f"{card.architecture.family} with params {card.architecture.params}")
    return torch_module(card, network, device, autocast=autocast)
