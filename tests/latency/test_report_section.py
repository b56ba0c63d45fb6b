"""The "Computational performance" report section: formats results.json `latency`, computes nothing."""
from __future__ import annotations

import copy
import re

import pytest

from valkit.report.context import SECTIONS, Section, build_context
from valkit.report.render import Captions, environment
from valkit.report.sections.performance import computational_performance, histogram_svg, throughput_svg
from valkit.results_schema import ResultsSchemaError, key_path, validate_results

SECTION = Section("computational-performance", "Computational performance", "sections/performance.html.j2",
                  computational_performance, requires=("latency",))


def _render(lat, fake_results):
    s = computational_performance(validate_results({**fake_results, "latency": lat}), {})
    return environment().get_template("sections/performance.html.j2").render(s=s, doc={}, captions=Captions())


def test_the_section_is_registered():
    assert [s.requires for s in SECTIONS if s.id == "computational-performance"] == [("latency",)]


def test_section_is_present_only_with_the_latency_key(bench_run, fake_results):
    _, lat = bench_run
    assert build_context(fake_results, results_sha256="0" * 64, sections=(SECTION,))["sections"] == []
    ctx = build_context({**fake_results, "latency": lat}, results_sha256="0" * 64, sections=(SECTION,))
    assert [s["id"] for s in ctx["sections"]] == ["computational-performance"]


def test_rendered_section_shows_table_figures_hardware_verdict_and_cpu_caveat(bench_run, fake_results):
    _, lat = bench_run
    html = _render(lat, fake_results)
    for stat in ("p50", "p90", "p95", "p99", "mean", "max"):
        assert f'<th scope="row">{stat}</th>' in html
    assert html.count("<svg") == 3 and html.count("<title") == 3 and html.count("<desc") == 3
    assert "Measured on CPU." in html and "Latency budget" in html and "PASS" in html
    assert "Pipeline efficiency" in html and lat["environment"]["cpu_model"] in html
    assert "not available on this device" in html  # the GPU-only variant and the GPU row
    assert not re.search(r"\bnan\b|\bNone\b", html)


def test_numbers_printed_are_the_numbers_in_results(bench_run, fake_results):
    _, lat = bench_run
    from valkit.report.sections.performance import ms

    html = _render(lat, fake_results)
    p95 = lat["end_to_end"]["latency_ms"]["p95"]["value"]
    assert f'<td class="num">{ms(p95)}</td>' in html


def test_figures_escape_text_and_mark_the_knee():
    svg = throughput_svg([1, 8, 32], [10.0, 70.0, 90.0], knee=32)
    assert "knee: 90 images/s" in svg and "Knee at batch size 32" in svg
    assert "&lt;b&gt;" in histogram_svg([0.0, 1.0], [3], title="<b>", unit="ms")


def test_section_reads_as_words(bench_run, fake_results):
    """No raw variant keys (channels_last), no unexplained abbreviations (valkit.report.wording)."""
    from valkit.report.render import render_html
    from valkit.report.wording import wording_problems

    _, lat = bench_run
    results = {**fake_results, "latency": lat}
    page = render_html(results, results_sha256="0" * 64)
    problems = [p for p in wording_problems(page, results) if p.startswith("section 'Computational performance'")]
    assert not problems, "\n".join(problems)


# A renamed or missing key deep inside `latency` fails where results.json is read, naming its path,
# instead of printing "—" in the section (issue #12 item 4).
@pytest.mark.parametrize("path, rename", [
    (("end_to_end", "stages", 0), ("mean_ms", "mean")),
    (("model_only", "batches", 0), ("throughput_images_per_s", "images_per_s")),
    (("environment",), ("gpu_name", "gpu")),
    (("pipeline",), ("pipeline_efficiency", "efficiency")),
    (("end_to_end", "latency_ms", "p95"), ("ci_high", "ci_upper")),
])
def test_a_renamed_latency_key_fails_loudly_naming_its_path(bench_run, fake_results, path, rename):
    _, lat = bench_run
    lat = copy.deepcopy(lat)
    part = lat
    for key in path:
        part = part[key]
    old, new = rename
    part[new] = part.pop(old)
    with pytest.raises(ResultsSchemaError) as err:
        build_context({**fake_results, "latency": lat}, results_sha256="0" * 64, sections=(SECTION,))
    where = key_path(("latency", *path))  # e.g. latency.end_to_end.stages[0]
    # a batch record is measured or skipped/failed: its path names the kind (batches[0].measured.<key>)
    found = {(k.replace(".measured.", "."), msg.split(" ")[0]) for k, msg in err.value.problems}
    assert found == {(f"{where}.{old}", "missing"), (f"{where}.{new}", "unknown")}
    assert f"{old}: missing (required key)" in str(err.value)


