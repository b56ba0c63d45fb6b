"""results.json ``latency``: every measurement of the benchmark, the budget verdict, the caveats.

:func:`latency_section` is what the pipeline (and ``valkit bench``) calls with a protocol, its
study table and the model card; :func:`measure_latency` does the work for any
:class:`~valkit.latency.under_test.ModelUnderTest` (the benchmark script uses it for networks
without a card).
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable

import numpy as np
import pandas as pd

from valkit import provenance
from valkit.latency.config import Budget, LatencyOptions, variant_name
from valkit.latency.decoders import choose_decoders, plugin_map, preprocess_with_decoders
from valkit.latency.efficiency import pipeline_efficiency, resolve_parallelism, torch_threads
from valkit.latency.environment import capture_environment
from valkit.latency.model_bench import MeasureSettings, model_only
from valkit.latency.stages import dicom_stages, end_to_end
from valkit.latency.under_test import ModelUnderTest
from valkit.latency.variants import prepare_variant
from valkit.results_schema import validate_block
from valkit.results_schema.latency import Latency

SCHEMA = 1
Log = Callable[[str], None]


def latency_section(loaded: Any, study_table: pd.DataFrame, card_path: Any, *,
                    options: LatencyOptions | None = None, log: Log | None = None) -> Latency:
    """Measure the protocol's model on its own studies; the results.json ``latency`` block, validated here.

    ``options`` defaults to the protocol's ``latency`` block, or the defaults when it has none.
    The device, batch size and worker count come from the protocol's ``inference`` block.
    """
    from valkit.predictor import load_predictor

    p = loaded.protocol
    opts = options or getattr(p, "latency", None) or LatencyOptions()
    seed = opts.seed if opts.seed is not None else p.analysis.seed
    predictor = load_predictor(card_path, device=p.inference.device)
    model = ModelUnderTest.from_predictor(predictor)
    return validate_block(Latency, measure_latency(model, study_table, opts, seed=seed,
                                                   protocol_workers=p.inference.num_workers,
                                                   protocol_batch_size=p.inference.batch_size, log=log),
                          path="latency")


def _pick_studies(table: pd.DataFrame, n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (case_id, path) pairs drawn without replacement with ``seed``, cycled if the table is shorter."""
    order = np.random.default_rng(seed).permutation(len(table))
    rows = table.iloc[order]
    pairs = list(zip(rows["case_id"].astype(str), rows["abs_path"].astype(str)))
    return [pairs[i % len(pairs)] for i in range(n)] if pairs else []


