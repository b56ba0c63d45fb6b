"""Report section "Computational performance" (outline §17), from results.json ``latency``.

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
from typing import Any, Sequence

from markupsafe import Markup

from valkit.latency.config import VARIANT_WORDS, variant_name
from valkit.report.formatting import NOT_ESTIMABLE, count, warning_text
from valkit.report.svg import ACCENT, INK, RULE, open_svg, text

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


def _ci(est: dict | None) -> str:
    est = est or {}
    low, high = est.get("ci_low"), est.get("ci_high")
    if _ok(low) and _ok(high):
        return f"{ms(low)}–{ms(high)}"
    if _ok(low):
        return f"{ms(low)}–not estimable"
    return "not estimable"


def _pct_rows(summary: dict) -> list[dict[str, str]]:
    rows = []
    for p in (50, 90, 95, 99):
        est = summary.get(f"p{p}") or {}
        rows.append({"stat": f"p{p}", "value": ms(est.get("value")), "ci": _ci(est),
                     "note": "; ".join(warning_text(w) for w in est.get("warnings") or [])})
    mean = summary.get("mean") or {}
    rows.append({"stat": "mean", "value": ms(mean.get("value")), "ci": _ci(mean), "note": ""})
    rows.append({"stat": "max", "value": ms(summary.get("max")), "ci": "", "note": ""})
    return rows


def _hardware(lat: dict) -> list[dict[str, str]]:
    env = lat.get("environment") or {}
    gpu = env.get("gpu_name") or "not available on this device"
    rows = [
        ("Device used", lat.get("device", "")),
        ("GPU", gpu),
        ("GPU driver / CUDA / cuDNN", f"{env.get('gpu_driver') or '—'} / {env.get('cuda') or '—'} / "
                                      f"{env.get('cudnn') or '—'}"),
        ("GPU memory", mib(env.get("gpu_memory_bytes"))),
        ("CPU", f"{env.get('cpu_model', '')} ({count(env.get('cpu_affinity'))} usable of "
                f"{count(env.get('cpu_count'))} logical cores)"),
        ("Host memory", mib(env.get("host_memory_bytes"))),
        ("Operating system / Python", f"{env.get('os', '')} / {env.get('python', '')}"),
        ("torch / MONAI / pydicom", f"{env.get('torch', '')} / {env.get('monai', '')} / {env.get('pydicom', '')}"),
        ("torch threads (intra-op / inter-op)", f"{env.get('torch_num_threads')} / "
                                                f"{env.get('torch_num_interop_threads')}"),
        ("Load average (1 min) at start / end", f"{env.get('load_average_1m')} / {lat.get('load_average_1m_after')}"),
        ("Measured (UTC)", f"{lat.get('started_utc', '')} → {lat.get('finished_utc', '')}"),
    ]
    return [{"key": k, "value": v} for k, v in rows]


def _batch_rows(curve: dict) -> list[dict[str, Any]]:
    out = []
    for b in curve.get("batches") or []:
        if b.get("status") != "measured":
            out.append({"batch": b.get("batch_size"), "measured": False, "reason": f"{b.get('status')}: "
                                                                                      f"{b.get('reason', '')}"})
            continue
        lat = b.get("latency_ms") or {}
        out.append({
            "batch": b.get("batch_size"), "measured": True, "n": count(b.get("iterations")),
            "p50": ms((lat.get("p50") or {}).get("value")), "p95": ms((lat.get("p95") or {}).get("value")),
            "p95_ci": _ci(lat.get("p95")), "p99": ms((lat.get("p99") or {}).get("value")),
            "per_image": ms(b.get("per_image_ms")), "throughput": rate(b.get("throughput_images_per_s")),
            "gpu_mem": mib(b.get("peak_gpu_memory_bytes")), "rss": mib(b.get("peak_host_rss_bytes")),
            "stopped_by": b.get("stopped_by", ""),
        })
    return out


def _variant_rows(variants: list[dict]) -> list[dict[str, Any]]:
    rows = []
    for v in variants:
        cfg = v.get("config") or {}
        desc = ", ".join([VARIANT_WORDS.get(cfg.get("dtype", "fp32"), cfg.get("dtype")) + (" with autocast" if cfg.get("autocast") else "")]
                         + [VARIANT_WORDS[k] for k in ("channels_last", "compile", "cuda_graphs") if cfg.get(k)])
        if not v.get("available"):
            rows.append({"name": variant_name(v.get("variant")), "config": desc, "measured": False, "reason": v.get("reason", "")})
            continue
        for r in _batch_rows(v):
            rows.append({"name": variant_name(v.get("variant")), "config": desc, **r})
    return rows


def computational_performance(results: dict, doc: dict) -> dict | None:
    lat = results.get("latency")
    if not lat:
        return None
    e2e = lat.get("end_to_end") or {}
    summary = e2e.get("latency_ms") or {}
    curve = lat.get("model_only") or {}
    pipe = lat.get("pipeline") or {}
    budget = lat.get("budget")
    measured = [b for b in curve.get("batches") or [] if b.get("status") == "measured"]
    knee = curve.get("knee") or {}
    hist = e2e.get("histogram_ms") or {}
    stages = e2e.get("stages") or []
    model = lat.get("model") or {}
    return {
        "device": lat.get("device", ""),
        "on_cpu": bool(lat.get("measured_on_cpu")),
        "caveats": list(lat.get("caveats") or []),
        "model": f"{model.get('name', '')}, input {' × '.join(map(str, model.get('input_shape') or []))}, "
                 f"{count(model.get('parameters'))} parameters, executed as {model.get('deployed_variant', '')}",
        "budget": None if not budget else {
            "statement": budget.get("statement", ""), "verdict": budget.get("verdict", ""),
            "verdict_class": {"PASS": "pass", "FAIL": "fail"}.get(budget.get("verdict"), "neutral"),
            "rule": f"p{budget.get('percentile')} {budget.get('measured', '')} ≤ {budget.get('max_ms'):g} ms, judged "
                    f"on the {'upper confidence bound' if budget.get('judged_on') == 'ci_upper' else 'point estimate'}",
        },
        "e2e_rows": _pct_rows(summary),
        "e2e_n": count(e2e.get("n_studies")),
        "e2e_warmup": count(e2e.get("warmup_studies")),
        "e2e_failed": count(e2e.get("n_failed")),
        "ci_method": ((summary.get("p50") or {}).get("method") or "").replace("_", "-"),
        "e2e_rate": rate(e2e.get("studies_per_s_serial")),
        "histogram": _svg(histogram_svg(hist.get("edges") or [], hist.get("counts") or [],
                                   title="End-to-end latency per study", unit="ms")) if hist.get("counts") else None,
        "stage_rows": [{"name": STAGE_LABELS.get(s.get("name"), s.get("name")), "mean": ms(s.get("mean_ms")),
                        "p50": ms(s.get("p50_ms")), "p95": ms(s.get("p95_ms")),
                        "share": f"{s['share_of_total'] * 100:.1f}%" if _ok(s.get("share_of_total")) else "—"}
                       for s in stages],
        "stage_svg": _svg(stage_svg([STAGE_LABELS.get(s.get("name"), s.get("name")) for s in stages],
                                    [s.get("mean_ms") for s in stages])) if stages else None,
        "unattributed": ms((e2e.get("unattributed_ms") or {}).get("mean")),
        "slowest_stage": STAGE_LABELS.get(e2e.get("slowest_stage"), e2e.get("slowest_stage") or "—"),
        "batch_rows": _batch_rows(curve),
        "variant": curve.get("variant", ""),
        "throughput_svg": _svg(throughput_svg([b["batch_size"] for b in measured],
                                              [b.get("throughput_images_per_s") for b in measured],
                                              knee=knee.get("batch_size"))) if measured else None,
        "knee": None if knee.get("batch_size") is None else {
            "batch": knee.get("batch_size"), "rate": rate(knee.get("throughput")),
            "peak_batch": knee.get("peak_batch_size"), "peak_rate": rate(knee.get("peak_throughput")),
            "fraction": f"{knee['fraction'] * 100:.0f}%" if _ok(knee.get("fraction")) else "most"},
        "variant_rows": _variant_rows(lat.get("variants") or []),
        "pipeline": None if not pipe else {
            "batch": pipe.get("batch_size"), "workers": pipe.get("num_workers"), "threads": pipe.get("torch_threads"),
            "e2e": rate(pipe.get("end_to_end_images_per_s")), "decode": rate(pipe.get("decode_only_images_per_s")),
            "model": rate(pipe.get("model_only_images_per_s")),
            "efficiency": f"{pipe['pipeline_efficiency']:.2f}" if _ok(pipe.get("pipeline_efficiency")) else "—",
            "bound_by": pipe.get("bound_by", ""), "serial": rate(pipe.get("serial_bound_images_per_s")),
            "rule": pipe.get("parallelism_rule", ""),
            "statistic": f"{pipe.get('statistic', 'single run')} of {pipe.get('repeats', 1)}"
            if (pipe.get("repeats") or 1) > 1 else "a single run",
            "median_efficiency": f"{pipe['pipeline_efficiency_median']:.2f}"
            if (pipe.get("repeats") or 1) > 1 and _ok(pipe.get("pipeline_efficiency_median")) else "",
        },
        "decoders": [{"syntax": d.get("name", uid), "chosen": d.get("chosen") or "none available",
                      "timings": ", ".join(f"{k} {ms(v.get('median_ms'))} ms" + ("" if v.get("identical") else
                                                                                  " (output differs: not used)")
                                           for k, v in (d.get("plugins") or {}).items()) or d.get("reason", "")}
                     for uid, d in (lat.get("decoders") or {}).items()],
        "hardware": _hardware(lat),
        "settings": lat.get("settings", ""),
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