def test_a_missing_measurement_table_fails_loudly(bench_run, fake_results):
    _, lat = bench_run
    lat = {k: v for k, v in lat.items() if k != "end_to_end"}
    with pytest.raises(ResultsSchemaError, match=r"latency\.end_to_end"):
        build_context({**fake_results, "latency": lat}, results_sha256="0" * 64, sections=(SECTION,))


def test_the_typed_latency_tables_refuse_an_undeclared_field(bench_run, fake_results):
    """The latency tables declare their fields: a read of one the schema lacks is an error, not a blank."""
    _, lat = bench_run
    env = validate_results({**fake_results, "latency": lat}).latency.environment
    assert env.cpu_model == lat["environment"]["cpu_model"]
    with pytest.raises(AttributeError, match="gpu"):
        env.gpu  # noqa: B018 (the read is the test)


def _as_on_a_gpu(lat: dict) -> dict:
    """The CPU bench block with what a CUDA run writes instead (valkit.latency.environment, model_bench):
    GPU fields filled, CUDA-event timer, peak GPU memory, one batch size failed (out of memory), one
    skipped, a decoder plugin that failed. No GPU is needed to check that the schema and section take it."""
    lat = copy.deepcopy(lat)
    lat["device"], lat["measured_on_cpu"] = "cuda:0", False
    lat["environment"].update(device="cuda:0", device_type="cuda", cuda="12.4", cudnn=90100, gpu_name="NVIDIA H200",
                              gpu_driver="550.54.15", gpu_memory_bytes=150_000_000_000, gpu_compute_capability="9.0")
    measured = lat["model_only"]["batches"][0]
    measured.update(timer="cuda_events", peak_gpu_memory_bytes=2 * 2**30, host_rss_scope="process_lifetime")
    lat["model_only"]["batches"] += [
        {"batch_size": 512, "status": "failed", "reason": "OutOfMemoryError: CUDA out of memory"},
        {"batch_size": 1024, "status": "skipped", "reason": "one call would take about 12.0 s"},
    ]
    lat["decoders"]["1.2.840.10008.1.2.5"]["plugins"]["gdcm"] = {"median_ms": None, "identical": False,
                                                                 "error": "RuntimeError: cannot decode"}
    return lat


def test_a_cuda_run_validates_and_prints_the_gpu_and_the_batches_not_measured(bench_run, fake_results):
    _, lat = bench_run
    gpu = _as_on_a_gpu(lat)
    typed = validate_results({**fake_results, "latency": gpu}).latency
    assert typed.environment.cudnn == 90100 and typed.model_only.batches[0].peak_gpu_memory_bytes == 2 * 2**30
    html = _render(gpu, fake_results)
    assert "NVIDIA H200" in html and "550.54.15 / 12.4 / 90100" in html and "2048 MiB" in html
    assert "failed: OutOfMemoryError: CUDA out of memory" in html and "skipped: one call would take" in html
    assert "gdcm not estimable ms (output differs: not used)" in html
    assert "Measured on CPU." not in html


def test_a_cuda_only_field_given_a_wrong_type_is_refused(bench_run, fake_results):
    """CUDA-only fields are Optional, not free: a GPU memory size must be a number of bytes."""
    _, lat = bench_run
    gpu = _as_on_a_gpu(lat)
    gpu["environment"]["gpu_memory_bytes"] = "141 GB"
    with pytest.raises(ResultsSchemaError, match=r"latency\.environment\.gpu_memory_bytes"):
        validate_results({**fake_results, "latency": gpu})
