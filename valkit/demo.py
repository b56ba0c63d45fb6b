"""The demo study end to end, from an installed valkit or a source checkout (``valkit demo``).

The demo folder is laid out like the repository, so the shipped demo protocol runs unchanged
(its paths are relative to itself)::

    OUT/protocols/demo.yaml            the shipped demo protocol, copied byte for byte
    OUT/models/demo-nodule/            the shipped model card, weights, README, training report
    OUT/datasets/phantom/demo/         the phantom study and its reader study (valkit.synth)
    OUT/datasets/manifests/demo.csv    its manifest (valkit manifest build)
    OUT/runs/demo/                     the run: results.json, cases.csv, report.pdf, report.html

With OUT the source checkout itself (``make demo``) the shipped files are already in place.
Each step reuses what an earlier run left when its parameters are unchanged.

``quick`` runs a smaller variant for a first look in about a minute: 120 images, a 40-case reader
study, and no latency benchmark or Grad-CAM analysis. It writes its own protocol,
``protocols/demo-quick.yaml`` (run id ``demo-quick``), and study folder ``demo-quick``, so the
full demo's files are left alone.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from valkit.assets import DEMO_MODEL, DEMO_PROTOCOLS, asset_dir
from valkit.errors import InputError

SEED = 20261122  # the demo study's seed; the demo model was trained and tuned on other seeds
MODEL_FILES = ("model.yaml", "model.safetensors", "README.md", "training_report.json")
QUICK_DROPS = ("latency", "explainability")  # the slow optional sections


@dataclass(frozen=True)
class DemoSize:
    """How big a demo study is, and which protocol runs it."""

    name: str  # protocol file stem, run id and study folder name
    n_images: int
    reader_cases: int


FULL = DemoSize("demo", 600, 120)
QUICK = DemoSize("demo-quick", 120, 40)


def _place(src: Path, dst: Path) -> None:
    """Copy a shipped file; leave it when it is already there, refuse to overwrite a different one."""
    if dst.exists():
        if dst.samefile(src) or dst.read_bytes() == src.read_bytes():
            return
        raise InputError(f"{dst}: already exists and differs from valkit's shipped {src.name} ({src}). Fix: give "
                         "`valkit demo --out` an empty or earlier demo folder, or move your edited copy away.")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def place_shipped_files(out: Path) -> Path:
    """Copy the demo protocol and model into ``out`` (see module doc); returns the protocol path."""
    protocol = out / "protocols" / "demo.yaml"
    _place(asset_dir(DEMO_PROTOCOLS) / "demo.yaml", protocol)
    model = asset_dir(DEMO_MODEL)
    for name in MODEL_FILES:
        _place(model / name, out / "models" / "demo-nodule" / name)
    return protocol


def write_quick_protocol(demo_protocol: Path) -> Path:
    """``protocols/demo-quick.yaml``: the demo protocol on the quick study, without the slow sections."""
    data = yaml.safe_load(demo_protocol.read_text(encoding="utf-8"))
    for key in QUICK_DROPS:
        data.pop(key, None)
    data["id"] = QUICK.name
    data["datasets"] = [{**data["datasets"][0], "manifest": f"../datasets/manifests/{QUICK.name}.csv",
                         "image_root": f"../datasets/phantom/{QUICK.name}"}]
    if data.get("reader_study"):
        data["reader_study"]["ratings"] = f"../datasets/phantom/{QUICK.name}/reader_study/ratings.csv"
    header = ("# Written by `valkit demo --quick` from demo.yaml (see there for comments): the same study design\n"
              f"# on {QUICK.n_images} phantom images, without the {' and '.join(QUICK_DROPS)} sections.\n")
    path = demo_protocol.with_name(f"{QUICK.name}.yaml")
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_demo(out: str | os.PathLike, *, quick: bool = False, n_images: int | None = None,
             reader_cases: int | None = None, progress: bool = True,
             log: Callable[[str], None] = print):
    """Generate the phantom study, build its manifest and run the demo protocol in ``out``.

    Returns the :class:`~valkit.pipeline.RunOutcome` (its ``report_error`` set when the report
    could not be rendered).
    """
    from valkit.manifest import build_manifest
    from valkit.pipeline import run_protocol
    from valkit.synth import generate_study
    from valkit.synth.reader_demo import generate_reader_demo

    size = QUICK if quick else FULL
    n_images = size.n_images if n_images is None else n_images
    reader_cases = size.reader_cases if reader_cases is None else reader_cases
    if n_images < 1 or reader_cases < 4:
        raise InputError(f"valkit demo: expected --n-images >= 1 and --reader-cases >= 4, found {n_images} and "
                         f"{reader_cases}; e.g. --n-images {size.n_images} --reader-cases {size.reader_cases}.")
    out = Path(out).resolve()
    protocol = place_shipped_files(out)
    if quick:
        protocol = write_quick_protocol(protocol)
    study = out / "datasets" / "phantom" / size.name
    last = [-1]

    def synth_progress(done: int, total: int) -> None:
        if done * 10 // total != last[0]:
            last[0] = done * 10 // total
            log(f"valkit demo: phantom study {done}/{total} images")

    s = generate_study(study, n_images=n_images, seed=SEED, jobs=min(2, os.cpu_count() or 1),
                       progress=synth_progress if progress else None)
    log(f"valkit demo: {s.n_images} images of {s.n_patients} patients in {study}"
        f"{' (already there)' if s.reused else ''}")
    rs = generate_reader_demo(study, out / "models" / "demo-nodule" / "model.yaml", n_cases=reader_cases,
                              seed=SEED)
    log(f"valkit demo: reader study {rs.n_readers} readers x {rs.n_cases} cases"
        f"{' (already there)' if rs.reused else ''}")
    manifest = build_manifest(study, out=out / "datasets" / "manifests" / f"{size.name}.csv",
                              labels=study / "labels.csv")
    log(f"valkit demo: manifest {manifest.out} ({manifest.n_rows} images)")
    log(f"valkit demo: running {protocol}")
    from valkit.audit.lock import lock_protocol
    from valkit.progress import Progress
    from valkit.protocol import load_protocol

    if load_protocol(protocol).protocol.regulatory.pre_registered:
        # pre-registered: lock the protocol and every file it names before the run reads the labels
        lock_protocol(protocol, out / "runs", log=log)
    return run_protocol(protocol, runs_root=out / "runs", progress=Progress(quiet=not progress))


__all__ = ["FULL", "QUICK", "DemoSize", "place_shipped_files", "run_demo", "write_quick_protocol"]
