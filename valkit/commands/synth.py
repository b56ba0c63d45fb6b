"""``valkit synth OUT_DIR``: write a synthetic multi-site, multi-vendor chest radiograph study."""
from __future__ import annotations

import argparse
import os
import sys

from valkit.commands import add_quiet


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic phantom chest-radiograph study (DICOM + labels.csv)",
        description=(
            "Write a synthetic, multi-site, multi-vendor chest radiograph study as DICOM files "
            "with a labels.csv reference standard (nodule present/absent and its bounding box). "
            "The same seed gives byte-identical files. If OUT_DIR already holds a complete study "
            "with the same parameters nothing is done, unless --force."
        ),
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (created if absent)")
    parser.add_argument("--n-images", type=int, default=600, help="number of images (default 600)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes (default: 2 or the number of CPUs if fewer); output does not depend on it",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="regenerate even if a complete study is present")
    mode.add_argument(
        "--if-absent",
        action="store_true",
        help="only generate if OUT_DIR lacks a complete study with these parameters (the default behaviour)",
    )
    add_quiet(parser)
    parser.add_argument(
        "--reader-study",
        metavar="MODEL_CARD",
        help="also write OUT_DIR/reader_study/ratings.csv and model_scores.csv: a simulated fully crossed "
        "reader study (unaided and aided by this model's scores, run on the CPU) on a stratified subset "
        "of the images; skipped when already present with the same parameters, unless --force",
    )
    parser.add_argument("--reader-cases", type=int, default=120,
                        help="cases in the reader study, half positive, one per patient (default 120)")
    parser.add_argument("--readers", type=int, default=5, help="readers in the reader study (default 5)")
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from valkit.errors import InputError

    problems = []
    if args.n_images < 1:
        problems.append(f"--n-images: expected a whole number >= 1, found {args.n_images}; e.g. --n-images 600")
    if args.seed < 0:
        problems.append(f"--seed: expected a whole number >= 0, found {args.seed}; e.g. --seed 20261122")
    if args.jobs < 1:
        problems.append(f"--jobs: expected a whole number >= 1, found {args.jobs}; e.g. --jobs 2")
    if args.reader_study is not None and not os.path.isfile(args.reader_study):
        problems.append(f"--reader-study: model card not found: {args.reader_study}; e.g. "
                        "--reader-study models/demo-nodule/model.yaml")
    if args.reader_cases < 4:
        problems.append(f"--reader-cases: expected a whole number >= 4, found {args.reader_cases}; "
                        "e.g. --reader-cases 120")
    if not 2 <= args.readers <= 100:
        problems.append(f"--readers: expected a whole number from 2 to 100, found {args.readers}; e.g. --readers 5")
    if problems:
        raise InputError("valkit synth: invalid arguments:", problems=problems)


def run(args: argparse.Namespace) -> int:
    from valkit.synth import generate_study

    _check(args)

    last = [-1]

    def progress(done: int, total: int) -> None:
        pct = done * 10 // total
        if pct != last[0]:
            last[0] = pct
            print(f"valkit synth: {done}/{total} images", file=sys.stderr, flush=True)

    summary = generate_study(
        args.out_dir,
        n_images=args.n_images,
        seed=args.seed,
        force=args.force,
        jobs=args.jobs,
        progress=None if args.quiet else progress,
    )
    state = "already present, reused" if summary.reused else "written"
    print(
        f"{summary.out_dir}: {summary.n_images} images of {summary.n_patients} patients "
        f"({summary.n_positive} with a nodule) {state}; labels: {summary.labels_path}"
    )
    print("  by site:   " + ", ".join(f"{k} {v}" for k, v in summary.by_site.items()))
    print("  by vendor: " + ", ".join(f"{k} {v}" for k, v in summary.by_vendor.items()))
    if args.reader_study is not None:
        from valkit.synth.reader_demo import generate_reader_demo

        rs = generate_reader_demo(args.out_dir, args.reader_study, n_cases=args.reader_cases,
                                  n_readers=args.readers, seed=args.seed, force=args.force)
        state = "already present, reused" if rs.reused else "written"
        print(f"  reader study: {rs.n_readers} readers x {rs.n_cases} cases ({rs.n_positive} positive), "
              f"unaided and aided, {state}: {rs.ratings_path}")
    return 0
