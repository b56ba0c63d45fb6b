"""From the network's logits to one score per image, as the card's ``output`` block says."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from valkit.model_card import Output

__all__ = ["scores_from_logits"]


def scores_from_logits(logits: torch.Tensor, output: Output | None = None) -> torch.Tensor:
    """``(N,)`` float32 scores: sigmoid of the single logit, or the positive class's softmax probability.

    The arithmetic is in float32 whatever the logits' dtype (float16 under autocast).

    Examples
    --------
    >>> import torch
    >>> from valkit.model_card import Output
    >>> [round(v, 4) for v in scores_from_logits(torch.tensor([[0.0], [2.0]])).tolist()]
    [0.5, 0.8808]
    >>> out = Output(activation="softmax", classes=("normal", "nodule"), positive_class="nodule")
    >>> [round(v, 4) for v in scores_from_logits(torch.tensor([[0.0, 0.0], [0.0, 2.0]]), out).tolist()]
    [0.5, 0.8808]
    """
    import torch

    flat = logits.float().reshape(len(logits), -1)
    if output is not None and output.activation == "softmax":
        return torch.softmax(flat, dim=1)[:, output.positive_index]
    return torch.sigmoid(flat[:, 0])
