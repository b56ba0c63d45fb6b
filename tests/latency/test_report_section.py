"""The "Computational performance" report section: formats results.json `latency`, computes nothing."""
from __future__ import annotations

import re

from valkit.report.context import Section, build_context
from valkit.report.render import Captions, environment
from valkit.report.sections.performance import computational_performance, histogram_svg, throughput_svg

SECTION = Section("computational-performance", "Computational performance", "sections/performance.html.j2",
                  computational_performance, requires=("latency",))


def _render(lat):
    s = computational_performance({"latency": lat}, {})
    return environment().get_template("sections/performance.html.j2").render(s=s, doc={}, captions=Captions())


def test_section_is_present_only_with_the_latency_key(bench_run, fake_results):
    _, lat = bench_run
    assert build_context(fake_results, results_sha256="0" * 64, sections=(SECTION,))["sections"] == []
    ctx = build_context({**fake_results, "latency": lat}, results_sha256="0" * 64, sections=(SECTION,))
    assert [s["id"] for s in ctx["sections"]] == ["computational-performance"]


def test_rendered_section_shows_table_figures_hardware_verdict_and_cpu_caveat(bench_run):
    _, lat = bench_run
    html = _render(lat)
    for stat in ("p50", "p90", "p95", "p99", "mean", "max"):
        assert f'<th scope="row">{stat}</th>' in html
    assert html.count("<svg") == 3 and html.count("<title") == 3 and html.count("<desc") == 3
    assert "Measured on CPU." in html and "Latency budget" in html and "PASS" in html
    assert "Pipeline efficiency" in html and lat["environment"]["cpu_model"] in html
    assert "not available on this device" in html  # the GPU-only variant and the GPU row
    assert not re.search(r"\bnan\b|\bNone\b", html)


def test_numbers_printed_are_the_numbers_in_results(bench_run):
    _, lat = bench_run
    from valkit.report.sections.performance import ms

    html = _render(lat)
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
