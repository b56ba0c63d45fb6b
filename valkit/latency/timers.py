"""How one call is timed: a monotonic clock on CPU, CUDA events with synchronisation on a GPU.

A timer is a callable ``timer(fn) -> (seconds, fn())``. The clock is injectable so that the
harness's arithmetic is tested exactly with a fake clock (``tests/latency``).

Why CUDA events: kernels run asynchronously, so a host clock read right after a forward call
measures the launch, not the work. :class:`CudaEventTimer` records an event before and after
the call on the current stream and waits for the second one (``Event.synchronize``); the
elapsed time is what the GPU spent between them (PyTorch docs, "CUDA semantics: asynchronous
execution"). :class:`WallTimer` with ``sync=torch.cuda.synchronize`` is used where host and
device work alternate (the per-study stage pipeline), so that stage times add up to the total.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

T = TypeVar("T")
Clock = Callable[[], float]


@dataclass(frozen=True)
class WallTimer:
    """Seconds between two reads of ``clock`` around the call, after ``sync`` (if any).

    Examples
    --------
    >>> ticks = iter([10.0, 10.25])
    >>> WallTimer(clock=lambda: next(ticks))(lambda: "out")
    (0.25, 'out')
    """

    clock: Clock = time.perf_counter
    sync: Callable[[], Any] | None = None
    name: str = "perf_counter"

    def __call__(self, fn: Callable[[], T]) -> tuple[float, T]:
        t0 = self.clock()
        out = fn()
        if self.sync is not None:
            self.sync()
        return self.clock() - t0, out


class CudaEventTimer:
    """GPU time of one call, between two CUDA events on the current stream."""

    name = "cuda_events"

    def __init__(self, device: Any):
        import torch

        self.device = torch.device(device)
        self._torch = torch

    def __call__(self, fn: Callable[[], T]) -> tuple[float, T]:
        torch = self._torch
        with torch.cuda.device(self.device):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            out = fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0, out  # elapsed_time is in milliseconds


def cuda_sync(device: Any) -> Callable[[], None]:
    """A no-argument synchroniser for ``device`` (a no-op on CPU)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return lambda: None
    return lambda: torch.cuda.synchronize(device)


def timer_for(device: Any, *, clock: Clock | None = None) -> WallTimer | CudaEventTimer:
    """CUDA events on a CUDA device, a monotonic clock elsewhere (or the given clock, for tests)."""
    import torch

    if clock is not None:
        return WallTimer(clock=clock, name="injected_clock")
    if torch.device(device).type == "cuda":
        return CudaEventTimer(device)
    return WallTimer()
