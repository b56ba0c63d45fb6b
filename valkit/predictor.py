"""A model card's network with its verified weights, ready to score preprocessed images.

Loading is safe by construction: the network comes from a whitelist (never an import path
from the card) or is a graph (TorchScript, ONNX), the model file's sha256 must equal the
card's before a byte of it is parsed, and state dicts are read with :mod:`safetensors`
(preferred) or ``torch.load(weights_only=True)``, which refuses to unpickle anything but
tensors and plain containers. The formats live in :mod:`valkit.models`, one module each.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from valkit.errors import InputError
from valkit.model_card import ModelCard
from valkit.model_card_io import load_model_card
from valkit.models.device import resolve_device
from valkit.models.monai_nets import build_network
from valkit.models.weights import load_state_dict, verify_weights

if TYPE_CHECKING:
    import torch

__all__ = ["Predictor", "build_network", "load_predictor", "load_state_dict", "resolve_device", "verify_weights"]


@dataclass
class Predictor:
    """A loaded model: ``predict(batch)`` maps ``(N, C, H, W)`` float32 images to ``(N,)`` probabilities."""

    card: ModelCard
    network: torch.nn.Module
    device: torch.device
    weights_sha256: str
    autocast: bool = field(default=True)
    explain_unavailable: str | None = None  # why Grad-CAM cannot run on this format (None: it can)
    torch_variants: bool = True  # False when the forward pass is not torch (ONNX): no dtype/compile variants
    details: dict[str, Any] | None = None  # format details for results.json (ONNX providers, bundle config)

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
        """Scores for a batch, as float64 ``(N,)``: the sigmoid of the single logit, or the softmax
        probability of the card's positive class (:func:`valkit.models.output.scores_from_logits`).

        No gradients are kept. On CUDA the forward pass runs under float16 autocast (not for
        ONNX graphs); the activation is taken in float32.
        """
        import torch

        from valkit.models.output import scores_from_logits

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
            probs = scores_from_logits(logits, self.card.output)
        return probs.cpu().numpy().astype(np.float64)

    def target_layer(self) -> torch.nn.Module:
        """The card's explainability target layer (for Grad-CAM)."""
        if self.card.explainability is None:
            raise InputError(f"{self.card.path}: explainability.target_layer is not set in the model card.")
        return dict(self.network.named_modules())[self.card.explainability.target_layer]


def _check_outputs(card: ModelCard, network: Any, device: torch.device) -> None:
    """One blank image through the network: it must accept the card's input and give out_channels logits."""
    import torch

    shape = (1, card.preprocessing.channels, *card.preprocessing.size)
    try:
        with torch.inference_mode():
            logits = network(torch.zeros(shape, device=device))
    except Exception as exc:  # noqa: BLE001 - any failure here is a card that does not fit its model
        raise InputError(f"{card.path}: the model does not accept the input the card's preprocessing makes, shape "
                         f"{shape} ({type(exc).__name__}: {str(exc).splitlines()[0][:300]}). Check "
                         "preprocessing.size and preprocessing.channels against the model.") from None
    found = int(logits.reshape(1, -1).shape[1])
    if found != card.architecture.out_channels:
        raise InputError(f"{card.path}: architecture.out_channels: the model gives {found} output(s) per image, the "
                         f"card says {card.architecture.out_channels}. Correct out_channels (and output.classes).")


def load_predictor(card: str | Path | ModelCard, *, device: str = "auto", autocast: bool = True) -> Predictor:
    """Load a model card, verify and load its model file, and return a :class:`Predictor` in eval mode.

    Raises :class:`~valkit.errors.InputError` for a bad card or a model that does not fit it,
    and :class:`~valkit.errors.IntegrityError` when the file's sha256 differs from the card's.
    """
    from valkit.models import load_network

    if not isinstance(card, ModelCard):
        card = load_model_card(card)
    loaded, digest = load_network(card, device, autocast=autocast)
    _check_outputs(card, loaded.network, loaded.device)
    return Predictor(card=card, network=loaded.network, device=loaded.device, weights_sha256=digest,
                     autocast=loaded.autocast, explain_unavailable=loaded.explain_unavailable,
                     torch_variants=loaded.torch_variants, details=loaded.details)
