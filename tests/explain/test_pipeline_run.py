"""`valkit run` with an explainability block: DICOMs + labels → manifest → run → results.json + report."""
from __future__ import annotations

import json

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

    helpers.write_blob_manifest(tmp_path, sites_and_boxes=True)

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
