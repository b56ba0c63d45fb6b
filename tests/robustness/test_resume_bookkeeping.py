"""Issue #16 item 8: the decoder that made each prediction is recorded with it, across resumes.

The probe: the decoder choice was re-made on every resume and only the last one recorded, and a
rerun of a finished run recorded ``decoders: null``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from valkit.pipeline import decoders_used
from valkit.runner import run_inference


def _preprocess(path: str) -> np.ndarray:
    return np.full((1, 4, 4), (sum(Path(path).read_bytes()) % 97) / 97.0, dtype=np.float32)


def _predict(x):
    return x.mean(dim=(1, 2, 3)).numpy()


def test_each_prediction_keeps_the_decoder_that_made_it_across_a_resume(tmp_path):
    rows = []
    for i in range(8):
        p = tmp_path / f"i{i}.dcm"
        p.write_bytes(f"image {i}".encode())
        rows.append({"case_id": f"C{i}", "abs_path": str(p), "sha256": "",
                     "transfer_syntax": "RLE Lossless" if i % 2 else "JPEG 2000 Image Compression (Lossless Only)"})
    table = pd.DataFrame(rows)
    run_dir = tmp_path / "run"
    kw = dict(preprocess=_preprocess, predict=_predict, model_sha256="m", preprocessing_sha256="p", batch_size=2,
              num_workers=0, progress=False)
    # session 1 scores the first half with one choice of decoders
    first = {f"C{i}": ("pylibjpeg" if i % 2 else "pylibjpeg-openjpeg") for i in range(8)}
    run_inference(table.iloc[:4], run_dir, decoder_of=first, **kw)
    # session 2 (a resume) chooses differently; it scores only the other half
    second = {f"C{i}": ("gdcm" if i % 2 else "pillow") for i in range(8)}
    s = run_inference(table, run_dir, decoder_of=second, **kw)
    pred = pd.read_parquet(s.predictions_path).set_index("case_id")
    assert [pred.loc[f"C{i}", "pixel_decoder"] for i in range(8)] == \
        [first[f"C{i}"] for i in range(4)] + [second[f"C{i}"] for i in range(4, 8)]
    # a rerun of the finished run reuses everything and still reports what made each prediction
    s3 = run_inference(table, run_dir, decoder_of=None, **kw)
    used = decoders_used(pd.read_parquet(s3.predictions_path), table)
    assert {(u["transfer_syntax"], u["decoder"]): u["n"] for u in used} == {
        ("JPEG 2000 Image Compression (Lossless Only)", "pylibjpeg-openjpeg"): 2,
        ("JPEG 2000 Image Compression (Lossless Only)", "pillow"): 2,
        ("RLE Lossless", "pylibjpeg"): 2, ("RLE Lossless", "gdcm"): 2}


def test_predictions_saved_by_an_older_valkit_say_not_recorded(tmp_path):
    pred = pd.DataFrame({"case_id": ["a"], "pixel_decoder": [""]})
    table = pd.DataFrame({"case_id": ["a"], "transfer_syntax": ["RLE Lossless"]})
    assert decoders_used(pred, table) == [{"transfer_syntax": "RLE Lossless",
                                          "decoder": "not recorded (saved by an earlier valkit)", "n": 1}]


def test_valkit_run_prints_failed_and_excluded_counts(tmp_path, capsys):
    import shutil

    from valkit.cli import main

    study = tmp_path / "study"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "fake_study", study)
    rc = main(["run", str(study / "fake.yaml"), "--runs-dir", str(tmp_path / "runs"), "--no-report", "--quiet"])
    assert rc in (0, 1, 4)
    out = capsys.readouterr().out
    import json

    flow = json.loads((tmp_path / "runs" / "fake" / "results.json").read_text())["data"]["flow"]
    assert (f"cases:   {flow['in_manifest']} in the manifest: {flow['analysed']} analysed, {flow['failed']} failed, "
            f"{flow['excluded']} excluded") in out and flow["failed"] > 0
