"""Provenance of a run: what was run, on what, by which code, when, on which machine."""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

from valkit import __version__

PACKAGES = (
    "numpy", "scipy", "pandas", "pyarrow", "pydantic", "statsmodels", "scikit-learn", "fairlearn",
    "pydicom", "pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg", "pylibjpeg-rle", "torch",
    "torchvision", "monai", "grad-cam", "jinja2", "weasyprint", "safetensors",
)


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(repo: Path | None = None) -> dict[str, object]:
    """The git commit of valkit's source tree, and whether it had uncommitted changes.

    None for an installed wheel: only a repository whose top level is ``repo`` counts, not one
    that happens to contain the site-packages folder (a virtual environment inside a project).
    """
    repo = repo or Path(__file__).resolve().parent.parent
    try:
        top = subprocess.run(["git", "-C", str(repo), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        if Path(top).resolve() != Path(repo).resolve():
            return {"commit": None, "dirty": None}
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"commit": sha, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hardware(device: str | None = None) -> dict[str, object]:
    """The machine a run ran on: OS, Python, CPU and, when present, the GPU and its driver.

    torch is asked only when the run already imported it (a model ran); otherwise the GPU
    is read from ``nvidia-smi`` (absent: no GPU). Importing torch only to write "no GPU"
    for an external-scores run cost seconds and nearly 1 GB of memory.
    """
    info: dict[str, object] = {
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "device": device,
        "gpu": None,
        "cuda": None,
        "driver": None,
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["cuda"] = torch.version.cuda
            info["driver"] = _nvidia_smi("driver_version")
    else:
        info["gpu"] = _nvidia_smi("name")
        info["driver"] = _nvidia_smi("driver_version") if info["gpu"] else None
    return info


def _nvidia_smi(field: str) -> str | None:
    """The first GPU's ``field`` from nvidia-smi; None when there is no nvidia-smi or no GPU."""
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.strip().splitlines() if out.returncode == 0 else []
    return lines[0].strip() or None if lines else None


def valkit_version() -> dict[str, object]:
    return {"version": __version__, **git_commit()}
