"""`valkit bench RUN_OR_PROTOCOL`: latency and throughput of the protocol's model on its studies.

Writes ``<run>/latency.json``; when the run directory already holds a ``results.json`` made
from the same protocol (same sha256) its ``latency`` key is filled in too, so that
``valkit report RUN`` shows the "Computational performance" section. Exit code 1 when the
protocol's latency budget fails.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from valkit.commands import add_quiet, progress_of

# Short settings for a smoke run: clearly marked in the output as not the protocol's own.
QUICK = {
    "batch_sizes": [1, 8], "warmup_iterations": 3, "min_iterations": 20, "max_iterations": 200,
    "min_seconds": 0.2, "max_seconds": 10.0, "studies": 20, "warmup_studies": 2, "variant_batch_sizes": [1],
    "efficiency_studies": 32, "efficiency_repeats": 1,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="measure latency and throughput of a protocol's model on its DICOM studies",
        description="Model-only latency at each batch size and variant, per-study end-to-end latency by stage, "
                    "pipeline efficiency, and the protocol's latency budget. Exit code: 0 ok (or no budget), "
                    "1 the latency budget failed, 2 invalid input, 3 internal error.",
    )
    p.add_argument("target", metavar="RUN_OR_PROTOCOL",
                   help="a protocol YAML (writes runs/<id>/latency.json) or a run directory made by `valkit run`")
    p.add_argument("--runs-dir", default="runs", help="parent folder of run directories (default: runs)")
    p.add_argument("--quick", action="store_true",
                   help="short smoke settings instead of the protocol's (recorded as such in the output)")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from valkit.errors import InputError
    from valkit.latency import LatencyOptions
    from valkit.latency.section import latency_section
    from valkit.protocol import load_protocol
    from valkit.results import read_results, write_json_atomic
    from valkit.study import load_study

    target = Path(args.target)
    results_path: Path | None = None
    if target.is_dir():
        results = read_results(target)
        recorded = results.get("protocol", {})
        protocol_path = Path(recorded.get("path", ""))
        if not protocol_path.is_file():
            raise InputError(f"{target}/results.json: the run's protocol {protocol_path} is not found from here. "
                             "Run `valkit bench` from the folder `valkit run` was started in, or pass the protocol.")
        loaded = load_protocol(protocol_path)
        if loaded.sha256 != recorded.get("sha256"):
            raise InputError(f"{protocol_path}: the protocol changed since the run in {target} (sha256 "
                             f"{loaded.sha256[:12]}… != {str(recorded.get('sha256'))[:12]}…). Benchmark the "
                             "protocol file itself, or re-run it first.")
        run_dir, results_path = target, target / "results.json"
    elif target.is_file():
        loaded = load_protocol(target)
        run_dir = Path(args.runs_dir) / loaded.protocol.id
        if (run_dir / "results.json").is_file():
            existing = read_results(run_dir)
            if existing.get("protocol", {}).get("sha256") == loaded.sha256:
                results_path = run_dir / "results.json"
    else:
        raise InputError(f"{target}: not found. Give a protocol YAML (e.g. protocols/demo.yaml) or a run "
                         "directory (e.g. runs/demo).")
    p = loaded.protocol
    if p.model is None:
        raise InputError(f"{loaded.path}: latency needs a model valkit can run (protocol key 'model'); this "
                         "protocol scores external predictions, which cannot be timed here.")
    options = p.latency or LatencyOptions()
    if args.quick:
        options = options.model_copy(update=QUICK)
    study = load_study(loaded)
    progress = progress_of(args)
    with progress.task("latency"):
        measured = latency_section(loaded, study.table, loaded.resolve(p.model.card), options=options,
                                   log=lambda msg: progress.log(f"bench: {msg}"))
    settings = "quick (--quick): not the protocol's pre-specified settings" if args.quick \
        else ("protocol latency block" if p.latency is not None else "valkit defaults (the protocol has no latency block)")
    quick_caveat = ["Quick smoke settings (--quick) were used, not the protocol's; these figures "
                    "are not pre-specified evidence."] if args.quick else []
    from valkit.results_schema import validate_block
    from valkit.results_schema.latency import Latency

    # the validated block with this command's settings: validated again (a bad key is a bug here)
    section = validate_block(Latency, {**measured.written(), "settings": settings,
                                       "caveats": [*quick_caveat, *measured.caveats]}, path="latency").written()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "latency.json", section)
    print(f"latency: {run_dir / 'latency.json'}")
    if results_path is not None:
        results = read_results(run_dir)
        results["latency"] = section
        write_json_atomic(results_path, results)
        print(f"results: {results_path} (latency section added; `valkit report {run_dir}` re-renders)")
    _print_summary(section)
    return 1 if section.get("verdict") == "FAIL" else 0


def _print_summary(s: dict[str, Any]) -> None:
    e2e = s["end_to_end"]["latency_ms"]
    print(f"device: {s['device']} ({s['environment']['gpu_name'] if s['device'].startswith('cuda') else s['environment']['cpu_model']})")
    print("end-to-end per study (ms): " + ", ".join(
        f"p{p} {e2e[f'p{p}']['value']:.1f}" for p in (50, 90, 95, 99) if e2e.get(f"p{p}", {}).get("value") is not None)
        + f", max {e2e['max']:.1f} (n={e2e['n']})")
    print("stages (mean ms): " + ", ".join(f"{r['name']} {r['mean_ms']:.2f}" for r in s["end_to_end"]["stages"]))
    for rec in s["model_only"]["batches"]:
        if rec["status"] == "measured":
            print(f"model-only batch {rec['batch_size']}: p50 {rec['latency_ms']['p50']['value']:.2f} ms, "
                  f"{rec['throughput_images_per_s']:.1f} images/s")
        else:
            print(f"model-only batch {rec['batch_size']}: {rec['status']} ({rec['reason']})")
    pl = s["pipeline"]
    print(f"pipeline: end-to-end {pl['end_to_end_images_per_s']:.1f} images/s, decode-only "
          f"{pl['decode_only_images_per_s']:.1f}, model-only {pl['model_only_images_per_s']:.1f}; efficiency "
          f"{pl['pipeline_efficiency']:.2f}, bound by {pl['bound_by']}")
    if s.get("budget"):
        print(f"budget: {s['budget']['statement']}")
    for c in s.get("caveats", []):
        print(f"note: {c}")
