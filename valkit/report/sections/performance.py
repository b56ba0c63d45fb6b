"""Report section "Computational performance" (outline §17), from results.json ``latency``.

Reads the typed block (:class:`~valkit.results_schema.latency.Latency`, as every section of
:data:`valkit.report.context.SECTIONS`): every field read is declared by the schema, so a renamed
key fails where results.json is read instead of printing a blank.

Formats what :mod:`valkit.latency` measured: the per-study latency percentiles with their
confidence intervals, the latency histogram, where the time goes (stages), model-only
latency and throughput against batch size with the knee, the variants, the pipeline
efficiency, the hardware, the budget verdict and the caveats (CPU-only, shared machine).
No statistic is computed here; the SVG code only maps given numbers to page coordinates.

>>> svg = histogram_svg([1.0, 2.0, 3.0], [4, 1], title="Latency", unit="ms")
>>> svg.startswith("<svg") and "<title" in svg and "<desc" in svg
True
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from markupsafe import Markup

from valkit.latency.config import VARIANT_WORDS, variant_name
from valkit.report.formatting import NOT_ESTIMABLE, count, warning_text
from valkit.report.svg import ACCENT, INK, RULE, open_svg, text
from valkit.results_schema.latency import (
    Knee,
    Latency,
    LatencyBudgetResult,
    LatencyDecoderChoice,
    MeasuredBatch,
    ModelOnlyCurve,
    Pipeline,
    TimingEstimate,
    TimingSummary,
)

if TYPE_CHECKING:
    from valkit.results_schema import Results

STAGE_LABELS = {"read": "File read + header parse", "decode": "Pixel decode", "preprocess": "Preprocessing",
                "host_to_device": "Host-to-device copy", "forward": "Model forward", "postprocess": "Post-processing"}


def _ok(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def ms(x: Any) -> str:
    """Milliseconds: two decimals below 10 ms, one above.

    >>> ms(0.4567), ms(123.45), ms(None)
    ('0.46', '123.5', 'not estimable')
    """
    if not _ok(x):
        return NOT_ESTIMABLE
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"


def rate(x: Any) -> str:
    """Images per second with three significant figures.

    >>> rate(1234.5), rate(12.345), rate(None)
    ('1234', '12.3', 'not estimable')
    """
    if not _ok(x):
        return NOT_ESTIMABLE
    return f"{x:.0f}" if x >= 100 else f"{x:.3g}"


def mib(x: Any) -> str:
    if not _ok(x):
        return "—"
    return f"{x / 2**20:.0f} MiB"


def _ci(est: TimingEstimate) -> str:
    low, high = est.ci_low, est.ci_high
    if _ok(low) and _ok(high):
        return f"{ms(low)}–{ms(high)}"
    if _ok(low):
        return f"{ms(low)}–not estimable"
    return "not estimable"


def _text(x: Any, missing: str) -> str:
    """``x`` as printed, or ``missing`` where results.json holds ``null`` for it."""
    return missing if x is None else str(x)


def _pct_rows(summary: TimingSummary) -> list[dict[str, str]]:
    rows = []
    for stat, est in (("p50", summary.p50), ("p90", summary.p90), ("p95", summary.p95), ("p99", summary.p99)):
        rows.append({"stat": stat, "value": ms(est.value), "ci": _ci(est),
                     "note": "; ".join(warning_text(w) for w in est.warnings)})
    rows.append({"stat": "mean", "value": ms(summary.mean.value), "ci": _ci(summary.mean), "note": ""})
    rows.append({"stat": "max", "value": ms(summary.max), "ci": "", "note": ""})
    return rows


def _hardware(lat: Latency) -> list[dict[str, str]]:
    env = lat.environment
    rows = [
        ("Device used", lat.device),
        ("GPU", env.gpu_name),
        ("GPU driver / CUDA / cuDNN", f"{_text(env.gpu_driver, '—')} / {_text(env.cuda, '—')} / "
                                      f"{_text(env.cudnn, '—')}"),
        ("GPU memory", mib(env.gpu_memory_bytes)),
        ("CPU", f"{env.cpu_model} ({count(env.cpu_affinity)} usable of {count(env.cpu_count)} logical cores)"),
        ("Host memory", mib(env.host_memory_bytes)),
        ("Operating system / Python", f"{env.os} / {env.python}"),
        ("torch / MONAI / pydicom", f"{env.torch} / {_text(env.monai, 'not installed')} / "
                                    f"{_text(env.pydicom, 'not installed')}"),
        ("torch threads (intra-op / inter-op)", f"{env.torch_num_threads} / {env.torch_num_interop_threads}"),
        ("Load average (1 min) at start / end", f"{_text(env.load_average_1m, 'not available')} / "
                                                f"{_text(lat.load_average_1m_after, 'not available')}"),
        ("Measured (UTC)", f"{lat.started_utc} → {lat.finished_utc}"),
    ]
    return [{"key": k, "value": v} for k, v in rows]


def _batch_rows(curve: ModelOnlyCurve) -> list[dict[str, Any]]:
    out = []
    for b in curve.batches:
        if not isinstance(b, MeasuredBatch):
            out.append({"batch": b.batch_size, "measured": False, "reason": f"{b.status}: {b.reason}"})
            continue
        lat = b.latency_ms
        out.append({
            "batch": b.batch_size, "measured": True, "n": count(b.iterations),
            "p50": ms(lat.p50.value), "p95": ms(lat.p95.value), "p95_ci": _ci(lat.p95), "p99": ms(lat.p99.value),
            "per_image": ms(b.per_image_ms), "throughput": rate(b.throughput_images_per_s),
            "gpu_mem": mib(b.peak_gpu_memory_bytes), "rss": mib(b.peak_host_rss_bytes),
            "stopped_by": b.stopped_by,
        })
    return out


def _variant_rows(variants: list[ModelOnlyCurve]) -> list[dict[str, Any]]:
    rows = []
    for v in variants:
        cfg = v.config
        features = (("channels_last", cfg.channels_last), ("compile", cfg.compile), ("cuda_graphs", cfg.cuda_graphs))
        desc = ", ".join([VARIANT_WORDS[cfg.dtype] + (" with autocast" if cfg.autocast else "")]
                         + [VARIANT_WORDS[k] for k, on in features if on])
        if not v.available:
            rows.append({"name": variant_name(v.variant), "config": desc, "measured": False,
                         "reason": _text(v.reason, "")})
            continue
        for r in _batch_rows(v):
            rows.append({"name": variant_name(v.variant), "config": desc, **r})
    return rows


def _stage_label(name: str) -> str:
    return STAGE_LABELS.get(name, name)


def _budget(budget: LatencyBudgetResult | None) -> dict[str, str] | None:
    if budget is None:
        return None
    basis = "upper confidence bound" if budget.judged_on == "ci_upper" else "point estimate"
    return {"statement": budget.statement, "verdict": budget.verdict,
            "verdict_class": {"PASS": "pass", "FAIL": "fail"}[budget.verdict],
            "rule": f"p{budget.percentile} {budget.measured} ≤ {budget.max_ms:g} ms, judged on the {basis}"}


def _knee(knee: Knee) -> dict[str, Any] | None:
    if knee.batch_size is None:
        return None
    return {"batch": knee.batch_size, "rate": rate(knee.throughput), "peak_batch": knee.peak_batch_size,
            "peak_rate": rate(knee.peak_throughput),
            "fraction": f"{knee.fraction * 100:.0f}%" if _ok(knee.fraction) else "most"}


def _pipeline(pipe: Pipeline) -> dict[str, Any]:
    repeated = pipe.repeats > 1
    return {
        "batch": pipe.batch_size, "workers": pipe.num_workers, "threads": pipe.torch_threads,
        "e2e": rate(pipe.end_to_end_images_per_s), "decode": rate(pipe.decode_only_images_per_s),
        "model": rate(pipe.model_only_images_per_s),
        "efficiency": f"{pipe.pipeline_efficiency:.2f}" if _ok(pipe.pipeline_efficiency) else "—",
        "bound_by": pipe.bound_by, "serial": rate(pipe.serial_bound_images_per_s),
        "rule": pipe.parallelism_rule,
        "statistic": f"{pipe.statistic} of {pipe.repeats}" if repeated else "a single run",
        "median_efficiency": f"{pipe.pipeline_efficiency_median:.2f}"
        if repeated and _ok(pipe.pipeline_efficiency_median) else "",
    }


def _decoders(decoders: dict[str, LatencyDecoderChoice] | None) -> list[dict[str, str]]:
    if decoders is None:
        return []
    return [{"syntax": d.name, "chosen": _text(d.chosen, "none available"),
             "timings": ", ".join(f"{k} {ms(v.median_ms)} ms" + ("" if v.identical else " (output differs: not used)")
                                  for k, v in d.plugins.items()) or d.reason}
            for d in decoders.values()]


def computational_performance(results: Results, doc: dict) -> dict | None:
    """The section's context from the typed ``latency`` block (:class:`~valkit.results_schema.latency.Latency`)."""
    lat = results.latency
    if lat is None:
        return None
    e2e = lat.end_to_end
    summary = e2e.latency_ms
    curve = lat.model_only
    measured = [b for b in curve.batches if isinstance(b, MeasuredBatch)]
    hist = e2e.histogram_ms
    stages = e2e.stages
    model = lat.model
    method = summary.p50.method
    return {
        "device": lat.device,
        "on_cpu": lat.measured_on_cpu,
        "caveats": list(lat.caveats),
        "model": f"{model.name}, input {' × '.join(map(str, model.input_shape))}, "
                 f"{count(model.parameters)} parameters, executed as {model.deployed_variant}",
        "budget": _budget(lat.budget),
        "e2e_rows": _pct_rows(summary),
        "e2e_n": count(e2e.n_studies),
        "e2e_warmup": count(e2e.warmup_studies),
        "e2e_failed": count(e2e.n_failed),
        "ci_method": "" if method is None else method.replace("_", "-"),
        "e2e_rate": rate(e2e.studies_per_s_serial),
        "histogram": _svg(histogram_svg(hist.edges, hist.counts, title="End-to-end latency per study", unit="ms"))
        if hist.counts else None,
        "stage_rows": [{"name": _stage_label(s.name), "mean": ms(s.mean_ms), "p50": ms(s.p50_ms), "p95": ms(s.p95_ms),
                        "share": f"{s.share_of_total * 100:.1f}%" if _ok(s.share_of_total) else "—"}
                       for s in stages],
        "stage_svg": _svg(stage_svg([_stage_label(s.name) for s in stages], [s.mean_ms for s in stages]))
        if stages else None,
        "unattributed": ms(e2e.unattributed_ms.mean),
        "slowest_stage": "—" if e2e.slowest_stage is None else _stage_label(e2e.slowest_stage),
        "batch_rows": _batch_rows(curve),
        "variant": curve.variant,
        "throughput_svg": _svg(throughput_svg([b.batch_size for b in measured],
                                              [b.throughput_images_per_s for b in measured],
                                              knee=curve.knee.batch_size)) if measured else None,
        "knee": _knee(curve.knee),
        "variant_rows": _variant_rows(lat.variants),
        "pipeline": _pipeline(lat.pipeline),
        "decoders": _decoders(lat.decoders),
        "hardware": _hardware(lat),
        "settings": _text(lat.settings, ""),
    }


