"""Format ``onnx``: an ONNX graph run with onnxruntime, wrapped as a torch module.

The session is created from the verified bytes (so external-data files, which the card's
sha256 would not cover, are refused). Execution providers: CUDA when the device is CUDA and
onnxruntime here has the CUDA provider (the ``onnxruntime-gpu`` package), else CPU. The
wrapper :class:`OnnxNetwork` lets the predictor and the latency harness treat the graph like
any network; dtype, compile and CUDA-graph variants do not apply (the forward pass is not
torch), and Grad-CAM is not available (there is no torch module to hook).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from valkit.errors import InputError
from valkit.models import LoadedNetwork
from valkit.models.device import resolve_device

if TYPE_CHECKING:
    from valkit.model_card import ModelCard

__all__ = ["NO_GRADCAM", "OnnxNetwork", "load", "providers_for"]

NO_GRADCAM = ("Grad-CAM is not available for ONNX models: the graph runs in onnxruntime, so there is no torch module "
              "whose layer activations and gradients could be hooked. Provide the network as format monai or "
              "torchvision with a state dict to get heatmaps.")


class OnnxNetwork(torch.nn.Module):
    """``forward(x) -> logits`` through an onnxruntime session (float32 in, float32 out, on ``x``'s device)."""

    def __init__(self, session: Any, input_name: str, fixed_batch: int | None):
        super().__init__()
        self.session = session
        self.input_name = input_name
        self.fixed_batch = fixed_batch  # a graph exported with batch size 1 is run image by image

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        step = self.fixed_batch or max(len(arr), 1)
        outs = [self.session.run(None, {self.input_name: arr[i:i + step]})[0] for i in range(0, len(arr), step)]
        out = np.concatenate(outs) if outs else np.zeros((0, 1), np.float32)
        return torch.from_numpy(np.asarray(out, dtype=np.float32)).to(x.device)

    def __deepcopy__(self, memo: dict) -> OnnxNetwork:
        return self  # the session is stateless at inference; latency variants copy the network


def providers_for(device: str, available: list[str]) -> tuple[torch.device, list[Any]]:
    """The torch device the inputs live on and onnxruntime's provider list for ``device``.

    >>> providers_for("cpu", ["CPUExecutionProvider"])
    (device(type='cpu'), ['CPUExecutionProvider'])
    """
    cuda_ok = "CUDAExecutionProvider" in available
    if device == "auto":
        resolved = torch.device("cuda" if cuda_ok and torch.cuda.is_available() else "cpu")
    else:
        if device.startswith("cuda") and not cuda_ok:
            raise InputError(f"device '{device}' was requested for an ONNX model, but onnxruntime here has no "
                             f"CUDAExecutionProvider (available: {', '.join(available)}). Install onnxruntime-gpu, "
                             "or use device 'auto' or 'cpu'.")
        resolved = resolve_device(device)
    if resolved.type == "cuda":
        return resolved, [("CUDAExecutionProvider", {"device_id": resolved.index or 0}), "CPUExecutionProvider"]
    return resolved, ["CPUExecutionProvider"]


def load(card: ModelCard, payload: bytes, device: str, *, autocast: bool = True) -> LoadedNetwork:
    import onnxruntime as ort

    resolved, providers = providers_for(device, ort.get_available_providers())
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only; warnings about unused initialisers are noise here
    try:
        session = ort.InferenceSession(payload, sess_options=options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise InputError(f"{card.weights_path}: not a loadable ONNX model ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:300]}). Export it with torch.onnx.export, all weights "
                         "inside the one .onnx file (no external data).") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise InputError(f"{card.weights_path}: the ONNX graph has {len(inputs)} inputs "
                         f"({', '.join(i.name for i in inputs)}); valkit feeds one image batch (N, C, H, W).")
    batch_dim = inputs[0].shape[0] if inputs[0].shape else None
    network = OnnxNetwork(session, inputs[0].name, batch_dim if isinstance(batch_dim, int) else None)
    return LoadedNetwork(network=network, device=resolved, autocast=False, explain_unavailable=NO_GRADCAM,
                         torch_variants=False,
                         details={"onnx_providers": session.get_providers(), "onnx_input": inputs[0].name,
                                  "onnx_input_shape": [d if isinstance(d, int) else str(d) for d in inputs[0].shape]})
