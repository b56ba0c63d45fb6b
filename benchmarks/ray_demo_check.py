"""The demo study on the Ray executor against the local one: same scores, same results.json numbers.

Runs the demo protocol (``protocols/demo.yaml``, the phantom study of ``make demo``) twice into a
scratch folder, once with ``inference.executor: local`` and once with ``inference.executor: ray``
(a local Ray, ``ray_address: null``), each without the latency benchmark (timings are measurements,
never equal) and without the report. It then compares

* the predictions, case by case: status and reason equal, scores within ``--tol`` (1e-6);
* every value of results.json outside the blocks that record how and when the run happened
  (``provenance``, ``traceability``, ``inference``, timings): counts, texts and verdicts exactly;
  a number derived from the continuous scores (calibration, a gallery case's score) to a relative
  ``--rtol`` (1e-6), since float32 scores from differently sized batches differ in the last bit.

Needs the demo's phantom images (``make demo`` makes them). Prints one JSON line last::

    {"cases": 600, "max_abs_score_diff": 1.2e-07, "status_equal": true, "results_values_compared": 12088,
     "results_values_exactly_equal": 12050, "results_differences": [], "identical": true, "seconds": {...}}

    .venv/bin/python benchmarks/ray_demo_check.py [--out /tmp/ray-demo] [--tol 1e-6] [--rtol 1e-6] [--compare-only]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: results.json blocks that say how, where and when the run happened, not what it found
RUN_RECORD = {"provenance", "traceability", "inference", "deviations", "acceptance", "latency", "protocol",
              "integrity"}  # integrity: digests of this run's own files


def _protocol(out: Path, executor: str) -> Path:
    data = yaml.safe_load((REPO / "protocols" / "demo.yaml").read_text())
    base = REPO / "protocols"
    data["id"] = f"demo-{executor}"
    data["model"]["card"] = str((base / data["model"]["card"]).resolve())
    for ds in data["datasets"]:
        ds["manifest"] = str((base / ds["manifest"]).resolve())
        ds["image_root"] = str((base / ds["image_root"]).resolve())
    rs = data.get("reader_study")
    if rs:
        rs["ratings"] = str((base / rs["ratings"]).resolve())
    data.pop("latency", None)
    data["regulatory"]["pre_registered"] = False
    data["inference"] = {**data.get("inference", {}), "executor": executor}
    if executor == "ray":
        data["inference"]["ray_address"] = None
    path = out / f"demo-{executor}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _numbers(x, path: str = ""):
    """(key path, number or text) for every leaf of a results.json block."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, f"{path}.{k}" if path else k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}[{i}]")
    else:
        yield path, x


#: leaves that are measurements of this run's speed, never equal between two runs
TIMING = ("seconds", "per_second")


def _differences(a: dict, b: dict, rtol: float) -> tuple[int, int, list[str]]:
    """(values compared, values exactly equal, differences beyond ``rtol``)."""
    left = {k: v for k, v in (p for key, val in a.items() if key not in RUN_RECORD for p in _numbers(val, key))
            if not k.endswith(TIMING)}
    right = {k: v for k, v in (p for key, val in b.items() if key not in RUN_RECORD for p in _numbers(val, key))
             if not k.endswith(TIMING)}
    diffs = sorted(k for k in left.keys() ^ right.keys())
    exact = 0
    for k in left.keys() & right.keys():
        x, y = left[k], right[k]
        if x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)):
            exact += 1
        elif not (isinstance(x, float) and isinstance(y, float) and math.isclose(x, y, rel_tol=rtol, abs_tol=1e-12)):
            diffs.append(f"{k}: {x!r} vs {y!r}")
    return len(left), exact, sorted(diffs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/ray-demo"))
    ap.add_argument("--tol", type=float, default=1e-6, help="largest score difference")
    ap.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance of score-derived numbers")
    ap.add_argument("--compare-only", action="store_true", help="compare the two runs already in --out")
    args = ap.parse_args(argv)
    from valkit.cli import main as valkit

    args.out.mkdir(parents=True, exist_ok=True)
    seconds = {}
    for executor in () if args.compare_only else ("local", "ray"):
        protocol = _protocol(args.out, executor)
        t0 = time.perf_counter()
        rc = valkit(["run", str(protocol), "--runs-dir", str(args.out / "runs"), "--no-report", "--quiet"])
        seconds[executor] = round(time.perf_counter() - t0, 1)
        if rc not in (0, 1, 4):
            print(json.dumps({"error": f"valkit run ({executor}) exited {rc}"}))
            return 2
    runs = {e: args.out / "runs" / f"demo-{e}" for e in ("local", "ray")}
    pred = {e: pd.read_parquet(runs[e] / "predictions.parquet").set_index("case_id").sort_index() for e in runs}
    local, ray = pred["local"], pred["ray"]
    status_equal = bool(local.index.equals(ray.index) and (local["status"] == ray["status"]).all())
    max_diff = float((local["score"] - ray["score"]).abs().max())
    n, exact, diffs = _differences(*(json.loads((runs[e] / "results.json").read_text()) for e in ("local", "ray")),
                                   rtol=args.rtol)
    out = {"cases": int(len(local)), "max_abs_score_diff": max_diff, "status_equal": status_equal,
           "results_values_compared": n, "results_values_exactly_equal": exact, "results_differences": diffs[:20],
           "identical": status_equal and max_diff <= args.tol and not diffs, "seconds": seconds}
    print(json.dumps(out))
    return 0 if out["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
