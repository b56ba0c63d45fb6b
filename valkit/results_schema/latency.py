"""``latency``: computational performance (``valkit bench`` or a protocol's ``latency`` block).

Built by :func:`valkit.latency.section.latency_section`; every part is modelled here, in the
order the section writes it: the machine (:class:`LatencyEnvironment`, from
:func:`valkit.latency.environment.capture_environment`), the model under test
(:class:`LatencyModel`), the pixel decoders chosen (:class:`LatencyDecoderChoice`), the model-only
curves of the deployed variant and of each variant (:class:`ModelOnlyCurve`, from
:func:`valkit.latency.model_bench.model_only`), the per-study stages (:class:`EndToEnd`, from
:func:`valkit.latency.stages.end_to_end`), the pipeline efficiency (:class:`Pipeline`, from
:func:`valkit.latency.efficiency.pipeline_efficiency`) and the budget the gate reads.

Timings are milliseconds unless the name says otherwise. A timing that was NaN (nothing
measured) is ``null`` (:data:`~valkit.results_schema.base.Num`). Fields that only a CUDA device
fills (cuDNN version, GPU memory, compute capability, peak GPU memory) are ``null`` on a CPU.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from valkit.latency.config import Budget, LatencyOptions
from valkit.results_schema.base import Block, Num


class LatencyEnvironment(Block):
    """The machine, software and load a measurement ran on (:func:`~valkit.latency.environment.capture_environment`)."""

    device: str
    device_type: str
    os: str
    python: str
    cpu_model: str
    cpu_count: int | None  # os.cpu_count() may not know
    cpu_affinity: int | None  # cores this process may use
    load_average_1m: Num  # null where the OS has no load average
    host_memory_bytes: int | None  # null where /proc/meminfo is unreadable
    torch: str
    torch_num_threads: int
    torch_num_interop_threads: int
    torch_parallel_info: str
    pydicom: str | None  # null: not installed
    numpy: str | None
    monai: str | None
    #: "not available on this device" without a GPU; the CUDA version torch runs on a GPU
    cuda: str | None
    torch_cuda_build: str | None  # null: a CPU-only torch build
    # CUDA only (null on CPU); gpu_name and gpu_driver read "not available on this device" there
    cudnn: int | None
    gpu_name: str
    gpu_driver: str
    gpu_memory_bytes: int | None
    gpu_compute_capability: str | None


class LatencyModel(Block):
    """The model timed (:meth:`valkit.latency.under_test.ModelUnderTest.describe`)."""

    name: str
    source: Literal["model_card", "network"]
    format: str
    input_shape: list[int]
    parameters: int | None  # null for an ONNX graph (not a torch network)
    deployed_variant: str
    weights_sha256: str | None  # null for a stand-in network without a card
    device: str


class PluginTiming(Block):
    """One decoder plugin's median decode time on the sample files of a transfer syntax."""

    median_ms: Num  # null when the plugin failed
    identical: bool  # output identical to the first plugin's (only identical ones can be chosen)
    error: str | None = None  # present only when the plugin failed on a sample file


class LatencyDecoderChoice(Block):
    """The pixel decoder chosen for one transfer syntax (:func:`valkit.latency.decoders.choose_decoders`)."""

    name: str
    n_files: int
    plugins: dict[str, PluginTiming]
    chosen: str | None  # null: no installed plugin decodes it
    reason: str


class VariantConfig(Block):
    """What a variant name stands for (:func:`valkit.latency.variants.variant_config`)."""

    dtype: Literal["fp32", "bf16", "fp16"]
    autocast: bool
    channels_last: bool
    compile: bool
    cuda_graphs: bool


class TimingEstimate(Block):
    """A percentile or mean of timings with its interval, flattened (:func:`valkit.latency.percentiles._flat`)."""

    value: Num
    ci_low: Num  # null when the samples cannot give that bound (the warning says why)
    ci_high: Num
    confidence_level: float | None  # null when there were no samples
    method: str | None
    warnings: list[str]


class TimingSummary(Block):
    """Percentiles with intervals, mean, min, max and SD (:class:`~valkit.latency.percentiles.LatencySummary`)."""

    n: int
    p50: TimingEstimate
    p90: TimingEstimate
    p95: TimingEstimate
    p99: TimingEstimate
    mean: TimingEstimate
    min: Num
    max: Num
    std: Num


class TimingHistogram(Block):
    """Equal-width bins of timings, as :func:`valkit.latency.percentiles.histogram` binned them."""

    edges: list[float]
    counts: list[int]


class Knee(Block):
    """Where throughput against batch size flattens (:class:`valkit.latency.percentiles.Knee`)."""

    batch_size: int | None  # null: no batch size was measured
    throughput: Num
    peak_batch_size: int | None
    peak_throughput: Num
    fraction: float
    rule: str


class MeasuredBatch(Block):
    """One batch size timed (:func:`valkit.latency.model_bench.measurement_record`)."""

    batch_size: int
    status: Literal["measured"]
    iterations: int
    warmup_iterations: int
    first_call_ms: Num  # null without warm-up calls
    stopped_by: Literal["min_reached", "max_iterations", "max_seconds"]
    timer: str
    wall_seconds: float
    latency_ms: TimingSummary
    per_image_ms: Num
    throughput_images_per_s: Num
    setup_seconds: float
    notes: list[str]
    peak_gpu_memory_bytes: int | None  # CUDA only: null on CPU
    peak_host_rss_bytes: int | None
    host_rss_scope: Literal["interval", "process_lifetime"]
    histogram_ms: TimingHistogram


class UnmeasuredBatch(Block):
    """A batch size skipped (one call would exceed ``max_seconds``) or failed (e.g. out of memory)."""

    batch_size: int
    status: Literal["skipped", "failed"]
    reason: str


