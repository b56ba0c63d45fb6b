"""Execution variants: reported when unavailable, numerically faithful, never mutating the model."""
from __future__ import annotations

import pytest
import torch

from valkit.latency.model_bench import MeasureSettings, model_only
from valkit.latency.variants import prepare_variant, unavailable_reason

FAST = MeasureSettings(warmup=1, min_iterations=3, max_iterations=5, min_seconds=0, max_seconds=5)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def tiny_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 1)).eval()


def test_gpu_only_variants_are_reported_not_dropped_on_cpu():
    assert "not available on this device (cpu)" in unavailable_reason("fp16", "cpu")
    assert "CUDA graphs need a CUDA GPU" in unavailable_reason("cuda_graphs", "cpu")
    r = model_only(tiny_net(), (1, 16, 16), "cpu", variant="fp16+cuda_graphs", batch_sizes=[1, 8], settings=FAST)
    assert r["available"] is False and r["batches"] == [] and "not available on this device" in r["reason"]
    assert r["config"] == {"dtype": "fp16", "autocast": True, "channels_last": False, "compile": False,
                           "cuda_graphs": True}


@pytest.mark.parametrize("variant, tol", [("fp32", 0.0), ("channels_last", 1e-5), ("bf16", 5e-2),
                                          ("bf16+channels_last", 5e-2)])
def test_cpu_variants_compute_the_same_function(variant, tol):
    net = tiny_net()
    x = torch.randn(4, 1, 16, 16)
    with torch.inference_mode():
        ref = net(x)
    prepared = prepare_variant(net, variant, "cpu", x)
    out = prepared.forward(prepared.prepare_input(x)).float()
    assert torch.allclose(out, ref, atol=tol, rtol=tol)
    # the validated network itself is untouched (a copy was converted)
    assert next(net.parameters()).is_contiguous() and net[0].weight.is_contiguous(memory_format=torch.contiguous_format)


def test_model_only_curve_records_every_batch_size_and_memory():
    r = model_only(tiny_net(), (1, 16, 16), "cpu", variant="fp32", batch_sizes=[1, 2, 4], settings=FAST)
    assert [b["batch_size"] for b in r["batches"]] == [1, 2, 4]
    for b in r["batches"]:
        assert b["status"] == "measured" and b["iterations"] >= 3 and b["timer"] == "perf_counter"
        assert b["peak_gpu_memory_bytes"] is None and b["peak_host_rss_bytes"] > 0
        assert b["throughput_images_per_s"] == pytest.approx(
            b["batch_size"] / (b["per_image_ms"] * b["batch_size"] / 1000))
    assert r["knee"]["batch_size"] in (1, 2, 4)


def test_a_batch_predicted_to_exceed_the_time_limit_is_skipped(clock):
    # fake network: every call costs batch_size x 1 s on the fake clock
    class Slow(torch.nn.Module):
        def forward(self, x):
            clock.advance(float(x.shape[0]))
            return x.mean(dim=(1, 2, 3))[:, None]

    settings = MeasureSettings(warmup=1, min_iterations=2, max_iterations=2, min_seconds=0, max_seconds=20)
    r = model_only(Slow(), (1, 4, 4), "cpu", variant="fp32", batch_sizes=[1, 4, 16], settings=settings,
                   clock=clock)
    status = {b["batch_size"]: b["status"] for b in r["batches"]}
    assert status == {1: "measured", 4: "measured", 16: "skipped"}
    assert r["batches"][0]["latency_ms"]["p50"]["value"] == pytest.approx(1000.0)
    assert r["batches"][1]["throughput_images_per_s"] == pytest.approx(1.0)
    assert "max_seconds" in r["batches"][2]["reason"]


@pytest.mark.slow
def test_torch_compile_variant_runs_on_cpu():
    if unavailable_reason("compile", "cpu"):
        pytest.skip(unavailable_reason("compile", "cpu"))
    net = tiny_net()
    x = torch.randn(2, 1, 16, 16)
    prepared = prepare_variant(net, "compile", "cpu", x)
    with torch.inference_mode():
        ref = net(x)
    assert torch.allclose(prepared.forward(x), ref, atol=1e-5)


@CUDA
@pytest.mark.parametrize("variant", ["fp32", "fp16", "bf16+channels_last", "fp16+cuda_graphs", "cuda_graphs"])
def test_cuda_variants_match_fp32(variant):
    net = tiny_net().cuda()
    x = torch.randn(1, 1, 16, 16, device="cuda")
    with torch.inference_mode():
        ref = net(x).float()
    prepared = prepare_variant(net, variant, "cuda", x)
    out = prepared.forward(prepared.prepare_input(x)).float()
    assert torch.allclose(out, ref, atol=2e-2, rtol=2e-2)


@CUDA
def test_cuda_timing_uses_events_and_reports_gpu_memory():
    r = model_only(tiny_net(), (1, 16, 16), "cuda", variant="fp16", batch_sizes=[1, 4], settings=FAST)
    for b in r["batches"]:
        assert b["timer"] == "cuda_events" and b["peak_gpu_memory_bytes"] > 0
