"""Generate a whole phantom study on disk: DICOM files, ``labels.csv`` and ``study.json``.

Layout of ``out_dir``::

    dicom/<site>/<patient_pseudo_id>/<case_id>.dcm   one file per image
    labels.csv                                        reference standard, one row per file
    study.json                                        completion marker, written last

The study is streamed: one image is rendered, encoded and written at a time (or a
small batch per worker process with ``jobs > 1``) and its labels row appended,
so memory does not grow with ``n_images`` (about 100 MB resident whatever the size;
disk use is about 0.43 MB per image, so 100 000 images need about 43 GB). Patients
have 1-3 images and every image is its own study (visit); see :mod:`valkit.synth.cases`. ``study.json`` records the generator
version, ``n_images`` and ``seed``; a second call with the same parameters finds it
and returns at once (``StudySummary.reused``) unless ``force=True``. Output is
byte-identical for the same seed and parameters whatever ``jobs`` is.
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from valkit.errors import InputError
from valkit.synth.cases import GENERATOR_VERSION, CaseSpec, iter_cases
from valkit.synth.render import render_image

LABEL_COLUMNS = (
    "sop_instance_uid",
    "case_id",
    "patient_pseudo_id",
    "label",
    "lesion_x0",
    "lesion_y0",
    "lesion_x1",
    "lesion_y1",
    "lesion_diameter_mm",
    "lesion_contrast",
    "ethnicity",
    "path",
    "site_key",  # generator key; the manifest takes the site from InstitutionName
    "vendor",
    "visit",
    "study_instance_uid",
)
MARKER = "study.json"
LABELS = "labels.csv"
_IN_PROGRESS = ".valkit-synth-in-progress"
_MAX_IMAGES = 10_000_000
_BATCH = 32


@dataclass(frozen=True)
class StudySummary:
    """What :func:`generate_study` produced (or found already complete, ``reused=True``)."""

    out_dir: Path
    n_images: int
    n_patients: int
    n_positive: int
    seed: int
    labels_path: Path
    by_site: dict[str, int] = field(default_factory=dict)
    by_vendor: dict[str, int] = field(default_factory=dict)
    reused: bool = False


def _validate(n_images, seed, jobs) -> None:
    problems = []
    if isinstance(n_images, bool) or not isinstance(n_images, int) or not 1 <= n_images <= _MAX_IMAGES:
        problems.append(f"n_images: expected a whole number from 1 to {_MAX_IMAGES}, found {n_images!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(f"seed: expected a whole number >= 0, found {seed!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        problems.append(f"jobs: expected a whole number >= 1, found {jobs!r}")
    if problems:
        raise InputError("invalid phantom study parameters; fix them and rerun:", problems=problems)


def _read_marker(out: Path) -> dict | None:
    try:
        return json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _matches(marker: dict | None, n_images: int, seed: int) -> bool:
    return bool(
        marker
        and marker.get("generator") == "valkit.synth"
        and marker.get("generator_version") == GENERATOR_VERSION
        and marker.get("n_images") == n_images
        and marker.get("seed") == seed
    )


def _summary_from_marker(out: Path, marker: dict, *, reused: bool) -> StudySummary:
    return StudySummary(
        out_dir=out,
        n_images=marker["n_images"],
        n_patients=marker["n_patients"],
        n_positive=marker["n_positive"],
        seed=marker["seed"],
        labels_path=out / LABELS,
        by_site=dict(marker["by_site"]),
        by_vendor=dict(marker["by_vendor"]),
        reused=reused,
    )


def _prepare(out: Path) -> None:
    """Make ``out`` ready for a fresh study, removing only what an earlier run of ours wrote."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: expected a folder for the phantom study, found a file. Choose another OUT_DIR.")
    if out.is_dir() and any(out.iterdir()):
        ours = (out / MARKER).exists() or (out / _IN_PROGRESS).exists()
        if not ours:
            raise InputError(
                f"{out}: expected an empty folder or one holding a valkit synth study, found other files "
                f"(no {MARKER}). Choose an empty or new OUT_DIR; valkit synth will not delete files it did not write."
            )
        shutil.rmtree(out / "dicom", ignore_errors=True)
        for name in (MARKER, LABELS, LABELS + ".partial"):
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def produce_case(spec: CaseSpec) -> tuple[bytes, tuple[int, int, int, int] | None, str, str]:
    """Render and encode one case: (DICOM bytes, lesion box, SOPInstanceUID, StudyInstanceUID)."""
    from valkit.synth.dicom_writer import case_uids, encode_dicom

    image = render_image(spec.params, spec.noise_rng())
    study_uid, _, sop_uid = case_uids(spec)
    return encode_dicom(spec, image), image.lesion_box, sop_uid, study_uid


