"""The protocol's latency block and the budget verdict."""
from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from valkit.latency.config import Budget, LatencyOptions, parse_variant
from valkit.latency.section import judge_budget
from valkit.protocol import load_protocol, protocol_problems


def _problems(tiny_study, block):
    data = yaml.safe_load((tiny_study / "lat.yaml").read_text())
    data["latency"] = block
    return protocol_problems(data, source="lat.yaml")


def test_protocol_accepts_the_block_and_defaults(tiny_study):
    loaded = load_protocol(tiny_study / "lat.yaml")
    lat = loaded.protocol.latency
    assert lat.batch_sizes == [1, 4] and lat.budget.percentile == 50
    assert _problems(tiny_study, {}) == []
    assert LatencyOptions().batch_sizes == [1, 8, 32, 64, 128]


@pytest.mark.parametrize("block, expected", [
    ({"batch_size": [1]}, "unknown key 'batch_size'. Did you mean 'batch_sizes'?"),
    ({"variants": ["bf16+chanels_last"]}, "unknown token 'chanels_last'. Did you mean 'channels_last'?"),
    ({"variants": ["bf16+fp16"]}, "at most one of fp32, bf16, fp16"),
    ({"budget": {"max_ms": 500, "percentile": 97}}, "unknown value '97'"),
    ({"budget": {"percentile": 95}}, "latency.budget.max_ms: required key is missing"),
    ({"batch_sizes": [8, 8]}, "must not repeat"),
    ({"min_iterations": 50, "max_iterations": 10}, "max_iterations (10) must be >= min_iterations (50)"),
    ({"ci": "delong"}, "unknown value 'delong'"),
])
def test_typos_and_bad_values_are_errors_with_a_fix(tiny_study, block, expected):
    problems = _problems(tiny_study, block)
    assert problems and any(expected in p for p in problems), problems


def test_options_are_frozen():
    with pytest.raises(ValidationError):
        LatencyOptions().batch_sizes = [1]  # type: ignore[misc]


def test_variant_parsing():
    assert parse_variant("fp16+cuda_graphs") == ("fp16", frozenset({"cuda_graphs"}))
    assert parse_variant("channels_last") == ("fp32", frozenset({"channels_last"}))


E2E = {"latency_ms": {"n": 500, "p95": {"value": 300.0, "ci_low": 280.0, "ci_high": 510.0},
                      "p50": {"value": 100.0, "ci_low": 95.0, "ci_high": 104.0}}}


def test_budget_is_judged_on_the_upper_confidence_bound_by_default():
    r = judge_budget(Budget(max_ms=500), E2E, {})
    assert r["verdict"] == "FAIL" and r["judged_value_ms"] == 510.0  # estimate 300 passes, bound does not
    assert judge_budget(Budget(max_ms=500, judged_on="estimate"), E2E, {})["verdict"] == "PASS"
    assert judge_budget(Budget(max_ms=510), E2E, {})["verdict"] == "PASS"  # <= is a pass
    assert "upper 95% confidence bound" in r["statement"]


def test_budget_without_an_upper_bound_fails_and_says_why():
    e2e = {"latency_ms": {"n": 50, "p99": {"value": 10.0, "ci_low": 9.0, "ci_high": None}}}
    r = judge_budget(Budget(max_ms=500, percentile=99), e2e, {})
    assert r["verdict"] == "FAIL" and "not estimable from 50 samples" in r["statement"]


def test_model_only_budget_uses_the_named_batch_size():
    curve = {"batches": [
        {"batch_size": 1, "status": "measured", "latency_ms": {"p95": {"value": 5.0, "ci_low": 4, "ci_high": 6}}},
        {"batch_size": 8, "status": "skipped", "reason": "too slow"},
    ]}
    assert judge_budget(Budget(metric="model_only", max_ms=10), {}, curve)["verdict"] == "PASS"
    r = judge_budget(Budget(metric="model_only", batch_size=8, max_ms=10), {}, curve)
    assert r["verdict"] == "FAIL" and "was not measured" in r["statement"]


def test_protocol_and_latency_statistics_do_not_import_torch():
    # the protocol imports valkit.latency.config; the percentile maths is pure numpy/scipy
    import subprocess
    import sys

    code = ("import sys, valkit.protocol, valkit.latency, valkit.latency.percentiles; "
            "bad = [m for m in ('torch', 'pydicom', 'monai') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
