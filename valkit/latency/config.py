"""The protocol's ``latency:`` block: what to measure, for how long, and the budget.

Data only, like the rest of the protocol: frozen, unknown keys rejected. Every field has a
default, so ``latency: {}`` measures with MLPerf-LoadGen-like settings (warm-up, then at least
``min_iterations`` and ``min_seconds`` per configuration) and no budget.

Examples
--------
>>> opts = LatencyOptions.model_validate({"batch_sizes": [1, 8], "budget": {"max_ms": 500}})
>>> opts.budget.metric, opts.budget.percentile, opts.budget.judged_on
('end_to_end', 95, 'ci_upper')
>>> LatencyOptions().batch_sizes
[1, 8, 32, 64, 128]
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from valkit.strict_model import StrictModel
from valkit.suggest import did_you_mean

# Tokens a variant is made of; "bf16+channels_last+compile" combines three.
DTYPE_TOKENS = ("fp32", "bf16", "fp16")
FEATURE_TOKENS = ("channels_last", "compile", "cuda_graphs")
VARIANT_TOKENS = DTYPE_TOKENS + FEATURE_TOKENS
PERCENTILES = (50, 90, 95, 99)
DEFAULT_VARIANTS = ("fp32", "channels_last", "bf16", "fp16", "bf16+channels_last+compile", "fp16+cuda_graphs")

#: the protocol's variant tokens in words (a variant such as "bf16+channels_last" joins them with " + ")
VARIANT_WORDS = {"fp32": "32-bit float", "bf16": "bfloat16", "fp16": "16-bit float",
                 "channels_last": "channels-last memory layout", "compile": "torch.compile",
                 "cuda_graphs": "CUDA graphs"}


def variant_name(variant: Any) -> str:
    """A latency variant in words: 'bf16+channels_last' -> 'bfloat16 + channels-last memory layout'.

    >>> variant_name("fp16+cuda_graphs")
    '16-bit float + CUDA graphs'
    """
    return " + ".join(VARIANT_WORDS.get(t, t) for t in str(variant).split("+"))


class Budget(StrictModel):
    """A latency goal fixed before the run: ``p<percentile>`` of ``metric`` must be <= ``max_ms``.

    ``judged_on: ci_upper`` (default) passes only when the upper confidence bound of the
    percentile is within budget, as every other acceptance criterion in valkit is judged on
    its CI bound; ``estimate`` judges the point estimate.
    """

    metric: Literal["end_to_end", "model_only"] = "end_to_end"
    percentile: Literal[50, 90, 95, 99] = 95
    max_ms: float = Field(gt=0, description="e.g. 500 for 'p95 end-to-end <= 500 ms per study'")
    batch_size: int = Field(1, ge=1, description="model_only only: which batch size's latency is judged")
    judged_on: Literal["ci_upper", "estimate"] = "ci_upper"


class LatencyOptions(StrictModel):
    """How ``valkit bench`` (and ``valkit run`` when the block is present) measures speed."""

    batch_sizes: list[int] = Field(default_factory=lambda: [1, 8, 32, 64, 128], min_length=1)
    warmup_iterations: int = Field(10, ge=0, le=10_000, description="untimed calls before each measurement")
    min_iterations: int = Field(100, ge=1, le=1_000_000)
    max_iterations: int = Field(2000, ge=1, le=1_000_000)
    min_seconds: float = Field(2.0, ge=0, description="keep measuring at least this long (LoadGen min_duration)")
    max_seconds: float = Field(60.0, gt=0, description="stop one configuration after this long, whatever its count")
    studies: int = Field(200, ge=1, description="studies timed end to end (drawn with the seed; cycled if fewer)")
    warmup_studies: int = Field(5, ge=0)
    variants: list[str] = Field(default_factory=lambda: list(DEFAULT_VARIANTS))
    variant_batch_sizes: list[int] = Field(default_factory=lambda: [1, 32], min_length=1,
                                           description="batch sizes at which each variant is timed")
    efficiency_batch_size: int | None = Field(None, ge=1, description="default: inference.batch_size")
    num_workers: int | None = Field(None, ge=0, le=64,
                                    description="decode workers; default inference.num_workers on GPU, "
                                                "half the cores on CPU")
    torch_threads: int | None = Field(None, ge=1, le=256,
                                      description="intra-op threads of the model; default on CPU: the cores "
                                                  "not given to decode workers")
    efficiency_studies: int = Field(256, ge=8, description="studies streamed through each throughput run")
    efficiency_repeats: int = Field(3, ge=1, le=10,
                                    description="interleaved repeats; the best of them is reported (and the median)")
    choose_decoder: bool = Field(True, description="time every installed pixel decoder, use the fastest")
    confidence_level: float = Field(0.95, gt=0.5, lt=1)
    ci: Literal["order_statistic", "bootstrap"] = "order_statistic"
    bootstrap_resamples: int = Field(2000, ge=100, le=100_000)
    seed: int | None = Field(None, description="default: analysis.seed")
    histogram_bins: int = Field(30, ge=5, le=200)
    knee_fraction: float = Field(0.9, gt=0, le=1,
                                 description="knee: smallest batch size reaching this fraction of peak throughput")
    budget: Budget | None = None

    @field_validator("batch_sizes", "variant_batch_sizes")
    @classmethod
    def _positive_unique(cls, v: list[int]) -> list[int]:
        if any(b < 1 or b > 4096 for b in v):
            raise ValueError(f"batch sizes must be between 1 and 4096, found {v}")
        if len(set(v)) != len(v):
            raise ValueError(f"batch sizes must not repeat, found {v}")
        return sorted(v)

    @field_validator("variants")
    @classmethod
    def _known_variants(cls, v: list[str]) -> list[str]:
        for name in v:
            parse_variant(name)  # raises ValueError naming the bad token
        if len(set(v)) != len(v):
            raise ValueError(f"variants must not repeat, found {v}")
        return v

    @model_validator(mode="after")
    def _iterations_ordered(self) -> "LatencyOptions":
        if self.max_iterations < self.min_iterations:
            raise ValueError(f"max_iterations ({self.max_iterations}) must be >= min_iterations "
                             f"({self.min_iterations})")
        if self.max_seconds < self.min_seconds:
            raise ValueError(f"max_seconds ({self.max_seconds}) must be >= min_seconds ({self.min_seconds})")
        return self


def parse_variant(name: str) -> tuple[str, frozenset[str]]:
    """Split ``"bf16+channels_last+compile"`` into its dtype and its features.

    Examples
    --------
    >>> parse_variant("bf16+channels_last")
    ('bf16', frozenset({'channels_last'}))
    >>> parse_variant("compile")
    ('fp32', frozenset({'compile'}))
    """
    tokens = [t.strip() for t in str(name).split("+") if t.strip()]
    if not tokens:
        raise ValueError(f"empty variant name '{name}'. Valid tokens: {', '.join(VARIANT_TOKENS)}.")
    for t in tokens:
        if t not in VARIANT_TOKENS:
            raise ValueError(f"variant '{name}': unknown token '{t}'.{did_you_mean(t, VARIANT_TOKENS)} Valid tokens: "
                             f"{', '.join(VARIANT_TOKENS)} (join with '+', e.g. bf16+channels_last+compile).")
    dtypes = [t for t in tokens if t in DTYPE_TOKENS]
    if len(dtypes) > 1:
        raise ValueError(f"variant '{name}': give at most one of {', '.join(DTYPE_TOKENS)}, found {dtypes}")
    if len(set(tokens)) != len(tokens):
        raise ValueError(f"variant '{name}': a token repeats")
    return (dtypes[0] if dtypes else "fp32"), frozenset(t for t in tokens if t in FEATURE_TOKENS)