def _label_row(spec: CaseSpec, box, sop_uid: str, study_uid: str) -> list[str]:
    nod = spec.params.nodule
    lesion = [str(b) for b in box] if box is not None else ["", "", "", ""]
    return [
        sop_uid,
        spec.case_id,
        spec.patient_pseudo_id,
        str(spec.label),
        *lesion,
        f"{nod.diameter_mm:.1f}" if nod else "",
        f"{nod.contrast:.2f}" if nod else "",
        spec.ethnicity,
        spec.relative_path,
        spec.site.key,
        spec.vendor.key,
        str(spec.visit),
        study_uid,
    ]


def _produced(specs, jobs: int):
    """Yield (spec, product) in order; with ``jobs > 1`` render batches in worker processes."""
    if jobs == 1:
        for spec in specs:
            yield spec, produce_case(spec)
        return
    import multiprocessing

    # spawn, not fork: callers (a model trainer) may have threads or CUDA initialised
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        it = iter(specs)
        while batch := list(itertools.islice(it, _BATCH * jobs)):
            yield from zip(batch, pool.map(produce_case, batch, chunksize=_BATCH // 4))


def generate_study(
    out_dir: str | os.PathLike,
    *,
    n_images: int,
    seed: int,
    force: bool = False,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> StudySummary:
    """Write a synthetic multi-site, multi-vendor chest radiograph study to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to create or reuse. It must be empty, absent, or hold an earlier
        valkit synth study (which is then replaced if its parameters differ).
    n_images
        Number of DICOM images (>= 1). Patients have 1-3 images each.
    seed
        Non-negative integer; the same seed gives byte-identical files. Use
        different seeds for independent train / tune / test studies.
    force
        Regenerate even if ``out_dir`` already holds a complete study with these parameters.
    jobs
        Worker processes rendering in parallel (output does not depend on it).
    progress
        Called as ``progress(done, total)`` after each image.

    Returns
    -------
    StudySummary
        Counts by site and vendor, the number of patients and positives, and the
        path of ``labels.csv``.

    Raises
    ------
    valkit.errors.InputError
        Bad parameters, or ``out_dir`` holds files that valkit synth did not write.
    """
    _validate(n_images, seed, jobs)
    jobs = min(jobs, max(1, n_images // 8))  # tiny studies are not worth starting workers for
    out = Path(out_dir)
    marker = _read_marker(out)
    if not force and _matches(marker, n_images, seed) and (out / LABELS).is_file():
        return _summary_from_marker(out, marker, reused=True)
    _prepare(out)
    (out / _IN_PROGRESS).write_text(json.dumps({"n_images": n_images, "seed": seed}) + "\n")

    by_site: Counter[str] = Counter()
    by_vendor: Counter[str] = Counter()
    patients: set[int] = set()
    positives = 0
    partial = out / (LABELS + ".partial")
    with open(partial, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(LABEL_COLUMNS)
        for done, (spec, (data, box, sop_uid, study_uid)) in enumerate(_produced(iter_cases(n_images, seed), jobs), 1):
            path = out / spec.relative_path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            writer.writerow(_label_row(spec, box, sop_uid, study_uid))
            by_site[spec.site.key] += 1
            by_vendor[spec.vendor.key] += 1
            patients.add(spec.patient_index)
            positives += spec.label
            if progress is not None:
                progress(done, n_images)
    os.replace(partial, out / LABELS)
    marker = {
        "generator": "valkit.synth",
        "generator_version": GENERATOR_VERSION,
        "n_images": n_images,
        "seed": seed,
        "n_patients": len(patients),
        "n_positive": positives,
        "by_site": dict(sorted(by_site.items())),
        "by_vendor": dict(sorted(by_vendor.items())),
        "labels": LABELS,
        "labels_sha256": hashlib.sha256((out / LABELS).read_bytes()).hexdigest(),
        "layout": "dicom/<site>/<patient_pseudo_id>/<case_id>.dcm",
        "note": "Synthetic phantom images for software validation demos; not patient data.",
    }
    tmp = out / (MARKER + ".tmp")
    tmp.write_text(json.dumps(marker, indent=2) + "\n")
    os.replace(tmp, out / MARKER)
    (out / _IN_PROGRESS).unlink(missing_ok=True)
    return _summary_from_marker(out, marker, reused=False)
