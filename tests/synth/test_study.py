"""End-to-end checks of the phantom study writer: determinism, layout, labels, resume."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pydicom
import pytest

from valkit.errors import InputError
from valkit.synth import LABEL_COLUMNS, generate_study


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _labels(root: Path) -> list[dict[str, str]]:
    with open(root / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    summary = generate_study(out, n_images=10, seed=11)
    return out, summary


def test_same_seed_gives_identical_bytes(study, tmp_path):
    out, _ = study
    generate_study(tmp_path / "again", n_images=10, seed=11)
    assert _digest_tree(out) == _digest_tree(tmp_path / "again")


def test_different_seed_gives_different_study(study, tmp_path):
    out, _ = study
    generate_study(tmp_path / "other", n_images=10, seed=12)
    a, b = _digest_tree(out), _digest_tree(tmp_path / "other")
    assert a["labels.csv"] != b["labels.csv"]
    assert set(a.values()).isdisjoint(set(b.values()) - {a.get("study.json")})


def test_labels_match_files(study):
    out, summary = study
    rows = _labels(out)
    files = sorted(p.relative_to(out).as_posix() for p in (out / "dicom").rglob("*.dcm"))
    assert list(rows[0]) == list(LABEL_COLUMNS)
    assert len(rows) == len(files) == summary.n_images == 10
    assert sorted(r["path"] for r in rows) == files
    assert len({r["sop_instance_uid"] for r in rows}) == 10
    for r in rows:
        ds = pydicom.dcmread(out / r["path"])
        assert ds.SOPInstanceUID == r["sop_instance_uid"]
        assert ds.StudyInstanceUID == r["study_instance_uid"]
        assert ds.PatientID != r["patient_pseudo_id"]  # DICOM identifier is not the pseudonym
        box = [r[f"lesion_{k}"] for k in ("x0", "y0", "x1", "y1")]
        if r["label"] == "1":
            x0, y0, x1, y1 = map(int, box)
            assert 0 <= x0 < x1 <= ds.Columns and 0 <= y0 < y1 <= ds.Rows
            assert 6.0 <= float(r["lesion_diameter_mm"]) <= 30.0
        else:
            assert r["label"] == "0" and box == ["", "", "", ""] and r["lesion_diameter_mm"] == ""
    assert sum(int(r["label"]) for r in rows) == summary.n_positive
    assert len({r["patient_pseudo_id"] for r in rows}) == summary.n_patients


def test_study_json_written_and_rerun_is_skipped(study):
    out, summary = study
    marker = json.loads((out / "study.json").read_text())
    assert (marker["n_images"], marker["seed"]) == (10, 11)
    assert marker["labels_sha256"] == hashlib.sha256((out / "labels.csv").read_bytes()).hexdigest()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = generate_study(out, n_images=10, seed=11)
    assert again.reused and not summary.reused
    assert again.by_site == summary.by_site and again.by_vendor == summary.by_vendor
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_force_and_changed_parameters_regenerate(tmp_path):
    out = tmp_path / "s"
    generate_study(out, n_images=3, seed=5)
    assert not generate_study(out, n_images=3, seed=5, force=True).reused
    bigger = generate_study(out, n_images=4, seed=5)
    assert not bigger.reused and len(_labels(out)) == 4
    assert len(list((out / "dicom").rglob("*.dcm"))) == 4


def test_interrupted_run_is_redone(tmp_path):
    out = tmp_path / "s"

    def interrupt(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_study(out, n_images=4, seed=5, progress=interrupt)
    assert not (out / "study.json").exists() and not (out / "labels.csv").exists()
    summary = generate_study(out, n_images=4, seed=5)
    assert not summary.reused and len(_labels(out)) == 4
    assert not (out / "labels.csv.partial").exists()


def test_refuses_folder_with_foreign_files(tmp_path):
    (tmp_path / "precious.txt").write_text("not ours")
    with pytest.raises(InputError, match="precious|other files"):
        generate_study(tmp_path, n_images=2, seed=1)
    assert (tmp_path / "precious.txt").exists()


@pytest.mark.parametrize("kwargs", [{"n_images": 0, "seed": 1}, {"n_images": -3, "seed": 1},
                                    {"n_images": 2, "seed": -1}, {"n_images": 2.5, "seed": 1}])
def test_bad_parameters_are_input_errors(tmp_path, kwargs):
    with pytest.raises(InputError, match="expected a whole number"):
        generate_study(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_parallel_output_is_identical(tmp_path):
    generate_study(tmp_path / "one", n_images=16, seed=11, jobs=1)
    generate_study(tmp_path / "two", n_images=16, seed=11, jobs=2)
    assert _digest_tree(tmp_path / "one") == _digest_tree(tmp_path / "two")
