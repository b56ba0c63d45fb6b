"""Scale of a whole run: a synthetic external-scores study through ``valkit run``, end to end.

For each size (default 1e4, 1e5, 1e6 cases) it writes a manifest (1–3 images per patient,
5 subgroup columns: sex, age band, site, manufacturer, ethnicity; 4 sites), a vendor scores
file and a protocol (2000 bootstrap resamples, patient clustering ``auto``), then runs
``valkit run`` in a child process and records its wall time and peak resident memory
(``ru_maxrss`` of the child, from ``os.wait4``). Report rendering is included unless
``--no-report`` is given (the JSON says which).

Prints one JSON line per size as it finishes, then the summary as the last line::

    {"sizes": [{"cases": 10000, "seconds": ..., "peak_rss_mb": ...}, ...],
     "seconds_per_1e6_cases": ..., "report": true, "load_average_1m": [...], "cpu_count": 2}

``seconds_per_1e6_cases`` is the largest size's seconds scaled to a million cases.

    .venv/bin/python benchmarks/scale_bench.py [--sizes 10000,100000,1000000] [--no-report]
        [--resamples 2000] [--workdir DIR] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SITES = ("Site A", "Site B", "Site C", "Site D")
MANUFACTURERS = ("Acme", "Cobalt", "Zenith")
ETHNICITIES = ("Asian", "Black", "Hispanic", "White", "Other")

PROTOCOL = """\
id: scale
version: "1.0"
title: Scale benchmark (synthetic external scores)
intended_use: Benchmark only.
regulatory:
  targets: [FDA]
  document_id: VK-SCALE-001
  revision: A
datasets:
  - manifest: manifest.csv
reference_standard:
  column: label
  description: synthetic
operating_point:
  source: model_card
endpoints:
  - {{id: sensitivity, metric: sensitivity, ci: wilson, goal: 0.70}}
  - {{id: specificity, metric: specificity, ci: wilson, goal: 0.70}}
  - {{id: auc, metric: auc, ci: delong, goal: 0.75, primary: false}}
subgroups:
  columns: [sex, age_band, site, manufacturer, ethnicity]
  age_bands: [18, 40, 60, 80, 120]
  intersections: [[sex, age_band], [site, manufacturer]]
  min_positives: 5
  min_negatives: 5
analysis:
  seed: 20261122
  bootstrap_resamples: {resamples}
report:
  formats: [{formats}]
predictions:
  path: scores.csv
  model_name: Vendor X
  model_version: "1"
  threshold: 0.5
"""


def make_study(folder: Path, n_cases: int, *, resamples: int, report_formats: str, seed: int = 0) -> None:
    """Manifest, scores and protocol of ``n_cases`` images (1–3 per patient) in ``folder``."""
    rng = np.random.default_rng(seed)
    per_patient = rng.integers(1, 4, size=n_cases)  # more than enough patients
    patient_of = np.repeat(np.arange(n_cases), per_patient)[:n_cases]
    n_pat = int(patient_of[-1]) + 1
    # patient-level attributes, image-level site/manufacturer follow the patient
    sex = rng.choice(np.array(["F", "M"]), n_pat)
    age = np.round(rng.uniform(18, 95, n_pat), 1)
    eth = rng.choice(np.array(ETHNICITIES), n_pat)
    site = rng.integers(0, len(SITES), n_pat)
    manu = (site + rng.integers(0, 2, n_pat)) % len(MANUFACTURERS)
    diseased = rng.random(n_pat) < 0.3
    label = (diseased[patient_of] & (rng.random(n_cases) < 0.9)).astype(int)
    score = np.clip(rng.normal(0.3 + 0.35 * label, 0.18), 0, 1)
    ids = np.char.add("C", np.arange(n_cases).astype(str))
    man = pd.DataFrame({
        "case_id": ids, "patient_id": np.char.add("P", patient_of.astype(str)), "study_uid": "",
        "path": np.char.add(np.char.add("img/", ids), ".dcm"), "sha256": "", "label": label,
        "site": np.array(SITES)[site][patient_of], "manufacturer": np.array(MANUFACTURERS)[manu][patient_of],
        "model": np.char.add(np.array(MANUFACTURERS)[manu][patient_of], " X1"),
        "sex": sex[patient_of], "age": age[patient_of], "ethnicity": eth[patient_of],
    })
    folder.mkdir(parents=True, exist_ok=True)
    man.to_csv(folder / "manifest.csv", index=False)
    pd.DataFrame({"case_id": ids, "score": score}).to_csv(folder / "scores.csv", index=False)
    (folder / "scale.yaml").write_text(PROTOCOL.format(resamples=resamples, formats=report_formats))


def run_valkit(folder: Path, *, report: bool) -> tuple[float, float, float, int, str]:
    """(seconds, CPU seconds, peak RSS MB, exit code, output tail) of ``valkit run`` on ``folder``'s study."""
    runs = folder / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    cmd = [sys.executable, "-m", "valkit", "run", str(folder / "scale.yaml"), "--runs-dir", str(runs),
           "--no-progress"] + ([] if report else ["--no-report"])
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        tail = out.read().decode(errors="replace")[-2000:]
    cpu = usage.ru_utime + usage.ru_stime  # the child's own CPU time: what a loaded machine does not inflate
    return seconds, cpu, usage.ru_maxrss / 1024.0, proc.returncode, tail  # ru_maxrss is KiB on Linux


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--no-report", action="store_true", help="stop after results.json (no PDF/HTML)")
    ap.add_argument("--formats", default="pdf, html", help="report formats when rendering (default: pdf, html)")
    ap.add_argument("--workdir", default=None, help="where the studies are written (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the studies and runs")
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="valkit-scale-"))
    rows = []
    try:
        for n in sizes:
            folder = root / f"n{n}"
            make_study(folder, n, resamples=args.resamples, report_formats=args.formats)
            load = os.getloadavg()[0]
            seconds, cpu, rss, rc, tail = run_valkit(folder, report=not args.no_report)
            if rc not in (0, 1):  # 1: an acceptance criterion failed, still a complete run
                print(tail, file=sys.stderr)
                raise SystemExit(f"valkit run failed on {n} cases (exit {rc})")
            row = {"cases": n, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(rss, 1),
                   "load_average_1m_before": round(load, 2)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    big = max(rows, key=lambda r: r["cases"])
    summary = {
        "sizes": rows,
        "seconds_per_1e6_cases": round(big["seconds"] * 1e6 / big["cases"], 1),
        "cpu_seconds_per_1e6_cases": round(big["cpu_seconds"] * 1e6 / big["cases"], 1),
        "report": not args.no_report, "formats": args.formats if not args.no_report else None,
        "resamples": args.resamples, "cpu_count": os.cpu_count(),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
