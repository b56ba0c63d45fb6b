"""The model file, checked and read safely: sha256 against the card, then tensors without unpickling.

The file is read once into memory and hashed; the same bytes are then parsed, so the file
cannot change between the check and the load. State dicts are read with :mod:`safetensors`
(preferred) or ``torch.load(weights_only=True)``, which refuses anything but tensors and
plain containers.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING

from valkit.digests import file_sha256
from valkit.errors import InputError, IntegrityError

if TYPE_CHECKING:
    import torch

    from valkit.model_card import ModelCard

__all__ = ["fit_state_dict", "load_state_dict", "read_verified", "state_dict_from_bytes", "verify_weights"]


def _mismatch(card: ModelCard, path: Path, actual: str) -> IntegrityError:
    return IntegrityError(
        f"{card.path}: weights.sha256: the weights file {path} does not match the model card.\n"
        f"  expected (card): {card.weights.sha256}\n"
        f"  found (file):    {actual}\n"
        "The file was changed, replaced or corrupted after the card was written. Restore the original "
        "weights; if you retrained on purpose, write the new digest into weights.sha256 and bump the card's "
        "version so that results from the two models are never mixed."
    )


def verify_weights(card: ModelCard) -> str:
    """Return the weights file's sha256 after checking it against ``card.weights.sha256``.

    Raises :class:`~valkit.errors.IntegrityError` with both digests on a mismatch.
    """
    path = card.weights_path
    if not path.is_file():
        raise InputError(f"{card.path}: weights.file: weights file '{path}' does not exist.")
    actual = file_sha256(path)
    if actual != card.weights.sha256:
        raise _mismatch(card, path, actual)
    return actual


def read_verified(card: ModelCard) -> tuple[bytes, str]:
    """The weights file's bytes and sha256, after checking the digest against the card."""
    path = card.weights_path
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{card.path}: weights.file: weights file '{path}' does not exist.") from None
    actual = hashlib.sha256(payload).hexdigest()
    if actual != card.weights.sha256:
        raise _mismatch(card, path, actual)
    return payload, actual


def state_dict_from_bytes(payload: bytes, path: Path) -> dict[str, torch.Tensor]:
    """Tensors from ``.safetensors`` bytes, or a ``.pt``/``.pth`` state dict read with ``weights_only=True``.

    Anything that needs arbitrary unpickling (a pickled module, a payload that runs code)
    is refused with :class:`~valkit.errors.InputError`; ``path`` only names the file in messages.
    """
    import torch

    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            return load(payload)
        except (SafetensorError, OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable safetensors file ({exc}).") from None
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - UnpicklingError and friends: refuse, never fall back
        raise InputError(
            f"{path}: refused to load: the file is not a plain tensor state dict loadable with "
            f"torch.load(weights_only=True) ({type(exc).__name__}). valkit never unpickles arbitrary objects. "
            "Re-save the weights with safetensors.torch.save_file(model.state_dict(), 'model.safetensors')."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(
            f"{path}: expected a state dict (a mapping of parameter names to tensors), found {type(state).__name__}. "
            "Save model.state_dict(), not the model or a training checkpoint."
        )
    return state


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict file (see :func:`state_dict_from_bytes`)."""
    return state_dict_from_bytes(Path(path).read_bytes(), Path(path))


def fit_state_dict(card: ModelCard, network: torch.nn.Module, state: dict[str, torch.Tensor], *,
                   what: str) -> None:
    """Load ``state`` into ``network``; every parameter must be present and of the right shape."""
    where = f"{card.path}: the weights in {card.weights_path} do not fit {what}"
    try:
        result = network.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # tensor shape mismatches
        raise InputError(f"{where}: {str(exc).splitlines()[-1].strip()} "
                         "Check the card's architecture against the training script.") from None
    if result.missing_keys or result.unexpected_keys:
        raise InputError(f"{where}: missing {_few(result.missing_keys)}; unexpected {_few(result.unexpected_keys)}. "
                         "Check the card's architecture against the training script.")


def _few(keys: list[str], n: int = 4) -> str:
    if not keys:
        return "none"
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more
