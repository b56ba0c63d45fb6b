"""Fixtures for explainability tests: a tiny hand-built blob detector, DICOMs with a known lesion box.

The blob detector has fixed weights (no training): one 5x5 centre-surround filter that
responds to small bright discs, a ReLU (the Grad-CAM target, full input resolution),
global average pooling and a linear read-out. Its heatmap must peak on the disc, which
makes it a test model whose right answer is known. A second, untrained channel (an edge
filter with zero read-out weight) gives Grad-CAM something to ignore.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from valkit import testing

INPUT_SIZE = (32, 32)


def blob_net():
    import torch
    from torch import nn

    yy, xx = np.mgrid[-2:3, -2:3]
    centre = ((xx**2 + yy**2) <= 2).astype(np.float32)
    kernel = centre / centre.sum() - (1 - centre) / (1 - centre).sum()  # zero-mean: flat regions give 0
    edge = np.tile(np.array([-1, -1, 0, 1, 1], np.float32), (5, 1)) / 10

    class BlobNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(OrderedDict(
                entry=nn.Identity(),
                conv=nn.Conv2d(1, 2, 5, padding=2, padding_mode="replicate"),
                relu=nn.ReLU(inplace=True),
            ))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.out = nn.Linear(2, 1)
            with torch.no_grad():
                self.features.conv.weight.copy_(torch.from_numpy(np.stack([kernel, edge])[:, None]))
                self.features.conv.bias.zero_()
                self.out.weight.copy_(torch.tensor([[1000.0, 0.0]]))
                self.out.bias.fill_(-1.5)

        def forward(self, x):
            return self.out(self.flatten(self.pool(self.features(x))))

    return BlobNet().eval()


def blob_image(rows: int, cols: int, box: tuple[int, int, int, int] | None, *, seed: int = 0,
               amplitude: float = 2500) -> np.ndarray:
    """12-bit stored values: noisy background, a bright ellipse filling the half-open box (x0, y0, x1, y1)."""
    rng = np.random.default_rng(seed)
    img = 1000 + rng.normal(0, 40, size=(rows, cols))
    if box is not None:
        x0, y0, x1, y1 = box
        yy, xx = np.mgrid[0:rows, 0:cols] + 0.5
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        img[((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0] += amplitude
    return np.clip(img, 0, 4095).astype(np.uint16)


def write_dicom(path: Path, pixels: np.ndarray, *, window: tuple[float, float] | None = (2000, 4000)) -> Path:
    """Uncompressed 12-bit MONOCHROME2 DX image carrying real-looking identifiers that must never leak."""
    return testing.write_dicom(path, pixels, window=window, patient_id="MRN-123456", patient_name="Real^Name")


def card_dict(size=INPUT_SIZE, target_layer: str = "features.relu", normalization=None) -> dict:
    return {
        "id": "blob-test",
        "name": "Blob test model",
        "version": "0.0.1",
        "finding": "bright disc",
        "intended_use": "tests only",
        "architecture": {"family": "monai.networks.nets.DenseNet", "spatial_dims": 2, "in_channels": 1,
                         "out_channels": 1, "params": {"init_features": 4, "growth_rate": 4,
                                                       "block_config": [1, 1], "bn_size": 2}},
        "preprocessing": {"window": {"source": "dicom"}, "size": list(size),
                          "normalization": normalization or {"method": "none"}},
        "output": {"positive_label": "disc present"},
        "threshold": {"value": 0.5, "rule": "youden", "tuning_set": "none"},
        "weights": {"file": "model.safetensors", "sha256": "0" * 64},
        "explainability": {"target_layer": target_layer},
    }


@pytest.fixture
def blob_predictor():
    """A Predictor whose network is the hand-built blob detector (the card supplies preprocessing only)."""
    import torch

    from valkit.model_card_io import parse_model_card
    from valkit.predictor import Predictor

    return Predictor(card=parse_model_card(card_dict()), network=blob_net(), device=torch.device("cpu"),
                     weights_sha256="0" * 64)


@pytest.fixture
def blob_study(tmp_path: Path, blob_predictor):
    """12 cases on non-square 48 x 80 images, 3 sites, lesion boxes for positives; returns the merged table.

    Scores come from the blob network itself, so categories are what the model says: cases
    0, 2, 4, 6, 8 are true positives, 10 a false negative (faint lesion), 11 a false positive
    (a disc that the reference standard calls negative), the rest true negatives.
    """
    import pandas as pd

    from valkit.preprocess import preprocess_file

    rng = np.random.default_rng(5)
    rows = []
    for i in range(12):
        label = int(i % 2 == 0)
        box = None
        if label or i == 11:
            w, h = int(rng.integers(10, 16)), int(rng.integers(6, 10))
            x0, y0 = int(rng.integers(4, 80 - w - 4)), int(rng.integers(4, 48 - h - 4))
            box = (x0, y0, x0 + w, y0 + h)
        path = write_dicom(tmp_path / f"img{i}.dcm", blob_image(48, 80, box, seed=i, amplitude=60 if i == 10 else 2500))
        if not label:
            box = None  # a negative has no lesion box
        x = preprocess_file(path, blob_predictor.card.preprocessing)
        score = float(blob_predictor.predict(x[None])[0])
        rows.append({
            "case_id": f"I-{i:04d}", "patient_id": f"P-{i // 2:03d}", "abs_path": str(path), "label": label,
            "score": score, "status": "ok", "site": f"site{i % 3}", "manufacturer": "Acme", "model": "DX1",
            "lesion_x0": "" if box is None else str(box[0]), "lesion_y0": "" if box is None else str(box[1]),
            "lesion_x1": "" if box is None else str(box[2]), "lesion_y1": "" if box is None else str(box[3]),
        })
    return pd.DataFrame(rows)


def write_blob_manifest(folder: Path, *, n: int = 8, sites_and_boxes: bool = False) -> Path:
    """``n`` blob DICOMs (a lesion in every other one) under ``folder/dicom`` and their manifest, built by
    ``valkit manifest build`` into ``folder/manifest.csv``; with ``sites_and_boxes`` the labels carry a site
    column and the lesion-box columns."""
    import csv

    from valkit.cli import main

    rng = np.random.default_rng(0)
    (folder / "dicom").mkdir()
    rows = []
    for i in range(n):
        box = None
        if i % 2 == 0:
            x0, y0 = int(rng.integers(4, 50)), int(rng.integers(4, 30))
            box = (x0, y0, x0 + 12, y0 + 8)
        write_dicom(folder / "dicom" / f"{i}.dcm", blob_image(48, 80, box, seed=i))
        row = {"path": f"dicom/{i}.dcm", "label": int(box is not None), "case_id": f"I-{i:03d}"}
        if sites_and_boxes:
            row.update({"site": f"site{i % 2}",
                        **dict(zip(["lesion_x0", "lesion_y0", "lesion_x1", "lesion_y1"], box or ("",) * 4))})
        rows.append(row)
    with open(folder / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["manifest", "build", str(folder / "dicom"), "--labels", str(folder / "labels.csv"),
                 "--out", str(folder / "manifest.csv")]) == 0
    return folder / "manifest.csv"


@pytest.fixture(scope="session")
def helpers():
    """The module-level helpers, for tests (import-mode=importlib cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(blob_net=blob_net, blob_image=blob_image, write_dicom=write_dicom, card_dict=card_dict,
                           write_blob_manifest=write_blob_manifest)
