"""`valkit bench`: exit codes, latency.json, and the results.json latency key."""
from __future__ import annotations

import json
import math
import shutil

from valkit.cli import main
from valkit.results import write_json_atomic

KEYS = ("schema", "device", "measured_on_cpu", "environment", "model", "options", "seed", "decoders", "model_only",
        "variants", "end_to_end", "pipeline", "budget", "verdict", "caveats")


def test_bench_writes_every_section_and_passes_a_generous_budget(bench_run):
    rc, lat = bench_run
    assert rc == 0 and lat["verdict"] == "PASS"
    for k in KEYS:
        assert k in lat, k
    assert lat["device"] == "cpu" and lat["measured_on_cpu"] is True
    env = lat["environment"]
    assert env["gpu_name"] == "not available on this device" and env["cpu_count"] >= 1 and env["torch"]
    assert [b["batch_size"] for b in lat["model_only"]["batches"]] == [1, 4]
    e2e = lat["end_to_end"]
    assert e2e["n_studies"] == 6 and [s["name"] for s in e2e["stages"]] == [
        "read", "decode", "preprocess", "host_to_device", "forward", "postprocess"]
    assert e2e["predictor_check"]["matches"] is True
    assert e2e["unattributed_ms"]["mean"] >= 0  # the total encloses the stages
    for key in ("pipeline_efficiency", "bound_by", "model_only_images_per_s", "decode_only_images_per_s",
                "end_to_end_images_per_s"):
        assert key in lat["pipeline"]
    assert any("Measured on CPU only" in c for c in lat["caveats"])


def test_variants_are_reported_separately_with_their_config(bench_run):
    _, lat = bench_run
    by_name = {v["variant"]: v for v in lat["variants"]}
    assert set(by_name) == {"fp32", "channels_last", "fp16+cuda_graphs"}
    assert by_name["channels_last"]["config"]["channels_last"] is True
    assert by_name["fp16+cuda_graphs"]["available"] is False
    assert "not available on this device" in by_name["fp16+cuda_graphs"]["reason"]


def test_results_json_is_strict_json(bench_run):
    _, lat = bench_run
    text = json.dumps(lat, allow_nan=False)  # NaN would have been written as null
    assert "NaN" not in text and not any(isinstance(v, float) and math.isnan(v) for v in lat["pipeline"].values()
                                         if isinstance(v, float))


def test_budget_fail_exits_1(tiny_study, tmp_path, write_protocol):
    d = tmp_path / "study"
    shutil.copytree(tiny_study, d, ignore=shutil.ignore_patterns("runs"))
    write_protocol(d, name="tight.yaml", max_ms=0.0001)
    rc = main(["bench", str(d / "tight.yaml"), "--runs-dir", str(tmp_path / "runs"), "--quick", "--quiet"])
    lat = json.loads((tmp_path / "runs" / "tight" / "latency.json").read_text())
    assert rc == 1 and lat["budget"]["verdict"] == "FAIL" and lat["verdict"] == "FAIL"
    assert lat["settings"].startswith("quick") and "Quick smoke settings" in lat["caveats"][0]


def test_run_directory_gets_the_latency_key(tiny_study, tmp_path, monkeypatch):
    # a run directory whose results.json records this protocol (path and sha256): bench fills in `latency`
    from valkit.protocol import load_protocol

    loaded = load_protocol(tiny_study / "lat.yaml")
    run_dir = tmp_path / "runs" / "lat"
    run_dir.mkdir(parents=True)
    # only the keys bench reads (a partial file: written raw, not through write_results' validation)
    write_json_atomic(run_dir / "results.json", {"schema_version": 1, "verdict": "PASS",
                                                 "protocol": {"path": str(tiny_study / "lat.yaml"),
                                                              "sha256": loaded.sha256}})
    rc = main(["bench", str(run_dir), "--quick", "--quiet"])
    results = json.loads((run_dir / "results.json").read_text())
    assert rc == 0 and results["latency"]["verdict"] == "PASS" and results["verdict"] == "PASS"
    # a changed protocol is refused
    write_json_atomic(run_dir / "results.json", {"schema_version": 1,
                                                 "protocol": {"path": str(tiny_study / "lat.yaml"), "sha256": "0" * 64}})
    assert main(["bench", str(run_dir), "--quick", "--quiet"]) == 2


def test_bad_targets_are_input_errors(tiny_study, tmp_path, capsys):
    assert main(["bench", str(tmp_path / "nope.yaml")]) == 2
    assert "not found" in capsys.readouterr().err
