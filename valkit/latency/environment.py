"""What the numbers were measured on, and how much memory the measurement used.

A latency figure without its hardware, software and machine load is not evidence: the same
model is 10x apart on a laptop CPU and a datacentre GPU. :func:`capture_environment` records
the GPU (name, driver, CUDA, cuDNN, memory), the CPU (model, cores, the cores this process may
use), torch and its thread settings, pydicom, and the load average before the run, which says
whether other jobs were competing for the CPU.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
from pathlib import Path
from typing import Any

from valkit import provenance

GPU_NOT_AVAILABLE = "not available on this device"


def capture_environment(device: Any) -> dict[str, Any]:
    """A JSON-ready description of the machine, software and load for ``device``."""
    import torch

    device = torch.device(device)
    env: dict[str, Any] = {
        "device": str(device),
        "device_type": device.type,
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": provenance.cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1m": _loadavg(),
        "host_memory_bytes": _meminfo("MemTotal"),
        "torch": torch.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "torch_parallel_info": _parallel_backend(torch),
        "pydicom": _version("pydicom"),
        "numpy": _version("numpy"),
        "monai": _version("monai"),
        "cuda": GPU_NOT_AVAILABLE,
        "torch_cuda_build": torch.version.cuda,
        "cudnn": None,
        "gpu_name": GPU_NOT_AVAILABLE,
        "gpu_driver": GPU_NOT_AVAILABLE,
        "gpu_memory_bytes": None,
        "gpu_compute_capability": None,
    }
    if device.type == "cuda" and torch.cuda.is_available():
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        hw = provenance.hardware(str(device))
        env.update({
            "gpu_name": props.name,
            "gpu_driver": hw.get("driver") or "unknown",
            "gpu_memory_bytes": int(props.total_memory),
            "gpu_compute_capability": f"{props.major}.{props.minor}",
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        })
    return env


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def _meminfo(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _parallel_backend(torch: Any) -> str:
    info = torch.__config__.parallel_info()
    return next((ln.strip() for ln in info.splitlines() if ln.strip().startswith("ATen parallel backend")), "unknown")


class HostPeakMemory:
    """Peak resident memory (RSS) of this process over a measured interval.

    Linux lets a process reset its own high-water mark (write ``5`` to ``/proc/self/clear_refs``,
    then read ``VmHWM``). Where that is refused the lifetime peak (``ru_maxrss``) is reported and
    ``scope`` says so.
    """

    def __init__(self) -> None:
        self.scope = "interval"

    def reset(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.scope = "interval"
        except OSError:
            self.scope = "process_lifetime"

    def peak_bytes(self) -> int | None:
        if self.scope == "interval":
            try:
                for line in Path("/proc/self/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
            except (OSError, ValueError, IndexError):
                pass
        return _ru_maxrss_bytes(resource.RUSAGE_SELF)


def children_peak_rss_bytes() -> int | None:
    """Largest peak RSS of any finished child process (DataLoader workers), from ``getrusage``."""
    value = _ru_maxrss_bytes(resource.RUSAGE_CHILDREN)
    return value or None


def _ru_maxrss_bytes(who: int) -> int:
    kb = resource.getrusage(who).ru_maxrss
    return int(kb) * (1 if platform.system() == "Darwin" else 1024)


class GpuPeakMemory:
    """Peak memory allocated by torch on a CUDA device (``torch.cuda.max_memory_allocated``); None on CPU."""

    def __init__(self, device: Any):
        import torch

        self._torch = torch
        self.device = torch.device(device)
        self.enabled = self.device.type == "cuda"

    def reset(self) -> None:
        if self.enabled:
            self._torch.cuda.synchronize(self.device)
            self._torch.cuda.reset_peak_memory_stats(self.device)

    def peak_bytes(self) -> int | None:
        if not self.enabled:
            return None
        self._torch.cuda.synchronize(self.device)
        return int(self._torch.cuda.max_memory_allocated(self.device))
