"""The protocol's ``baseline:`` block: the model version already cleared, compared on the same cases.

Data only, like the rest of the protocol: frozen, unknown keys rejected, nothing executed. Paths
are relative to the protocol file. Name the earlier version in exactly one way::

    baseline:
      label: "v1.3 (cleared, K231234)"          # how the report names it
      run: ../runs/v1.3                         # its run folder (results.json + predictions.parquet)
      # or: results: ../archive/v1.3/results.json
      #     predictions: ../archive/v1.3/predictions.parquet
      # or: model: ../models/v1.3/model.yaml    # its model card: scored here on the same cases
      threshold: null        # default: the earlier run's operating threshold, or its card's threshold
      interval: newcombe     # paired difference CI: newcombe (Newcombe 1998 method 10) | tango (score)
      confidence_level: 0.95
      non_inferiority:       # the gating criterion (leave out to describe the change without gating)
        margin: 0.02         # on the metric's scale: N - (N-1) must be shown > -0.02
        metrics: [sensitivity, specificity]     # any of sensitivity, specificity, auc
        subgroups: prespecified                 # prespecified (overall + every pre-specified subgroup) | none

"Non-inferior in every pre-specified subgroup" is an intersection-union test: the claim holds only
if every component test rejects, each at the one-sided level (1 - confidence_level)/2, and the
family-wise error of the joint claim is at most that level without any multiplicity adjustment
(Berger RL 1982, Technometrics 24:295-300). See docs/model-versions.md.

>>> b = BaselineOptions(label="v1", run="runs/v1")
>>> b.source, b.interval, b.non_inferiority is None
('run', 'newcombe', True)
>>> BaselineOptions(label="v1", model="m.yaml", non_inferiority={"margin": 0.02}).non_inferiority.metrics
['sensitivity', 'specificity']
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from valkit.strict_model import StrictModel

__all__ = ["BaselineOptions", "NonInferiorityCriterion", "NI_METRICS"]

NI_METRICS = ("sensitivity", "specificity", "auc")


class NonInferiorityCriterion(StrictModel):
    """N is non-inferior to N-1 by ``margin`` in each metric, overall and in every pre-specified subgroup."""

    margin: float = Field(gt=0, lt=1, description="Largest acceptable loss, on the metric's scale (e.g. 0.02).")
    metrics: list[Literal["sensitivity", "specificity", "auc"]] = Field(
        default_factory=lambda: ["sensitivity", "specificity"], min_length=1)
    subgroups: Literal["prespecified", "none"] = Field(
        "prespecified", description="prespecified: overall and every cell of every pre-specified subgroup family "
                                    "(not the 'missing' cell); none: overall only.")


class BaselineOptions(StrictModel):
    """The earlier (cleared) model version and how the new one is compared with it."""

    label: str = Field(min_length=1, description="How the report names the earlier version, e.g. 'v1.3 (K231234)'.")
    run: Path | None = Field(None, description="Run folder of the earlier version (results.json + predictions.parquet).")
    results: Path | None = Field(None, description="results.json of the earlier run (with predictions).")
    predictions: Path | None = Field(None, description="predictions.parquet of the earlier run (with results).")
    model: Path | None = Field(None, description="Model card of the earlier version; valkit scores the same cases with it.")
    threshold: float | None = Field(
        None, description="Operating threshold of the earlier version; default: its run's, or its card's.")
    interval: Literal["newcombe", "tango"] = "newcombe"
    confidence_level: float = Field(0.95, gt=0.5, lt=1)
    non_inferiority: NonInferiorityCriterion | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "BaselineOptions":
        given = [k for k in ("run", "results", "predictions", "model") if getattr(self, k) is not None]
        ok = given in (["run"], ["model"], ["results", "predictions"])
        if not ok:
            raise ValueError(
                f"name the earlier version in exactly one way: 'run' (its run folder), 'results' with "
                f"'predictions', or 'model' (its model card); found {', '.join(given) or 'none of them'}")
        return self

    @property
    def source(self) -> str:
        """'run', 'files' (results + predictions) or 'model'."""
        return "run" if self.run is not None else ("model" if self.model is not None else "files")

    def paths(self) -> list[tuple[tuple, Path]]:
        """(key path, file) pairs a protocol check should find on disk."""
        keys = {"run": ("run",), "model": ("model",), "files": ("results", "predictions")}[self.source]
        return [(("baseline", k), getattr(self, k)) for k in keys]
