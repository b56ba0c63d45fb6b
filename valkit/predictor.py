"""A model card's network with its verified weights, ready to score preprocessed images.

Loading is safe by construction: the network comes from the whitelist in
:data:`valkit.model_card.ARCHITECTURES` (never an import path from the card), the weights
file's sha256 must equal the card's before a byte of it is parsed, and weights are read
with :mod:`safetensors` (preferred) or ``torch.load(weights_only=True)``, which refuses
to unpickle anything but tensors and plain containers.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from valkit.errors import InputError, IntegrityError
from valkit.model_card import ModelCard, file_sha256, load_model_card
from valkit.suggest import did_you_mean

if TYPE_CHECKING:
    import torch

__all__ = ["Predictor", "build_network", "load_predictor", "load_state_dict", "resolve_device", "verify_weights"]


def build_network(card: ModelCard) -> torch.nn.Module:
    """Instantiate the card's whitelisted MONAI network with freshly initialised weights."""
    import monai.networks.nets as nets

    arch = card.architecture
    spec = arch.spec
    dims_arg, in_arg, out_arg = spec.channel_args
    kwargs: dict[str, Any] = dict(arch.params)
    kwargs.update({dims_arg: arch.spatial_dims, in_arg: arch.in_channels, out_arg: arch.out_channels})
    kwargs.update(dict(spec.fixed))
    where = f"{card.path or '<model card>'}: architecture"
    try:
        return getattr(nets, spec.attr)(**kwargs)
    except (TypeError, ValueError, KeyError, AssertionError) as exc:
        raise InputError(f"{where}: cannot build {arch.family} with params {arch.params}: {exc}") from None


def verify_weights(card: ModelCard, *, where: str | None = None) -> str:
    """Return the weights file's sha256 after checking it against ``card.weights.sha256``.

    ``where`` starts the messages (default: the card's path; ``valkit validate`` adds the line).
    Raises :class:`~valkit.errors.IntegrityError` with both digests on a mismatch.
    """
    where = where or str(card.path)
    path = card.weights_path
    if not path.is_file():
        raise InputError(f"{where}: weights.file: weights file '{path}' does not exist.")
    actual = file_sha256(path)
    if actual != card.weights.sha256:
        raise IntegrityError(
            f"{where}: weights.sha256: the weights file {path} does not match the model card.\n"
            f"  expected (card): {card.weights.sha256}\n"
            f"  found (file):    {actual}\n"
            "The file was changed, replaced or corrupted after the card was written. Restore the original "
            "weights; if you retrained on purpose, write the new digest into weights.sha256 and bump the card's "
            "version so that results from the two models are never mixed."
        )
    return actual


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read tensors from ``.safetensors``, or a ``.pt``/``.pth`` state dict with ``weights_only=True``.

    Anything that needs arbitrary unpickling (a pickled module, a payload that runs code)
    is refused with :class:`~valkit.errors.InputError`.
    """
    import torch

    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable safetensors file ({exc}).") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
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


@dataclass
class Predictor:
    """A loaded model: ``predict(batch)`` maps ``(N, C, H, W)`` float32 images to ``(N,)`` probabilities."""

    card: ModelCard
    network: torch.nn.Module
    device: torch.device
    weights_sha256: str
    autocast: bool = field(default=True)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one preprocessed image."""
        spec = self.card.preprocessing
        return (spec.channels, *spec.size)

    @property
    def threshold(self) -> float:
        """The card's operating threshold on the probability scale (score >= threshold is positive)."""
        return self.card.threshold.value

    @property
    def preprocess(self) -> Callable[[str | Path], np.ndarray]:
        """``preprocess(path) -> (C, H, W) float32``; picklable, so DataLoader workers can run it.

        Checks the card's ``accepts`` first: an image outside it raises
        :class:`~valkit.preprocess.ImageNotAccepted`.
        """
        from valkit.preprocess import preprocess_file

        return functools.partial(preprocess_file, spec=self.card.preprocessing, accepts=self.card.accepts)

    def predict(self, batch: Any) -> np.ndarray:
        """Probabilities (sigmoid of the single logit) for a batch, as float64 ``(N,)``.

        No gradients are kept. On CUDA the forward pass runs under float16 autocast
        (the sigmoid is taken in float32).
        """
        import torch

        x = torch.as_tensor(batch)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"expected a batch of shape (N, {', '.join(map(str, self.input_shape))}), found {tuple(x.shape)}"
            )
        x = x.to(self.device, dtype=torch.float32, non_blocking=True)
        with torch.inference_mode():
            if self.device.type == "cuda" and self.autocast:
                with torch.autocast("cuda", dtype=torch.float16):
                    logits = self.network(x)
            else:
                logits = self.network(x)
            probs = torch.sigmoid(logits.float().reshape(len(x), -1)[:, 0])
        return probs.cpu().numpy().astype(np.float64)

    def target_layer(self) -> torch.nn.Module:
        """The card's explainability target layer (for Grad-CAM)."""
        if self.card.explainability is None:
            raise InputError(f"{self.card.path}: explainability.target_layer is not set in the model card.")
        return dict(self.network.named_modules())[self.card.explainability.target_layer]


def _check_target_layer(card: ModelCard, network: torch.nn.Module) -> None:
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


def load_predictor(card: str | Path | ModelCard, *, device: str = "auto", autocast: bool = True) -> Predictor:
    """Load a model card, verify and load its weights, and return a :class:`Predictor` in eval mode.

    Raises :class:`~valkit.errors.InputError` for a bad card or weights that do not fit the
    network, and :class:`~valkit.errors.IntegrityError` when the weights' sha256 differs
    from the card's.
    """
    if not isinstance(card, ModelCard):
        card = load_model_card(card)
    digest = verify_weights(card)
    state = load_state_dict(card.weights_path)
    network = build_network(card)
    try:
        result = network.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # tensor shape mismatches
        raise InputError(
            f"{card.path}: the weights in {card.weights_path} do not fit {card.architecture.family} "
            f"with params {card.architecture.params}: {str(exc).splitlines()[-1].strip()} "
            "Check architecture.params against the training script."
        ) from None
    if result.missing_keys or result.unexpected_keys:
        raise InputError(
            f"{card.path}: the weights in {card.weights_path} do not fit {card.architecture.family} "
            f"with params {card.architecture.params}: missing {_few(result.missing_keys)}; "
            f"unexpected {_few(result.unexpected_keys)}. Check architecture.params against the training script."
        )
    _check_target_layer(card, network)
    resolved = resolve_device(device)
    network.to(resolved).eval()
    return Predictor(card=card, network=network, device=resolved, weights_sha256=digest, autocast=autocast)


def _few(keys: list[str], n: int = 4) -> str:
    if not keys:
        return "none"
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more
