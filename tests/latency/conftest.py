"""Fixtures for latency tests: a fake clock, fake models of known cost, a tiny real study.

The tiny study is built in a temporary folder: eight 64x64 12-bit DICOM images (half
uncompressed, half RLE Lossless so that two decoder plugins compete), a tiny MONAI DenseNet
model card with safetensors weights, a manifest and a protocol with a ``latency`` block set
for speed (a few iterations; the numbers are not the point, the plumbing is).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from valkit import testing
from valkit.testing import write_tiny_model

SIZE = 32


class FakeClock:
    """A clock that only moves when told: fake work advances it by a known cost."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def write_dicom(path: Path, pixels: np.ndarray, *, rle: bool = False) -> Path:
    return testing.write_dicom(path, pixels, rle=rle, patient_id=f"P{path.stem}",
                               tags={"PatientSex": "F", "Manufacturer": "Test"})


def _card(folder: Path) -> Path:
    return write_tiny_model(folder, card_id="tiny-latency", window="{source: dicom}", size=(SIZE, SIZE),
                            target_layer=None)


LATENCY_BLOCK = """\
latency:
  batch_sizes: [1, 4]
  warmup_iterations: 2
  min_iterations: 5
  max_iterations: 40
  min_seconds: 0
  max_seconds: 5
  studies: 6
  warmup_studies: 1
  variants: [fp32, channels_last, fp16+cuda_graphs]
  variant_batch_sizes: [1]
  efficiency_studies: 16
  efficiency_repeats: 1
  seed: 7
  budget: {{percentile: 50, max_ms: {max_ms}}}
"""


def write_protocol(folder: Path, *, name: str = "lat.yaml", max_ms: float = 600000.0, latency: bool = True) -> Path:
    text = textwrap.dedent(f"""\
        id: {Path(name).stem}
        version: "1.0"
        title: Latency test
        intended_use: tests only
        regulatory: {{targets: [FDA], document_id: VK-TEST, revision: A}}
        model: {{card: model/model.yaml}}
        datasets:
          - manifest: manifest.csv
        reference_standard: {{column: label, description: test labels}}
        operating_point: {{source: model_card}}
        endpoints:
          - {{id: sensitivity, metric: sensitivity, goal: 0.1}}
        inference: {{batch_size: 4, num_workers: 0, device: cpu}}
        """)
    if latency:
        text += LATENCY_BLOCK.format(max_ms=max_ms)
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> Path:
    """Folder with dicom/, model/, manifest.csv and lat.yaml (a protocol with a latency block)."""
    from valkit.manifest import build_manifest

    root = tmp_path_factory.mktemp("latency_study")
    dicom = root / "dicom"
    dicom.mkdir()
    rng = np.random.default_rng(3)
    labels = ["path,label"]
    for i in range(8):
        img = rng.integers(0, 4096, size=(64, 64))
        write_dicom(dicom / f"img{i}.dcm", img, rle=bool(i % 2))
        labels.append(f"dicom/img{i}.dcm,{i % 2}")
    (root / "labels.csv").write_text("\n".join(labels) + "\n")
    build_manifest(dicom, out=root / "manifest.csv", labels=root / "labels.csv")
    _card(root / "model")
    write_protocol(root)
    return root


@pytest.fixture(name="write_protocol")
def write_protocol_fixture():
    return write_protocol


@pytest.fixture(scope="session")
def bench_run(tiny_study, tmp_path_factory):
    """``valkit bench`` on the tiny study with its protocol's settings: (exit code, latency.json)."""
    import json

    from valkit.cli import main

    runs = tmp_path_factory.mktemp("runs")
    rc = main(["bench", str(tiny_study / "lat.yaml"), "--runs-dir", str(runs), "--quiet"])
    return rc, json.loads((runs / "lat" / "latency.json").read_text())
