"""The model being timed: a loaded :class:`~valkit.predictor.Predictor`, or a stand-in network.

The latency code needs the network (to time variants of its forward pass), the validated
``predict`` (to time the deployed path), the input shape, the preprocessing spec and the
device. :meth:`ModelUnderTest.from_predictor` takes all of them from a model card;
:meth:`ModelUnderTest.from_network` wraps any network (random weights are fine for timing),
e.g. MONAI's DenseNet-121 in ``benchmarks/bench_pipeline.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass
class ModelUnderTest:
    name: str
    network: Any
    device: Any
    input_shape: tuple[int, int, int]
    spec: Any
    deployed_variant: str
    predict: Callable[[Any], np.ndarray]
    weights_sha256: str | None = None
    source: str = "model_card"
    output: Any = None  # the card's output block: sigmoid of one logit (None) or a softmax class probability
    torch_variants: bool = True  # False for ONNX graphs: dtype/compile/CUDA-graph variants do not apply
    model_format: str = "monai"

    @classmethod
    def from_predictor(cls, predictor: Any) -> "ModelUnderTest":
        """The validated model: ``predict`` is ``Predictor.predict`` itself."""
        cuda_fp16 = predictor.device.type == "cuda" and getattr(predictor, "autocast", False)
        card = predictor.card
        return cls(name=f"{card.id} {card.version}", network=predictor.network, device=predictor.device,
                   input_shape=tuple(predictor.input_shape), spec=card.preprocessing,
                   deployed_variant="fp16" if cuda_fp16 else "fp32", predict=predictor.predict,
                   weights_sha256=predictor.weights_sha256, source="model_card", output=card.output,
                   torch_variants=getattr(predictor, "torch_variants", True),
                   model_format=card.architecture.format)

    @classmethod
    def from_network(cls, name: str, network: Any, spec: Any, device: Any, *, autocast: bool = True) -> "ModelUnderTest":
        """Any ``(N, C, H, W) -> (N, 1)`` network, predicting the way :class:`Predictor` does."""
        import torch

        device = torch.device(device)
        network = network.to(device).eval()
        cuda_fp16 = device.type == "cuda" and autocast
        shape = (int(spec.channels), int(spec.size[0]), int(spec.size[1]))

        def predict(batch: Any) -> np.ndarray:
            x = torch.as_tensor(batch).to(device, dtype=torch.float32, non_blocking=True)
            with torch.inference_mode():
                if cuda_fp16:
                    with torch.autocast("cuda", dtype=torch.float16):
                        logits = network(x)
                else:
                    logits = network(x)
                probs = torch.sigmoid(logits.float().reshape(len(x), -1)[:, 0])
            return probs.cpu().numpy().astype(np.float64)

        return cls(name=name, network=network, device=device, input_shape=shape, spec=spec,
                   deployed_variant="fp16" if cuda_fp16 else "fp32", predict=predict, source="network")

    def describe(self) -> dict[str, Any]:
        params = sum(int(p.numel()) for p in self.network.parameters()) if self.torch_variants else None
        return {"name": self.name, "source": self.source, "format": self.model_format,
                "input_shape": list(self.input_shape),
                "parameters": params, "deployed_variant": self.deployed_variant,
                "weights_sha256": self.weights_sha256, "device": str(self.device)}
