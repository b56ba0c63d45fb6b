"""Execution variants of one network: dtype, memory format, torch.compile, CUDA graphs.

Each variant is measured and reported on its own, with its configuration spelled out, and is
never mixed with another variant's numbers. The network is deep-copied for every variant, so
``channels_last`` or compilation never leak into the validated model's own forward pass.

A variant that cannot run here is *reported* with its reason (e.g. "not available on this
device (cpu): CUDA graphs need a CUDA GPU") rather than silently dropped; one that fails while
being prepared (a compiler error) is reported as failed with the error.

CUDA graph capture follows the PyTorch documentation ("CUDA Graphs" in CUDA semantics): warm-up
on a side stream, capture with static input and output tensors, autocast with
``cache_enabled=False`` inside capture, and ``replay()`` after copying each input into the
static input. ``compile`` together with ``cuda_graphs`` uses ``torch.compile(mode=
"reduce-overhead")``, which captures CUDA graphs itself.
"""
from __future__ import annotations

import contextlib
import copy
import importlib.util
import shutil
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from valkit.latency.config import parse_variant

NOT_AVAILABLE = "not available on this device"


@dataclass
class PreparedVariant:
    """A ready forward pass: ``forward(x_on_device) -> logits``; ``prepare_input`` sets the memory format."""

    name: str
    dtype: str
    channels_last: bool
    compiled: bool
    cuda_graphs: bool
    forward: Callable[[Any], Any]
    prepare_input: Callable[[Any], Any]
    setup_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def config(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "autocast": self.dtype != "fp32", "channels_last": self.channels_last,
                "compile": self.compiled, "cuda_graphs": self.cuda_graphs}


def variant_config(name: str) -> dict[str, Any]:
    """The explicit configuration a variant name stands for.

    >>> variant_config("bf16+channels_last+compile")["channels_last"]
    True
    """
    dtype, features = parse_variant(name)
    return {"dtype": dtype, "autocast": dtype != "fp32", "channels_last": "channels_last" in features,
            "compile": "compile" in features, "cuda_graphs": "cuda_graphs" in features}


def unavailable_reason(name: str, device: Any) -> str | None:
    """Why ``name`` cannot run on ``device`` (None when it can).

    >>> unavailable_reason("fp16+cuda_graphs", "cpu")
    'not available on this device (cpu): float16 autocast is a GPU path; CUDA graphs need a CUDA GPU'
    >>> unavailable_reason("fp32+channels_last", "cpu") is None
    True
    """
    import torch

    device = torch.device(device)
    dtype, features = parse_variant(name)
    cpu = device.type != "cuda"
    reasons = []
    if dtype == "fp16" and cpu:
        reasons.append("float16 autocast is a GPU path")
    if dtype == "bf16" and not cpu and not torch.cuda.is_bf16_supported():
        reasons.append("this GPU does not support bfloat16")
    if "cuda_graphs" in features and cpu:
        reasons.append("CUDA graphs need a CUDA GPU")
    if "compile" in features:
        if not hasattr(torch, "compile"):
            reasons.append("torch.compile needs torch >= 2.0")
        elif cpu and not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
            reasons.append("torch.compile on CPU needs a C++ compiler (none on PATH)")
        elif not cpu and importlib.util.find_spec("triton") is None:
            reasons.append("torch.compile on CUDA needs triton (not installed)")
    if not reasons:
        return None
    return f"{NOT_AVAILABLE} ({device.type}): " + "; ".join(reasons)


def _autocast(device: Any, dtype: str, *, cache_enabled: bool = True):
    import torch

    if dtype == "fp32":
        return contextlib.nullcontext()
    torch_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    return torch.autocast(device.type, dtype=torch_dtype, cache_enabled=cache_enabled)


def prepare_variant(network: Any, name: str, device: Any, example: Any) -> PreparedVariant:
    """Build the forward pass for variant ``name`` from a copy of ``network``.

    ``example`` is an input batch on ``device`` with the batch size that will be timed; CUDA
    graphs are captured for exactly that shape. Raises ``RuntimeError`` with the reason when
    the variant is unavailable (check :func:`unavailable_reason` first to report it instead).
    """
    import torch

    device = torch.device(device)
    reason = unavailable_reason(name, device)
    if reason:
        raise RuntimeError(reason)
    cfg = variant_config(name)
    t0 = time.perf_counter()
    net = copy.deepcopy(network).to(device).eval()
    fmt = torch.channels_last if cfg["channels_last"] else torch.contiguous_format
    if cfg["channels_last"]:
        net = net.to(memory_format=torch.channels_last)

    def prepare_input(x: Any) -> Any:
        return x.contiguous(memory_format=fmt)

    notes: list[str] = []
    if cfg["compile"]:
        mode = "reduce-overhead" if cfg["cuda_graphs"] else None
        net = torch.compile(net, mode=mode) if mode else torch.compile(net)
        notes.append(f"torch.compile(mode={mode or 'default'}); compilation happens in the first warm-up call")

    dtype = cfg["dtype"]
    if cfg["cuda_graphs"] and not cfg["compile"]:
        forward = _capture_graph(net, prepare_input(example), device, dtype)
        notes.append(f"CUDA graph captured for input shape {tuple(example.shape)}")
    else:
        def forward(x: Any) -> Any:
            with torch.inference_mode(), _autocast(device, dtype):
                return net(x)

    return PreparedVariant(name=name, dtype=dtype, channels_last=cfg["channels_last"], compiled=cfg["compile"],
                           cuda_graphs=cfg["cuda_graphs"], forward=forward, prepare_input=prepare_input,
                           setup_seconds=time.perf_counter() - t0, notes=notes)


def _capture_graph(net: Any, example: Any, device: Any, dtype: str) -> Callable[[Any], Any]:
    import torch

    static_in = example.clone()
    side = torch.cuda.Stream(device=device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.no_grad(), torch.cuda.stream(side):
        for _ in range(3):  # warm-up outside capture: cuDNN autotuning, allocator pools
            with _autocast(device, dtype, cache_enabled=False):
                net(static_in)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        with _autocast(device, dtype, cache_enabled=False):
            static_out = net(static_in)

    def forward(x: Any) -> Any:
        if x.shape != static_in.shape:
            raise ValueError(f"CUDA graph was captured for shape {tuple(static_in.shape)}, got {tuple(x.shape)}")
        static_in.copy_(x)
        graph.replay()
        return static_out

    return forward
