"""Whatever DICOM a user points valkit at: odd transfer syntaxes, missing preamble, non-image objects.

Every file either becomes a manifest row that the preprocessor then decodes, or is listed in the
errors file with a reason; nothing is silently dropped. Files are pydicom's bundled test data.
"""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset

from valkit.manifest import build_manifest
from valkit.model_card import PreprocessingSpec
from valkit.preprocess import preprocess_file

IMAGES = [
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless (pylibjpeg-libjpeg)
    "MR_small_jp2klossless.dcm",      # JPEG 2000 lossless (pylibjpeg-openjpeg)
    "JPEG2000.dcm",
    "JPGExtended.dcm",                # JPEG extended 12-bit
    "image_dfl.dcm",                  # deflated explicit VR little endian
    "MR_small_bigendian.dcm",         # explicit VR big endian (retired syntax)
    "MR_small_implicit.dcm",
    "MR_small_RLE.dcm",
]
NOT_IMAGES = {
    "rtplan.dcm": "no pixel data: not an image object (RTPLAN)",
    "reportsi.dcm": "no pixel data: not an image object (SR)",
    "MR_truncated.dcm": "truncated pixel data",
    "no_meta.dcm": "not a DICOM file",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("quirks")
    for name in IMAGES + list(NOT_IMAGES):
        shutil.copy(get_testdata_file(name), d / name)
    # a legacy file with neither preamble nor file meta (pre-Part 10 style): accepted
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.preamble = None
    ds.file_meta = FileMetaDataset()
    ds.save_as(d / "legacy_no_preamble.dcm", implicit_vr=False, little_endian=True, enforce_file_format=False)
    return d


@pytest.fixture(scope="module")
def built(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "m.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the deliberately odd files
        summary = build_manifest(folder, out=out)
    return summary, pd.read_csv(out, dtype=str, keep_default_na=False), pd.read_csv(summary.errors_path)


def test_every_file_is_a_row_or_an_error(folder, built):
    summary, manifest, errors = built
    assert summary.n_rows + summary.n_skipped == len(list(folder.iterdir()))
    # the MR_small_* files are one image (one SOPInstanceUID) in five transfer syntaxes: one is kept
    mr = [n for n in IMAGES if n.startswith("MR_small")]
    kept = sorted(Path(p).name for p in manifest["path"])
    assert sum(n.startswith("MR_small") for n in kept) == 1
    dups = errors[errors["reason"].str.startswith("duplicate image")]
    assert len(dups) == len(mr) - 1
    assert set(kept) | {Path(p).name for p in dups["path"]} == set(IMAGES + ["legacy_no_preamble.dcm"])


@pytest.mark.parametrize("name,reason", sorted(NOT_IMAGES.items()))
def test_unusable_files_named_with_reason(built, name, reason):
    _, _, errors = built
    got = dict(zip(errors["path"].map(lambda p: Path(p).name), errors["reason"]))
    assert got[name].startswith(reason)


def test_every_syntax_decodes(folder):
    spec = PreprocessingSpec(size=(32, 32), window={"source": "percentile"})
    for p in IMAGES + ["legacy_no_preamble.dcm"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = preprocess_file(folder / Path(p).name, spec)
        assert x.shape == (1, 32, 32) and np.isfinite(x).all(), p
