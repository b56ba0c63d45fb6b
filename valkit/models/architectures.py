"""The networks a model card may name, as data: whitelists of MONAI and torchvision constructors.

A card names a network by a key of :data:`ARCHITECTURES` (MONAI) or :data:`TORCHVISION_ARCHITECTURES`;
valkit looks the constructor up as an attribute of ``monai.networks.nets`` or ``torchvision.models``.
Nothing a card says is ever imported or executed, so a card cannot run code or load arbitrary
classes. This module imports neither torch, MONAI nor torchvision.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ARCHITECTURES", "ArchitectureSpec", "FORMATS", "TORCHVISION_ARCHITECTURES", "architectures_for"]


@dataclass(frozen=True)
class ArchitectureSpec:
    """One whitelisted network constructor.

    ``attr`` is the attribute of :mod:`monai.networks.nets` (or :mod:`torchvision.models`) that
    builds it; ``channel_args`` maps valkit's (spatial_dims, in_channels, out_channels) to the
    constructor's own argument names (an empty name: the constructor has no such argument);
    ``fixed`` are arguments a card may not change (``pretrained=False``, ``weights=None``: a
    card never triggers a download); ``params`` are the arguments a card may set.
    """

    attr: str
    channel_args: tuple[str, str, str]
    params: frozenset[str]
    fixed: tuple[tuple[str, Any], ...] = ()


_DENSENET_PARAMS = frozenset({"init_features", "growth_rate", "block_config", "bn_size", "act", "norm", "dropout_prob"})
_RESNET_PARAMS = frozenset({
    "conv1_t_size", "conv1_t_stride", "no_max_pool", "shortcut_type", "widen_factor", "bias_downsample", "act", "norm",
})
_RESNET_CHANNELS = ("spatial_dims", "n_input_channels", "num_classes")

#: MONAI networks (``architecture.format: monai``). Keys are the names written in ``architecture.family``.
ARCHITECTURES: dict[str, ArchitectureSpec] = {
    "monai.networks.nets.DenseNet": ArchitectureSpec(
        "DenseNet", ("spatial_dims", "in_channels", "out_channels"), _DENSENET_PARAMS
    ),
    "monai.networks.nets.DenseNet121": ArchitectureSpec(
        "DenseNet121", ("spatial_dims", "in_channels", "out_channels"),
        _DENSENET_PARAMS - {"block_config"}, (("pretrained", False),),
    ),
    "monai.networks.nets.ResNet": ArchitectureSpec(
        "ResNet", _RESNET_CHANNELS, _RESNET_PARAMS | {"block", "layers", "block_inplanes"}
    ),
    "monai.networks.nets.resnet10": ArchitectureSpec("resnet10", _RESNET_CHANNELS, _RESNET_PARAMS, (("pretrained", False),)),
    "monai.networks.nets.resnet18": ArchitectureSpec("resnet18", _RESNET_CHANNELS, _RESNET_PARAMS, (("pretrained", False),)),
    "monai.networks.nets.EfficientNetBN": ArchitectureSpec(
        "EfficientNetBN", ("spatial_dims", "in_channels", "num_classes"),
        frozenset({"model_name", "norm", "adv_prop"}), (("pretrained", False),),
    ),
}

# torchvision classifiers take 3-channel 2-D images and no spatial_dims/in_channels argument;
# num_classes is the card's out_channels. weights=None: built untrained, the card's file fills it.
_TV_CHANNELS = ("", "", "num_classes")
_TV_FIXED = (("weights", None),)


def _tv(attr: str, params: set[str]) -> ArchitectureSpec:
    return ArchitectureSpec(attr, _TV_CHANNELS, frozenset(params), _TV_FIXED)


#: torchvision classification builders (``architecture.format: torchvision``), built with ``weights=None``.
TORCHVISION_ARCHITECTURES: dict[str, ArchitectureSpec] = {
    "torchvision.models.resnet18": _tv("resnet18", {"zero_init_residual"}),
    "torchvision.models.resnet34": _tv("resnet34", {"zero_init_residual"}),
    "torchvision.models.resnet50": _tv("resnet50", {"zero_init_residual"}),
    "torchvision.models.densenet121": _tv("densenet121", {"bn_size", "drop_rate", "memory_efficient"}),
    "torchvision.models.efficientnet_b0": _tv("efficientnet_b0", {"dropout", "stochastic_depth_prob"}),
    "torchvision.models.mobilenet_v3_small": _tv("mobilenet_v3_small", {"dropout"}),
    "torchvision.models.mobilenet_v3_large": _tv("mobilenet_v3_large", {"dropout"}),
    "torchvision.models.convnext_tiny": _tv("convnext_tiny", {"stochastic_depth_prob", "layer_scale"}),
}

#: ``architecture.format`` values: how the card's file becomes a network (see docs/model-cards.md).
FORMATS: dict[str, str] = {
    "monai": "a whitelisted MONAI network, weights from a state dict (.safetensors, or .pt/.pth with weights_only)",
    "torchvision": "a whitelisted torchvision classifier built with weights=None, weights from a state dict",
    "torchscript": "a TorchScript graph (.ts/.pt/.pth, torch.jit.save)",
    "onnx": "an ONNX graph run with onnxruntime (.onnx)",
    "monai_bundle": "a MONAI bundle folder: network_def read through the MONAI whitelist, or a TorchScript model.ts",
}

#: weights-file suffixes each format reads
WEIGHTS_SUFFIXES: dict[str, tuple[str, ...]] = {
    "monai": (".safetensors", ".pt", ".pth"),
    "torchvision": (".safetensors", ".pt", ".pth"),
    "torchscript": (".ts", ".pt", ".pth"),
    "onnx": (".onnx",),
    "monai_bundle": (".safetensors", ".pt", ".pth", ".ts"),
}


def architectures_for(fmt: str) -> dict[str, ArchitectureSpec]:
    """The whitelist ``architecture.family`` is checked against for format ``fmt`` (empty: no family)."""
    return {"monai": ARCHITECTURES, "torchvision": TORCHVISION_ARCHITECTURES}.get(fmt, {})