# ------------------------------------------------------------------------------ figures
def _svg(text: str) -> Markup:
    # built here with every piece of text XML-escaped (see _e), so it is safe to insert as is
    return Markup(text)


def _open(w: int, h: int, title: str, desc: str, kind: str) -> list[str]:
    return open_svg(w, h, title, desc, kind, font_size=10)


def _t(x: float, y: float, s: Any, anchor: str = "middle", extra: str = "") -> str:
    return text(x, y, s, anchor=anchor, extra=extra)


def histogram_svg(edges: Sequence[float], counts: Sequence[int], *, title: str, unit: str,
                  width: int = 560, height: int = 220) -> str:
    """Bars of ``counts`` between ``edges`` (as binned in results.json)."""
    left, right, top, bottom = 46, 12, 12, 40
    w, h = width - left - right, height - top - bottom
    n = sum(counts)
    lo, hi = (edges[0], edges[-1]) if edges else (0.0, 1.0)
    span = (hi - lo) or 1.0
    cmax = max(counts) if counts else 1
    desc = (f"Histogram of {n} latencies from {ms(lo)} to {ms(hi)} {unit} in {len(counts)} bins; "
            f"the tallest bin holds {cmax}.")
    out = _open(width, height, title, desc, "latency-hist")
    out.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="{INK}"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="{INK}"/>')
    for i, c in enumerate(counts):
        x0 = left + (edges[i] - lo) / span * w
        x1 = left + (edges[i + 1] - lo) / span * w
        bh = c / cmax * h if cmax else 0
        out.append(f'<rect x="{x0:.1f}" y="{top + h - bh:.1f}" width="{max(x1 - x0 - 0.5, 0.5):.1f}" '
                   f'height="{bh:.1f}" fill="{ACCENT}"/>')
    for frac in (0, 0.5, 1):
        x = left + frac * w
        out.append(_t(x, top + h + 13, ms(lo + frac * span)))
    out.append(_t(left + w / 2, height - 6, f"latency ({unit})"))
    out.append(_t(left - 6, top + 8, str(cmax), anchor="end"))
    out.append(_t(left - 6, top + h, "0", anchor="end"))
    out.append(_t(12, top + h / 2, "studies", extra=f' transform="rotate(-90 12 {top + h / 2:.1f})"'))
    out.append("</svg>")
    return "".join(out)


