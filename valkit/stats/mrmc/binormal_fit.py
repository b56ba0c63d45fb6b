"""The result of one binormal ROC fit, shared by valkit's fit (:mod:`valkit.stats.mrmc.binormal`)
and the MRMCaov emulation (:mod:`valkit.stats.mrmc.binormal_mrmcaov`)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BinormalFit:
    """Maximum-likelihood binormal ROC fit of one reader under one modality."""

    a: float
    b: float
    cutoffs: tuple[float, ...]
    auc: float
    degenerate: bool
    converged: bool
    iterations: int | None = None  # of the optimiser, where it reports them (the MRMCaov emulation)

    @property
    def boundary(self) -> bool:
        """b ran to 0 or infinity: no finite MLE, the AUC is the limit (or where an optimiser stopped)."""
        return not self.degenerate and bool(self.b < 1e-3 or self.b > 1e3)


__all__ = ["BinormalFit"]
