"""`valkit run` with an explainability block: DICOMs + labels → manifest → run → results.json + report."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml

PROTOCOL = {
    "id": "explain-e2e", "version": "1", "title": "explainability end to end", "intended_use": "tests only",
    "regulatory": {"targets": ["FDA"], "document_id": "T-1", "revision": "A"},
    "model": {"card": "model/model.yaml"},
    "datasets": [{"manifest": "manifest.csv"}],
    "reference_standard": {"description": "constructed truth"},
    "operating_point": {"source": "fixed", "threshold": 0.5},
    "endpoints": [{"id": "sens", "metric": "sensitivity"}],
    "inference": {"batch_size": 4, "num_workers": 0, "device": "cpu"},
    "explainability": {"gallery": {"true_positive": 2, "false_positive": 2, "false_negative": 2,
                                   "true_negative": 1},
                       "localisation": {"bootstrap_resamples": 200},
                       "sanity": {"n_images": 2, "stages": 2}},
    "report": {"formats": ["html"]},
}


@pytest.mark.slow
def test_run_writes_explainability_and_the_report_section(tmp_path, helpers):
    import monai.networks.nets as nets
    import torch
    from safetensors.torch import save_file

    from valkit.cli import main
    from valkit.model_card import file_sha256

    rng = np.random.default_rng(0)
    (tmp_path / "dicom").mkdir()
    rows = []
    for i in range(8):
        box = None
        if i % 2 == 0:
            x0, y0 = int(rng.integers(4, 50)), int(rng.integers(4, 30))
            box = (x0, y0, x0 + 12, y0 + 8)
        helpers.write_dicom(tmp_path / "dicom" / f"{i}.dcm", helpers.blob_image(48, 80, box, seed=i))
        rows.append({"path": f"dicom/{i}.dcm", "label": int(box is not None), "case_id": f"I-{i:03d}",
                     "site": f"site{i % 2}",
                     **dict(zip(["lesion_x0", "lesion_y0", "lesion_x1", "lesion_y1"], box or ("",) * 4))})
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["manifest", "build", str(tmp_path / "dicom"), "--labels", str(tmp_path / "labels.csv"),
                 "--out", str(tmp_path / "manifest.csv")]) == 0

    (tmp_path / "model").mkdir()
    torch.manual_seed(0)
    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, init_features=4, growth_rate=4,
                        block_config=[1, 1], bn_size=2)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "model" / "model.safetensors"))
    card = helpers.card_dict(target_layer="features.denseblock2")
    card["weights"]["sha256"] = file_sha256(tmp_path / "model" / "model.safetensors")
    (tmp_path / "model" / "model.yaml").write_text(yaml.safe_dump(card))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(PROTOCOL))

    rc = main(["run", str(tmp_path / "p.yaml"), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert rc in (0, 1, 4)
    run = tmp_path / "runs" / "explain-e2e"
    ex = json.loads((run / "results.json").read_text())["explainability"]
    assert ex["available"] and ex["target_layer"] == "features.denseblock2"
    assert sum(g["available"] for g in ex["gallery"].values()) == 8
    assert ex["localisation"]["n_true_positives"] + ex["gallery"]["false_negative"]["available"] == 4
    for g in ex["gallery"].values():
        for case in g["cases"]:
            assert (run / case["overlay"]).is_file()
    html = (run / "report.html").read_text()
    assert "Failure analysis" in html and "Sanity check of the explanation method" in html