BatchRecord = Annotated[MeasuredBatch | UnmeasuredBatch, Field(discriminator="status")]


class ModelOnlyCurve(Block):
    """One variant's forward latency and throughput by batch size (:func:`valkit.latency.model_bench.model_only`)."""

    variant: str
    config: VariantConfig
    available: bool
    reason: str | None  # why the variant cannot run here; null when available
    batches: list[BatchRecord]
    torch_threads: int
    knee: Knee


class StageTiming(Block):
    """One stage of a study's path from file to score (:data:`valkit.latency.stages.STAGES`)."""

    name: Literal["read", "decode", "preprocess", "host_to_device", "forward", "postprocess"]
    mean_ms: Num
    p50_ms: Num
    p95_ms: Num
    share_of_total: Num


class StudyFailure(Block):
    """A study that could not be timed end to end, by case (never by file path)."""

    case_id: str
    reason: str


class Unattributed(Block):
    """Study time the stages do not account for (total minus the sum of stages)."""

    mean: Num
    max_abs: Num


class PredictorCheck(Block):
    """The stage-timed path's scores against the validated predictor's on a few studies."""

    studies: int
    max_abs_score_difference: Num
    tolerance: float
    matches: bool


class EndToEnd(Block):
    """Per-study latency, one study at a time, stage by stage (:func:`valkit.latency.stages.end_to_end`)."""

    n_studies: int
    warmup_studies: int
    n_failed: int
    failures: list[StudyFailure]  # the first 20
    latency_ms: TimingSummary
    histogram_ms: TimingHistogram
    stages: list[StageTiming]
    unattributed_ms: Unattributed
    slowest_stage: str | None  # null: no stage was measured
    studies_per_s_serial: Num
    variant: str
    torch_threads: int
    predictor_check: PredictorCheck


class StreamRun(Block):
    """One pass of the study table through the inference runner (:func:`valkit.latency.efficiency.stream`)."""

    images_per_s: Num
    images: int
    failed: int
    batches: int
    warmup_batches: int
    wall_seconds: float
    wall_images_per_s: Num
    cpu_utilisation: Num


class ModelRateRun(Block):
    """``predict`` repeated on one in-memory batch (:func:`valkit.latency.efficiency.model_only_rate`)."""

    images_per_s: Num
    iterations: int
    seconds: float
    cpu_utilisation: Num


class PipelineRates(Block):
    """Median images/s over the repeats, per run kind."""

    decode_only: Num
    model_only: Num
    end_to_end: Num


class PipelineUtilisation(Block):
    """CPU utilisation of each repeat, per run kind (a diagnostic of contention)."""

    decode_only: list[Num]
    model_only: list[Num]
    end_to_end: list[Num]


class PipelineRuns(Block):
    """Every repeat of the three throughput runs."""

    decode_only: list[StreamRun]
    model_only: list[ModelRateRun]
    end_to_end: list[StreamRun]


class Pipeline(Block):
    """Pipeline efficiency (:func:`valkit.latency.efficiency.pipeline_efficiency`) and how it was run."""

    batch_size: int
    num_workers: int
    torch_threads: int
    images_per_run: int
    repeats: int
    model_only_images_per_s: Num
    decode_only_images_per_s: Num
    end_to_end_images_per_s: Num
    pipeline_efficiency: Num
    bound_by: Literal["model", "decode+preprocess"]
    ceiling_images_per_s: Num
    serial_bound_images_per_s: Num
    statistic: Literal["best of repeats", "single run"]
    pipeline_efficiency_median: Num
    median_images_per_s: PipelineRates
    cpu_utilisation: PipelineUtilisation
    pipeline_efficiency_per_repeat: list[Num]
    end_to_end_wall_images_per_s: Num
    end_to_end_failed: int
    runs: PipelineRuns
    definition: str
    parallelism_rule: str  # added by measure_latency: how workers and model threads were chosen
    decoders: dict[str, str]  # transfer syntax UID -> the plugin used (compressed syntaxes only)


class LatencyBudgetResult(Budget):
    """The protocol's budget (:class:`valkit.latency.config.Budget`) judged on the measurements."""

    measured: str
    estimate_ms: Num
    ci_low_ms: Num
    ci_high_ms: Num
    judged_value_ms: Num
    verdict: Literal["PASS", "FAIL"]
    statement: str


class Latency(Block):
    #: the key is "schema" in results.json (the format version of this block)
    latency_schema: int = Field(alias="schema")
    device: str
    measured_on_cpu: bool
    environment: LatencyEnvironment
    model: LatencyModel
    options: LatencyOptions
    seed: int | None
    decoders: dict[str, LatencyDecoderChoice] | None  # transfer syntax UID -> choice; {} when choose_decoder is off
    model_only: ModelOnlyCurve
    variants: list[ModelOnlyCurve]
    end_to_end: EndToEnd
    pipeline: Pipeline
    budget: LatencyBudgetResult | None
    verdict: Literal["PASS", "FAIL"] | None
    load_average_1m_after: Num
    started_utc: str
    finished_utc: str
    seconds: float
    caveats: list[str]
    settings: str | None = None  # set by `valkit bench`: which settings were used


__all__ = [
    "EndToEnd", "Knee", "Latency", "LatencyBudgetResult", "LatencyDecoderChoice", "LatencyEnvironment", "LatencyModel",
    "MeasuredBatch", "ModelOnlyCurve", "ModelRateRun", "Pipeline", "PipelineRates", "PipelineRuns",
    "PipelineUtilisation", "PluginTiming", "PredictorCheck", "StageTiming", "StreamRun", "StudyFailure",
    "TimingEstimate", "TimingHistogram", "TimingSummary", "Unattributed", "UnmeasuredBatch", "VariantConfig",
]
