"""Which device a model runs on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from valkit.errors import InputError

if TYPE_CHECKING:
    import torch

__all__ = ["resolve_device"]


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` is CUDA when available, else CPU; ``cpu``, ``cuda`` and ``cuda:N`` are taken as given."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device '{device}'. Valid: auto, cpu, cuda, cuda:N.") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device '{device}' was requested but CUDA is not available here. Use device 'auto' or 'cpu'.")
    if resolved.type not in ("cpu", "cuda"):
        raise InputError(f"unsupported device '{device}'. Valid: auto, cpu, cuda, cuda:N.")
    return resolved
