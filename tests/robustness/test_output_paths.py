"""Issue #16 item 2: failure reasons name no file path (PACS export folders are often named by patient).

The runner records why a case failed in predictions.parquet (and so cases.csv and the report);
the reason names the image by its case (the row it is on), never by its path or file name.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from valkit.preprocess import read_dicom
from valkit.runner import run_inference, without_path

FOLDER = "PID7654321_DOE^JANE"


def _decode(path: str) -> np.ndarray:
    read_dicom(path)  # raises DicomDecodeError("<path>: not a DICOM file ...") for the corrupt one
    raise OSError(f"[Errno 5] Input/output error: {path!r}")  # the OS's way of naming a file


def test_failure_reasons_carry_no_path_or_file_name(tmp_path):
    folder = tmp_path / "export" / FOLDER
    folder.mkdir(parents=True)
    (folder / "DOE_JANE_1.dcm").write_bytes(b"not dicom at all")
    (folder / "DOE_JANE_2.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")  # DICM marker, then junk
    rows = [("C1", folder / "DOE_JANE_1.dcm"), ("C2", folder / "DOE_JANE_2.dcm"), ("C3", folder / "DOE_JANE_3.dcm")]
    table = pd.DataFrame({"case_id": [c for c, _ in rows], "abs_path": [str(p) for _, p in rows],
                          "sha256": ["", "", ""]})
    run_inference(table, tmp_path / "run", preprocess=_decode, predict=lambda x: np.zeros(len(x)),
                  model_sha256="m", preprocessing_sha256="p", num_workers=0, progress=False)
    pred = pd.read_parquet(tmp_path / "run" / "predictions.parquet").set_index("case_id")
    assert (pred["status"] == "failed").all()
    for reason in pred["error"]:
        assert "PID7654321" not in reason and "DOE" not in reason and str(tmp_path) not in reason, reason
    assert "not a DICOM file" in pred.at["C1", "error"]
    assert pred.at["C3", "error"] == "FileNotFoundError: image file not found at the manifest's path for this case"


def test_without_path_replaces_every_spelling(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.dcm").write_bytes(b"")
    (tmp_path / "PID1").symlink_to(tmp_path / "real")
    given = str(tmp_path / "PID1" / "x.dcm")
    real = str((tmp_path / "real" / "x.dcm").resolve())
    msg = f"a: {given}; b: {real}; c: 'x.dcm'"
    assert without_path(msg, given) == "a: <image>; b: <image>; c: '<image>'"


def test_latency_failure_reasons_carry_no_path(tmp_path):
    from valkit.latency.stages import end_to_end

    missing = tmp_path / "PID7654321_DOE^JANE" / "DOE_JANE_1.dcm"

    def read(p):
        return Path(p).read_bytes()  # FileNotFoundError: [Errno 2] No such file or directory: '<path>'

    r = end_to_end([("C1", str(missing))], [("read", read)], warmup=0,
                   summarize_ms=lambda t: {"n": len(t)})
    [failure] = r["failures"]
    assert failure["case_id"] == "C1" and "No such file" in failure["reason"]
    assert "PID7654321" not in failure["reason"] and "DOE_JANE" not in failure["reason"]
