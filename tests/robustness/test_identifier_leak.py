"""Issue #16 validation: a run built from DICOM with identifiers in folder names, file names and tags
writes none of them into any output (results.json, cases.csv, predictions.parquet, the report, the
explainability files), and the report says what kind of ids it does carry.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from valkit.cli import main
from valkit.digests import file_sha256

PATIENTS = {  # PatientID -> (PatientName, AccessionNumber)
    "PID7654321": ("DOE^JANE", "ACC99887766"),
    "PID1234999": ("ROE^RICHARD", "ACC11223344"),
    "PID5550001": ("POE^EDGARALLAN", "ACC55667788"),
}
EXPORT = "PACSEXPORT_StMarys"  # the export folder's own name
PROTOCOL = {
    "id": "leak", "version": "1", "title": "identifier leak", "intended_use": "tests only",
    "regulatory": {"targets": ["FDA"], "document_id": "T-1", "revision": "A"},
    "model": {"card": "model/model.yaml"},
    "datasets": [{"manifest": "manifests/m.csv", "image_root": EXPORT}],
    "reference_standard": {"description": "constructed truth"},
    "operating_point": {"source": "fixed", "threshold": 0.5},
    "endpoints": [{"id": "sens", "metric": "sensitivity"}],
    "inference": {"batch_size": 4, "num_workers": 0, "device": "cpu"},
    "explainability": {"gallery": {"true_positive": 1, "false_positive": 1, "false_negative": 1,
                                   "true_negative": 1},
                       "localisation": {"bootstrap_resamples": 100}, "sanity": {"n_images": 1, "stages": 1}},
    "report": {"formats": ["html"]},
}


def _study(root: Path) -> tuple[Path, list[str]]:
    """A PACS-like export named by patient; returns the protocol and every identifier written."""
    from valkit.manifest import build_manifest
    from valkit.testing import write_dicom, write_tiny_model

    identifiers = []  # the export folder's own name is the protocol's image_root, recorded as written
    uids, labels = [], ["sop_instance_uid,label"]
    rng = np.random.default_rng(7)
    for p, (pid, (name, accession)) in enumerate(PATIENTS.items()):
        folder = root / EXPORT / f"{pid}_{name}" / f"{accession}"
        folder.mkdir(parents=True)
        for k in range(4):
            f = folder / f"{name.replace('^', '_')}_{pid}_{k}.dcm"
            write_dicom(f, rng.integers(0, 4000, size=(48, 48)), patient_id=pid, patient_name=name,
                        tags={"AccessionNumber": accession, "PatientBirthDate": "19510304",
                              "InstitutionName": "Lakeshore"})
            import pydicom

            ds = pydicom.dcmread(f, stop_before_pixels=True)
            uids += [str(ds.SOPInstanceUID), str(ds.StudyInstanceUID)]
            labels.append(f"{ds.SOPInstanceUID},{(p + k) % 2}")
        identifiers += [pid, name, name.replace("^", "_"), accession, f"{pid}_{name}"]
    (root / "labels.csv").write_text("\n".join(labels) + "\n")
    build_manifest(root / EXPORT, out=root / "manifests" / "m.csv", labels=root / "labels.csv")
    write_tiny_model(root / "model")
    (root / "p.yaml").write_text(yaml.safe_dump(PROTOCOL))
    return root / "p.yaml", identifiers + uids


def _output_texts(run: Path) -> dict[str, str]:
    """Every file under the run folder as text (parquet through pandas, binary files as latin-1)."""
    out = {}
    for f in sorted(p for p in run.rglob("*") if p.is_file()):
        if f.suffix == ".parquet":
            out[str(f)] = pd.read_parquet(f).to_csv(index=False)
        else:
            out[str(f)] = f.read_bytes().decode("latin-1")
    return out


@pytest.mark.slow
def test_no_identifier_reaches_any_output(tmp_path):
    protocol, identifiers = _study(tmp_path)
    manifest = tmp_path / "manifests" / "m.csv"
    m = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    # a failed read (missing file) and a failed decode (garbage, no digest: hashed and recorded at run time)
    missing, corrupt = m["path"].iloc[0], m["path"].iloc[5]
    (manifest.parent / missing).unlink()
    (manifest.parent / corrupt).write_bytes(b"a scanned consent form, not DICOM " * 8)
    m.loc[5, "sha256"] = ""
    m.to_csv(manifest, index=False)

    assert main(["run", str(protocol), "--runs-dir", str(tmp_path / "runs"), "--quiet"]) in (0, 1, 4)
    run = tmp_path / "runs" / "leak"
    texts = _output_texts(run)
    assert {Path(f).name for f in texts} >= {"results.json", "cases.csv", "predictions.parquet", "report.html"}
    assert any("/explain/" in f for f in texts)
    leaks = [(Path(f).relative_to(run), ident) for f, text in texts.items() for ident in identifiers
             if ident in text]
    assert not leaks, leaks
    assert not [f for f, text in texts.items() if str(tmp_path / EXPORT) in text]

    pred = pd.read_parquet(run / "predictions.parquet").set_index("case_id")
    failed = pred[pred["status"] == "failed"]
    assert len(failed) == 2, pred[["status", "error"]].to_dict("records")
    assert set(failed.index) == {m.at[0, "case_id"], m.at[5, "case_id"]}
    assert "not a DICOM file" in pred.at[m.at[5, "case_id"], "error"]  # the decoder's message named the path
    # the missing digest was computed from the file and recorded
    assert pred.at[m.at[5, "case_id"], "image_sha256"] == file_sha256(manifest.parent / corrupt)
    results = json.loads((run / "results.json").read_text())
    ids = results["per_case_listing"]["identifiers"]
    assert ids["case_ids"] == ids["patient_ids"] == "keyed_pseudonym"
    assert ids["pseudonym_keys"] == sorted(set(m["pseudonym_key"])) and len(ids["pseudonym_keys"][0]) == 8
    assert ids["pseudonym_keys"] == results["provenance"]["manifests"][0]["pseudonym_keys"]
    html = (run / "report.html").read_text()
    assert "Case and patient ids are pseudonyms: keyed hashes" in html
    assert "cannot be traced back" in html


EXTERNAL = """\
id: ext
version: "1.0"
title: External scores with the user's own ids
intended_use: tests only
regulatory: {targets: [FDA], document_id: VK-TEST, revision: A}
datasets:
  - manifest: manifest.csv