def throughput_svg(batches: Sequence[int], rates: Sequence[float | None], *, knee: int | None,
                   width: int = 560, height: int = 230) -> str:
    """Throughput (images/s) against batch size on a log2 axis, the knee marked."""
    left, right, top, bottom = 56, 16, 14, 42
    w, h = width - left - right, height - top - bottom
    pts = [(b, r) for b, r in zip(batches, rates) if _ok(r) and b > 0]
    if not pts:
        pts = [(1, 0.0)]
    lb = [math.log2(b) for b, _ in pts]
    bmin, bmax = min(lb), max(lb)
    bspan = (bmax - bmin) or 1.0
    rmax = max(r for _, r in pts) or 1.0

    def xy(b: int, r: float) -> tuple[float, float]:
        return left + (math.log2(b) - bmin) / bspan * w, top + h - r / (rmax * 1.1) * h

    desc = "Model-only throughput by batch size: " + "; ".join(f"batch {b}: {rate(r)} images/s" for b, r in pts)
    if knee is not None:
        desc += f". Knee at batch size {knee}."
    out = _open(width, height, "Throughput against batch size", desc, "throughput")
    out.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="{INK}"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="{INK}"/>')
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(xy(b, r) for b, r in pts))
    out.append(f'<path d="{path}" fill="none" stroke="{ACCENT}" stroke-width="1.5"/>')
    for b, r in pts:
        x, y = xy(b, r)
        is_knee = b == knee
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{4.5 if is_knee else 3}" '
                   f'fill="{"#ffffff" if is_knee else ACCENT}" stroke="{ACCENT}" stroke-width="1.5"/>')
        out.append(_t(x, top + h + 13, str(b)))
        if is_knee:
            anchor = "end" if x > left + 0.8 * w else ("start" if x < left + 0.2 * w else "middle")
            out.append(_t(x, y - 8, f"knee: {rate(r)} images/s", anchor=anchor))
    out.append(_t(left + w / 2, height - 6, "batch size (log scale)"))
    out.append(_t(left - 6, top + 8, rate(rmax * 1.1), anchor="end"))
    out.append(_t(left - 6, top + h, "0", anchor="end"))
    out.append(_t(12, top + h / 2, "images/s", extra=f' transform="rotate(-90 12 {top + h / 2:.1f})"'))
    out.append("</svg>")
    return "".join(out)


