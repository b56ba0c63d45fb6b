"""docs/model-cards.md: every card field is documented, and every worked example runs end to end.

Each example's Python is executed (it writes a small random-weight model), its card is written with
the file's real sha256, and `valkit run` scores a small synthetic DICOM study with it. The demo
manifest needs the generated phantom images (not in git, minutes to make), so the study here is the
demo's kind at a smaller size: 12 phantom radiographs from the demo generator (`valkit synth`) and
their manifest built by `valkit manifest build`, as `make demo` does. Each run's scores are compared with
the network that wrote the file, applied directly with torch to the same preprocessed images: every
format must compute exactly what its source network computes.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import BaseModel

from valkit.cli import main
from valkit.digests import file_sha256
from valkit.model_card import ModelCard

DOC = Path(__file__).resolve().parents[2] / "docs" / "model-cards.md"
FORMATS = ["monai", "torchvision", "torchscript", "onnx", "monai_bundle"]
N_IMAGES = 12


def examples() -> dict[str, tuple[str, str]]:
    """``format -> (python, yaml)`` from the ``<!-- example: NAME -->`` blocks of the doc."""
    text = DOC.read_text()
    found = {}
    for name, python, card in re.findall(r"<!-- example: (\w+) -->\s*```python\n(.*?)```\s*```yaml\n(.*?)```",
                                         text, flags=re.S):
        found[name] = (python, card)
    return found


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        out.append(name)
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out.extend(_fields(arg))
    return out


def test_every_card_field_is_documented():
    text = DOC.read_text()
    missing = sorted({f for f in _fields(ModelCard) if f"`{f}`" not in text})
    assert not missing, f"card fields not described in docs/model-cards.md: {missing}"


def test_the_doc_has_one_example_per_format_and_each_card_names_it():
    found = examples()
    assert sorted(found) == sorted(FORMATS)
    for fmt, (_, card) in found.items():
        assert yaml.safe_load(card)["architecture"]["format"] == fmt


PROTOCOL = """\
id: {id}
version: "1.0"
title: Bring your own model, {id}
intended_use: tests only
regulatory: {{targets: [FDA], document_id: VK-TEST, revision: A}}
model: {{card: {card}}}
datasets:
  - manifest: manifest.csv
reference_standard: {{column: label, description: test labels}}
operating_point: {{source: fixed, threshold: 0.5}}
endpoints:
  - {{id: sensitivity, metric: sensitivity}}
inference: {{batch_size: 4, num_workers: 0, device: cpu}}
report: {{formats: [html]}}
explainability:
  gallery: {{true_positive: 1, false_positive: 1, false_negative: 1, true_negative: 1}}
  localisation: {{bootstrap_resamples: 100}}
  sanity: {{enabled: false}}
"""

LATENCY = """\
latency:
  batch_sizes: [1, 2]
  warmup_iterations: 1
  min_iterations: 3
  max_iterations: 10
  min_seconds: 0
  max_seconds: 2
  studies: 3
  warmup_studies: 1
  variants: [fp32, channels_last]
  variant_batch_sizes: [1]
  efficiency_studies: 8
  efficiency_repeats: 1
  seed: 7
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> tuple[Path, dict]:
    """The doc's examples built in one folder, cards with real digests, a small demo-like study and manifest."""
    root = tmp_path_factory.mktemp("byom")
    networks = {}
    cwd = os.getcwd()
    os.chdir(root)
    try:
        for fmt, (python, card) in examples().items():
            namespace: dict = {}
            with warnings.catch_warnings():  # torch deprecates tracing and the legacy ONNX exporter
                warnings.simplefilter("ignore")
                exec(compile(python, f"docs/model-cards.md example {fmt}", "exec"), namespace)  # noqa: S102
            networks[fmt] = namespace["net"].eval()
            path = Path(card.splitlines()[0].lstrip("# ").strip())
            data = yaml.safe_load(card)
            digest = file_sha256(path.parent / data["weights"]["file"])
            path.write_text(card.replace("0" * 64, digest))
    finally:
        os.chdir(cwd)
    # the demo's study, smaller: phantom chest radiographs from the demo generator (4 sites, JPEG 2000 and
    # uncompressed DX files), the manifest built by the same command as `make demo`'s
    assert main(["synth", str(root / "phantom"), "--n-images", str(N_IMAGES), "--seed", "5"]) == 0
    assert main(["manifest", "build", str(root / "phantom"), "--labels", str(root / "phantom" / "labels.csv"),
                 "--out", str(root / "manifest.csv")]) == 0
    return root, networks


