"""Issue #14 item 4: the determinism digest covers exactly the analysis blocks, and a mismatch fails the gate."""
from __future__ import annotations

import copy

from valkit.audit.determinism import CHECKED, analysis_digest, determinism_block
from valkit.gate import acceptance


def test_the_digest_changes_with_a_checked_block_only(fake_results):
    base = analysis_digest(fake_results)
    timing = copy.deepcopy(fake_results)
    timing["provenance"]["seconds"] += 1  # legitimately differs between runs: not checked
    timing["inference"] = {"seconds": 99.0}
    assert analysis_digest(timing) == base
    changed = copy.deepcopy(fake_results)
    changed["primary"]["sensitivity"]["value"] += 1e-12
    assert analysis_digest(changed) != base
    table = copy.deepcopy(fake_results)
    table["data"]["accountability"][0]["failed"] += 1
    assert analysis_digest(table) != base
    assert "primary" in CHECKED and "latency" not in CHECKED


def test_a_result_not_reproduced_from_the_stored_predictions_fails_the_run(fake_results):
    recomputed = copy.deepcopy(fake_results)
    recomputed["endpoints"][0]["estimate"]["value"] = 0.5
    det = determinism_block(fake_results, recomputed, predictions_sha256="x", seconds=0.1)
    assert not det["identical"] and det["differing_blocks"] == ["endpoints"]
    results = {**fake_results, "integrity": {"determinism": det}}
    acc = acceptance(results)
    (crit,) = [c for c in acc["criteria"] if c["kind"] == "determinism"]
    assert crit["verdict"] == "FAIL" and crit["gates"] and acc["verdict"] == "FAIL"


def test_make_demo_locks_the_pre_registered_demo_protocol_before_running_it():
    from pathlib import Path

    from valkit.protocol import load_protocol

    import inspect

    from valkit.demo import run_demo

    root = Path(__file__).resolve().parents[2]
    demo = (root / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "valkit demo" in demo  # make demo is `valkit demo`, which locks a pre-registered protocol first
    src = inspect.getsource(run_demo)
    assert "pre_registered" in src and src.index("lock_protocol(") < src.index("run_protocol(")
    p = load_protocol(root / "protocols" / "demo.yaml", check_paths=False).protocol
    assert p.regulatory.pre_registered and p.regulatory.masking