def stage_svg(labels: Sequence[str], means: Sequence[float | None], *, width: int = 560) -> str:
    """Horizontal bars: mean milliseconds per stage of one study."""
    left, right, top, row = 170, 70, 8, 20
    height = top * 2 + row * len(labels)
    vals = [v if _ok(v) else 0.0 for v in means]
    vmax = max(vals) if vals and max(vals) > 0 else 1.0
    w = width - left - right
    desc = "Mean time per stage of one study: " + "; ".join(f"{lab} {ms(v)} ms" for lab, v in zip(labels, means))
    out = _open(width, height, "Where the time goes", desc, "stages")
    for i, (lab, v) in enumerate(zip(labels, vals)):
        y = top + i * row
        out.append(_t(left - 6, y + 13, lab, anchor="end"))
        bw = v / vmax * w
        out.append(f'<rect x="{left}" y="{y + 3}" width="{max(bw, 0.5):.1f}" height="{row - 6}" fill="{ACCENT}"/>')
        out.append(_t(left + bw + 4, y + 13, f"{ms(v)} ms", anchor="start"))
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - top}" stroke="{RULE}"/>')
    out.append("</svg>")
    return "".join(out)


__all__ = ["computational_performance", "histogram_svg", "throughput_svg", "stage_svg"]