def _card_path(root: Path, fmt: str) -> Path:
    return root / examples()[fmt][1].splitlines()[0].lstrip("# ").strip()


def _expected_scores(network, card_path: Path, table: pd.DataFrame) -> np.ndarray:
    """The source network applied directly, with the card's preprocessing and activation."""
    import torch

    from valkit.model_card_io import load_model_card
    from valkit.preprocess import preprocess_file

    card = load_model_card(card_path)
    x = torch.from_numpy(np.stack([preprocess_file(p, card.preprocessing) for p in table["abs_path"]]))
    with torch.no_grad():
        logits = network(x).reshape(len(x), -1)
    if card.output.activation == "softmax":
        return torch.softmax(logits, 1)[:, card.output.positive_index].numpy()
    return torch.sigmoid(logits[:, 0]).numpy()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_documented_format_runs_end_to_end(workspace, fmt):
    root, networks = workspace
    card = _card_path(root, fmt)
    text = PROTOCOL.format(id=f"byom-{fmt}", card=card.relative_to(root).as_posix())
    if fmt == "onnx":
        text += LATENCY
    protocol = root / f"{fmt}.yaml"
    protocol.write_text(text)
    assert main(["validate", str(protocol)]) == 0
    report = ["--no-report"] if fmt not in ("onnx", "torchvision") else []
    assert main(["run", str(protocol), "--runs-dir", str(root / "runs"), "--quiet", *report]) in (0, 1, 4)
    run = root / "runs" / f"byom-{fmt}"
    results = json.loads((run / "results.json").read_text())
    assert results["model"]["format"] == fmt
    predictions = pd.read_parquet(run / "predictions.parquet").set_index("case_id").sort_index()
    assert list(predictions["status"]) == ["ok"] * N_IMAGES
    table = pd.read_csv(root / "manifest.csv", dtype=str).set_index("case_id").sort_index()
    table["abs_path"] = [str(root / p) for p in table["path"]]
    expected = _expected_scores(networks[fmt], card, table)
    np.testing.assert_allclose(predictions["score"].to_numpy(float), expected, rtol=0, atol=1e-5)
    assert len(np.unique(np.round(expected, 6))) > 1  # the comparison can fail: the scores differ by image

    ex = results["explainability"]
    if fmt in ("onnx", "torchscript"):
        assert ex["available"] is False
        assert ex["reason"].startswith(f"Grad-CAM is not available for {'ONNX' if fmt == 'onnx' else 'TorchScript'}")
    else:
        assert ex["available"] is True and ex["heatmaps"]["n"] >= 1
        if fmt in ("torchvision", "monai_bundle"):
            assert "positive class" in ex["explained_output"]
    if fmt == "onnx":
        assert results["model"]["details"]["onnx_providers"] == ["CPUExecutionProvider"]
        lat = results["latency"]
        assert lat["end_to_end"]["predictor_check"]["matches"] is True
        assert [r["status"] for r in lat["model_only"]["batches"]] == ["measured", "measured"]
        cl = next(v for v in lat["variants"] if v["variant"] == "channels_last")
        assert cl["available"] is False and "onnxruntime, not torch" in cl["reason"]
        assert lat["model"]["parameters"] is None and lat["model"]["format"] == "onnx"
        html = (run / "report.html").read_text()
        assert "there is no torch module" in html
    if fmt == "torchvision":
        html = (run / "report.html").read_text()
        assert "softmax over no nodule, nodule; score = probability of nodule" in html
    if fmt == "monai_bundle":
        details = results["model"]["details"]
        assert details["bundle_version"] == "0.1.0"
        assert details["network_def"]["out_channels"] == 2  # the @num_classes reference, followed
        assert details["config_sha256"] == file_sha256(card.parent / "nodule_bundle" / "configs" / "inference.json")


def test_doc_yaml_placeholders_are_the_only_difference(workspace):
    # the cards the test runs are the doc's cards, byte for byte, but for the digest
    root, _ = workspace
    for fmt, (_, card) in examples().items():
        written = _card_path(root, fmt).read_text()
        assert re.sub(r"[0-9a-f]{64}", "0" * 64, written) == card, fmt

