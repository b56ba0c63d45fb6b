"""Provenance of a run: the hardware record must not load torch for a run that never used it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_hardware_does_not_import_torch_when_the_run_did_not():
    """Issue #17: importing torch to record "no GPU" cost 8-12 s and 0.9 GB of peak RSS."""
    code = ("import json, sys; from valkit import provenance; h = provenance.hardware(None); "
            "print(json.dumps({'torch': 'torch' in sys.modules, 'keys': sorted(h)}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["torch"] is False
    assert got["keys"] == ["cpu", "cpu_count", "cuda", "device", "driver", "gpu", "os", "python"]


def test_hardware_uses_torch_when_loaded():
    import torch

    from valkit import provenance

    h = provenance.hardware("cpu")
    assert h["device"] == "cpu"
    if not torch.cuda.is_available():
        assert h["cuda"] is None
