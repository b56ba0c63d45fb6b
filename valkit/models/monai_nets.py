"""Format ``monai``: a whitelisted MONAI constructor (:data:`~valkit.models.architectures.ARCHITECTURES`)
built with freshly initialised weights, then filled from the card's state dict."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from valkit.errors import InputError
from valkit.suggest import did_you_mean
from valkit.models import LoadedNetwork
from valkit.models.device import resolve_device
from valkit.models.weights import fit_state_dict, state_dict_from_bytes

if TYPE_CHECKING:
    import torch

    from valkit.model_card import ModelCard

__all__ = ["build_network", "load", "torch_module"]


def build_network(card: ModelCard) -> torch.nn.Module:
    """Instantiate the card's whitelisted MONAI network with freshly initialised weights."""
    import monai.networks.nets as nets

    arch = card.architecture
    return construct(nets, arch.spec, dict(arch.params), card, spatial_dims=arch.spatial_dims,
                     in_channels=arch.in_channels, out_channels=arch.out_channels)


def construct(namespace: Any, spec: Any, params: dict[str, Any], card: ModelCard, *, spatial_dims: int,
              in_channels: int, out_channels: int) -> torch.nn.Module:
    """Call ``namespace.<spec.attr>`` with the card's params, channels and fixed arguments."""
    kwargs: dict[str, Any] = dict(params)
    for arg, value in zip(spec.channel_args, (spatial_dims, in_channels, out_channels)):
        if arg:  # torchvision classifiers take no spatial_dims / in_channels
            kwargs[arg] = value
    kwargs.update(dict(spec.fixed))
    try:
        return getattr(namespace, spec.attr)(**kwargs)
    except (TypeError, ValueError, KeyError, AssertionError) as exc:
        raise InputError(f"{card.path or '<model card>'}: architecture: cannot build {card.architecture.family or spec.attr} "
                         f"with params {params}: {exc}") from None


def check_target_layer(card: ModelCard, network: torch.nn.Module) -> None:
    """The card's Grad-CAM target layer must be a module of the network (did-you-mean otherwise)."""
    if card.explainability is None:
        return
    names = [n for n, _ in network.named_modules() if n]
    wanted = card.explainability.target_layer
    if wanted not in names:
        hint = did_you_mean(wanted, names, n=3)
        raise InputError(
            f"{card.path}: explainability.target_layer: the network has no module '{wanted}'.{hint} "
            f"Valid names are those of network.named_modules(), e.g. {', '.join(names[:5])}, ..."
        )


def torch_module(card: ModelCard, network: torch.nn.Module, device: str, *, autocast: bool,
                 details: dict[str, Any] | None = None) -> LoadedNetwork:
    """A built-and-filled torch network: target layer checked, moved to ``device``, eval mode."""
    check_target_layer(card, network)
    resolved = resolve_device(device)
    network.to(resolved).eval()
    return LoadedNetwork(network=network, device=resolved, autocast=autocast, details=details)


def load(card: ModelCard, payload: bytes, device: str, *, autocast: bool = True) -> LoadedNetwork:
    state = state_dict_from_bytes(payload, card.weights_path)
    network = build_network(card)
    fit_state_dict(card, network, state, what=f"{card.architecture.family} with params {card.architecture.params}")
    return torch_module(card, network, device, autocast=autocast)
