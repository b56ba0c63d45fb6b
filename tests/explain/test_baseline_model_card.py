"""A ``baseline:`` given as the earlier version's model card: valkit scores the same cases with it."""
from __future__ import annotations

import json

import pytest
import yaml

PROTOCOL = {
    "id": "versions-e2e", "version": "1", "title": "model versions end to end", "intended_use": "tests only",
    "regulatory": {"targets": ["FDA"], "document_id": "T-1", "revision": "A"},
    "model": {"card": "model/model.yaml"},
    "datasets": [{"manifest": "manifest.csv"}],
    "reference_standard": {"description": "constructed truth"},
    "operating_point": {"source": "fixed", "threshold": 0.5},
    "endpoints": [{"id": "sens", "metric": "sensitivity"}],
    "inference": {"batch_size": 4, "num_workers": 0, "device": "cpu"},
    "baseline": {"label": "v0 (cleared)", "model": "model_v0/model.yaml", "threshold": 0.5},
    "report": {"formats": ["html"]},
}


def _card(tmp_path, helpers, folder: str, seed: int) -> None:
    import monai.networks.nets as nets
    import torch
    from safetensors.torch import save_file

    from valkit.model_card import file_sha256

    (tmp_path / folder).mkdir()
    torch.manual_seed(seed)
    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, init_features=4, growth_rate=4,
                        block_config=[1, 1], bn_size=2)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / folder / "model.safetensors"))
    card = helpers.card_dict(target_layer="features.denseblock2")
    card["weights"]["sha256"] = file_sha256(tmp_path / folder / "model.safetensors")
    (tmp_path / folder / "model.yaml").write_text(yaml.safe_dump(card))


@pytest.mark.slow
def test_baseline_model_card_is_scored_on_the_same_cases(tmp_path, helpers):
    from valkit.cli import main

    helpers.write_blob_manifest(tmp_path)
    _card(tmp_path, helpers, "model", 0)
    _card(tmp_path, helpers, "model_v0", 1)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(PROTOCOL))

    rc = main(["run", str(tmp_path / "p.yaml"), "--runs-dir", str(tmp_path / "runs"), "--no-progress", "--no-report"])
    assert rc in (0, 1)
    run = tmp_path / "runs" / "versions-e2e"
    b = json.loads((run / "results.json").read_text())["baseline"]
    assert b["version"]["source"] == "model" and b["version"]["threshold_source"] == "protocol baseline.threshold"
    # both versions scored the same images: every case paired and its digest verified
    assert b["matching"]["paired"] == 8 and b["matching"]["digest_unverified"] == 0
    assert (run / "baseline" / "predictions.parquet").is_file()
    assert b["version"]["model_sha256"] != json.loads((run / "results.json").read_text())["model"]["weights_sha256"]