def measure_latency(model: ModelUnderTest, table: pd.DataFrame, opts: LatencyOptions, *, seed: int,
                    protocol_workers: int = 2, protocol_batch_size: int = 16, log: Log | None = None) -> dict[str, Any]:
    """Run every measurement of :mod:`valkit.latency` for ``model`` on the studies in ``table``.

    ``table`` needs ``case_id`` and ``abs_path`` (and ``sha256`` if the files should be verified
    in the throughput runs, as the runner does).
    """
    import torch

    say = log or (lambda _msg: None)
    if table.empty:
        from valkit.errors import InputError

        raise InputError("latency: the study table has no rows; there is nothing to time.")
    started, t0 = provenance.utc_now(), time.perf_counter()
    device = torch.device(model.device)
    env = capture_environment(device)
    settings = MeasureSettings.from_options(opts, seed=seed)
    studies = _pick_studies(table, opts.studies + opts.warmup_studies, seed)

    say("choosing pixel decoders")
    decoders = choose_decoders([p for _, p in studies[:64]]) if opts.choose_decoder else {}
    plugins = plugin_map(decoders)

    with torch_threads(opts.torch_threads):
        say(f"model-only latency, batch sizes {opts.batch_sizes} ({model.deployed_variant})")
        model_curve = model_only(model.network, model.input_shape, device, variant=model.deployed_variant,
                                 batch_sizes=opts.batch_sizes, settings=settings, seed=seed,
                                 torch_variants=model.torch_variants)
        variants = []
        for v in opts.variants:
            say(f"variant {v}")
            variants.append(model_only(model.network, model.input_shape, device, variant=v,
                                       batch_sizes=opts.variant_batch_sizes, settings=settings, seed=seed,
                                       torch_variants=model.torch_variants))
        say(f"end-to-end latency, {opts.studies} studies one at a time")
        e2e = _end_to_end(model, studies, plugins, opts, settings)
    batch = opts.efficiency_batch_size or protocol_batch_size
    par = resolve_parallelism(device.type, num_workers=opts.num_workers, threads=opts.torch_threads,
                              protocol_workers=protocol_workers)
    say(f"pipeline efficiency at batch {batch}, {par['num_workers']} workers, {par['torch_threads']} model threads")
    pipeline = pipeline_efficiency(model, table, plugins=plugins, batch_size=batch, num_workers=par["num_workers"],
                                   threads=par["torch_threads"], n_images=opts.efficiency_studies,
                                   repeats=opts.efficiency_repeats, min_seconds=max(0.5, min(opts.min_seconds, 3.0)),
                                   max_seconds=opts.max_seconds)
    pipeline["parallelism_rule"] = par["rule"]
    pipeline["decoders"] = plugins
    budget = judge_budget(opts.budget, e2e, model_curve) if opts.budget is not None else None
    out = {
        "schema": SCHEMA,
        "device": str(device),
        "measured_on_cpu": device.type != "cuda",
        "environment": env,
        "model": model.describe(),
        "options": opts.model_dump(mode="json"),
        "seed": seed,
        "decoders": decoders,
        "model_only": model_curve,
        "variants": variants,
        "end_to_end": e2e,
        "pipeline": pipeline,
        "budget": budget,
        "verdict": budget["verdict"] if budget else None,
        "load_average_1m_after": capture_environment(device)["load_average_1m"],
        "started_utc": started,
        "finished_utc": provenance.utc_now(),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    out["caveats"] = caveats(out)
    return out


def _end_to_end(model: ModelUnderTest, studies: list[tuple[str, str]], plugins: dict[str, str],
                opts: LatencyOptions, settings: MeasureSettings) -> dict[str, Any]:
    import torch

    example = torch.zeros((1, *model.input_shape), device=model.device)
    prepared = prepare_variant(model.network, model.deployed_variant, model.device, example)
    stages, sync = dicom_stages(prepared.forward, model.device, model.spec, plugins,
                                prepare_input=prepared.prepare_input, output=model.output)
    result = end_to_end(studies, stages, warmup=opts.warmup_studies, sync=sync,
                        summarize_ms=settings.summary_ms, bins=settings.bins)
    result["variant"] = model.deployed_variant
    result["torch_threads"] = torch.get_num_threads()
    scores = result.pop("_scores")
    result["predictor_check"] = _predictor_check(model, studies, scores, plugins)
    return result


def _predictor_check(model: ModelUnderTest, studies: list[tuple[str, str]], scores: dict[str, float],
                     plugins: dict[str, str], n: int = 3) -> dict[str, Any]:
    """The timed stages must compute what the validated predictor computes: compare a few scores."""
    paths = dict(studies)
    diffs = []
    for case_id in list(scores)[:n]:
        x = preprocess_with_decoders(paths[case_id], model.spec, plugins)
        diffs.append(abs(float(model.predict(x[None])[0]) - scores[case_id]))
    tol = 1e-5 if model.deployed_variant == "fp32" else 2e-3  # fp16 batch-1 vs batch-1: rounding only
    worst = max(diffs) if diffs else math.nan
    return {"studies": len(diffs), "max_abs_score_difference": worst, "tolerance": tol,
            "matches": bool(diffs) and worst <= tol}


def judge_budget(budget: Budget, e2e: dict[str, Any], curve: dict[str, Any]) -> dict[str, Any]:
    """PASS when the chosen percentile (its CI upper bound by default) is within ``max_ms``.

    Examples
    --------
    >>> b = Budget(max_ms=500)
    >>> e2e = {"latency_ms": {"p95": {"value": 120.0, "ci_low": 110.0, "ci_high": 131.0}}}
    >>> judge_budget(b, e2e, {})["verdict"]
    'PASS'
    >>> judge_budget(Budget(max_ms=125), e2e, {})["verdict"]
    'FAIL'
    """
    key = f"p{budget.percentile}"
    where = "end-to-end per study" if budget.metric == "end_to_end" else f"model-only at batch {budget.batch_size}"
    summary = None
    if budget.metric == "end_to_end":
        summary = e2e.get("latency_ms")
    else:
        for rec in curve.get("batches", []):
            if rec.get("batch_size") == budget.batch_size and rec.get("status") == "measured":
                summary = rec["latency_ms"]
    out: dict[str, Any] = {**budget.model_dump(mode="json"), "measured": where}
    if not summary or key not in summary:
        return {**out, "estimate_ms": None, "ci_low_ms": None, "ci_high_ms": None, "judged_value_ms": None,
                "verdict": "FAIL", "statement": f"{key} {where} was not measured (batch size not in batch_sizes, "
                                                f"or it was skipped); the budget cannot be shown to be met: FAIL"}
    est = summary[key]
    value, low, high = (_num(est.get(k)) for k in ("value", "ci_low", "ci_high"))
    judged = high if budget.judged_on == "ci_upper" else value
    ok = judged is not None and judged <= budget.max_ms
    verdict = "PASS" if ok else "FAIL"
    basis = "upper 95% confidence bound" if budget.judged_on == "ci_upper" else "point estimate"
    if judged is None:
        text = (f"{key} {where}: {_fmt(value)} ms, but its upper confidence bound is not estimable from "
                f"{summary.get('n')} samples; the budget of {budget.max_ms:g} ms cannot be shown to be met: FAIL")
    else:
        text = (f"{key} {where}: {_fmt(value)} ms (CI {_fmt(low)}–{_fmt(high)} ms); {basis} "
                f"{'≤' if ok else '>'} {budget.max_ms:g} ms: {verdict}")
    return {**out, "estimate_ms": value, "ci_low_ms": low, "ci_high_ms": high, "judged_value_ms": judged,
            "verdict": verdict, "statement": text}


def _num(v: Any) -> float | None:
    return float(v) if v is not None and isinstance(v, (int, float)) and math.isfinite(v) else None


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def caveats(result: dict[str, Any]) -> list[str]:
    """Plain-language limits of these numbers, printed with them in the report."""
    env = result["environment"]
    out = []
    if result["measured_on_cpu"]:
        out.append(
            f"Measured on CPU only ({env['cpu_model']}, {env['cpu_affinity']} usable cores); no GPU was used "
            f"(GPU: {env['gpu_name']}). Model latency on a deployment GPU will differ, usually by an order of "
            "magnitude for large networks; file reading, decoding and preprocessing run on the CPU in both cases."
        )
    load = env.get("load_average_1m")
    cores = env.get("cpu_affinity") or env.get("cpu_count") or 1
    if load is not None and load > 0.5 * cores:
        out.append(
            f"The machine was shared: the 1-minute load average was {load:g} on {cores} cores at the start "
            f"(and {result.get('load_average_1m_after')} at the end). Timings include contention from other "
            "processes and are slower and noisier than on a dedicated machine."
        )
    out.append("Files were read through the operating system's page cache; reading from a PACS or network share "
               "adds time that is not measured here.")
    missing = [v["variant"] for v in result.get("variants", []) if not v.get("available")]
    if missing:
        out.append("Variants not measured on this device: " + ", ".join(variant_name(v) for v in missing) + ".")
    check = result.get("end_to_end", {}).get("predictor_check", {})
    if check and not check.get("matches"):
        out.append("The stage-timed pipeline's scores did not match the validated predictor's within tolerance; "
                   "treat the end-to-end figures with caution.")
    return out