reference_standard: {column: label, description: test labels}
operating_point: {source: fixed, threshold: 0.5}
endpoints:
  - {id: sensitivity, metric: sensitivity}
predictions: {path: scores.csv, model_name: V, model_version: "1"}
report: {formats: [html]}
"""


def test_external_scores_with_raw_ids_are_not_called_pseudonymous(tmp_path):
    """Issue #16 item 1: ids a user supplied are copied as they are, and the report says so plainly."""
    ids = [f"MRN{100200 + i}" for i in range(8)]
    pd.DataFrame({"case_id": ids, "patient_id": ids, "path": [f"img/{i}.dcm" for i in range(8)],
                  "label": [i % 2 for i in range(8)]}).to_csv(tmp_path / "manifest.csv", index=False)
    pd.DataFrame({"case_id": ids, "score": np.linspace(0.1, 0.9, 8)}).to_csv(tmp_path / "scores.csv", index=False)
    (tmp_path / "p.yaml").write_text(EXTERNAL)
    assert main(["run", str(tmp_path / "p.yaml"), "--runs-dir", str(tmp_path / "runs"), "--quiet"]) in (0, 1, 4)
    run = tmp_path / "runs" / "ext"
    results = json.loads((run / "results.json").read_text())
    assert results["per_case_listing"]["identifiers"] == {"case_ids": "supplied", "patient_ids": "supplied",
                                                          "pseudonym_keys": []}
    html = (run / "report.html").read_text()
    assert "pseudonymous identifiers only" not in html
    assert "Case and patient ids are those supplied with the data" in html and "did not pseudonymise" in html
