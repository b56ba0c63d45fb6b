"""Fixtures for the report tests: one real results.json from the fake study, rendered once."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_PROTOCOL = REPO / "tests" / "data" / "fake_study" / "fake.yaml"
# test helpers (tests/report/page_fill.py) importable under --import-mode=importlib
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def fake_run(tmp_path_factory) -> Path:
    """Run the fake study (500 cases, 4 sites, 3 manufacturers, some failures) without a report."""
    from valkit.cli import main

    runs = tmp_path_factory.mktemp("runs")
    rc = main(["run", str(FAKE_PROTOCOL), "--runs-dir", str(runs), "--no-report", "--quiet"])
    assert rc in (0, 1, 4), f"valkit run failed with exit code {rc}"
    run_dir = runs / "fake"
    assert (run_dir / "results.json").is_file()
    return run_dir


@pytest.fixture(scope="session")
def rendered(fake_run, tmp_path_factory) -> Path:
    """results.json copied ALONE into an empty folder and rendered there (both formats)."""
    from valkit.report import render_report

    alone = tmp_path_factory.mktemp("alone")
    shutil.copy(fake_run / "results.json", alone / "results.json")
    paths = render_report(alone)
    assert [p.name for p in paths] == ["report.pdf", "report.html"]
    return alone


def _pdftotext(pdf: Path, *args: str) -> str:
    """Text of a PDF via poppler's pdftotext (skips the test if poppler-utils is missing)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found: install poppler-utils (apt-get install -y poppler-utils, "
                    "or `make sysdeps`) to check the PDF text")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", *args, str(pdf), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def _poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not found: install poppler-utils (apt-get install -y poppler-utils, "
                    "or `make sysdeps`) to check the PDF")
    return subprocess.run([tool, *args], capture_output=True, check=True, text=True).stdout


@pytest.fixture(scope="session")
def pdf_text(rendered) -> str:
    """The PDF's text with its layout kept (table rows stay on one line); pages split by form feed."""
    return _pdftotext(rendered / "report.pdf", "-layout")


@pytest.fixture(scope="session")
def poppler():
    """Run a poppler-utils tool (pdfinfo, pdffonts, pdftohtml), skipping when it is not installed."""
    return _poppler


@pytest.fixture(scope="session")
def card_run(tmp_path_factory) -> Path:
    """A small run of a real model card (the tiny seeded DenseNet of valkit.testing) on 24 written DICOM
    images: the sections a model-card run has and an external-scores run lacks (device and model, training
    data, operating point from the card, intensity window), with the protocol in its own folder so that
    the card and the manifest are reached by relative paths (../models/..., ../datasets/...)."""
    import csv

    import numpy as np
    import yaml

    from valkit import testing
    from valkit.cli import main

    root = tmp_path_factory.mktemp("card_study")
    rng = np.random.default_rng(7)
    (root / "datasets" / "dicom").mkdir(parents=True)
    rows = []
    for i in range(24):
        positive = i % 3 == 0
        img = 1000 + rng.normal(0, 40, size=(40, 40))
        if positive:
            img[12:24, 14:26] += 1500
        testing.write_dicom(root / "datasets" / "dicom" / f"{i}.dcm", np.clip(img, 0, 4095).astype(np.uint16),
                            patient_id=f"P{i // 2}")
        rows.append({"path": f"dicom/{i}.dcm", "label": int(positive), "case_id": f"C-{i:03d}",
                     "site": ("North Clinic", "South Clinic")[i % 2]})
    with open(root / "datasets" / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["manifest", "build", str(root / "datasets" / "dicom"), "--labels", str(root / "datasets" / "labels.csv"),
                 "--out", str(root / "datasets" / "manifest.csv")]) == 0
    training = ("training:\n  script: train.py\n  seed: 3\n  data: synthetic squares\n"
                "  data_seeds: {train: [11], tuning: [12]}\n  n_images: {train: 100, tuning: 40}\n"
                "  tuning_auc: 0.81\n  notes: trained for two epochs\n"
                "limitations:\n- Tiny test network; not a diagnostic model.\n")
    testing.write_tiny_model(root / "models" / "tiny", size=(32, 32), target_layer=None, extra=training)
    protocol = {
        "id": "card-study", "version": "1", "title": "Model-card study for the plain-language test",
        "intended_use": "tests only",
        "regulatory": {"targets": ["FDA", "CDSCO"], "document_id": "T-2", "revision": "A",
                       "fda": {"submission_type": "510(k)", "product_code": "MYN",
                               "regulation_number": "21 CFR 892.2070"},
                       "cdsco": {"device_class": "B"}},
        "model": {"card": "../models/tiny/model.yaml"},
        "datasets": [{"manifest": "../datasets/manifest.csv"}],
        "reference_standard": {"description": "constructed truth"},
        "endpoints": [{"id": "sensitivity", "metric": "sensitivity", "goal": 0.5, "planning_value": 0.85},
                      {"id": "specificity", "metric": "specificity", "goal": 0.5, "planning_value": 0.85}],
        "inference": {"batch_size": 8, "num_workers": 0, "device": "cpu"},
    }
    (root / "protocols").mkdir()
    (root / "protocols" / "p.yaml").write_text(yaml.safe_dump(protocol, sort_keys=False))
    runs = root / "runs"
    rc = main(["run", str(root / "protocols" / "p.yaml"), "--runs-dir", str(runs), "--no-report", "--quiet"])
    assert rc in (0, 1, 4), f"valkit run failed with exit code {rc}"
    return runs / "card-study"
