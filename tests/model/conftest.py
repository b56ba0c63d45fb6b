"""Fixtures for model card, preprocessing and predictor tests: DICOMs built in memory, a tiny card."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from valkit.testing import card_yaml, write_tiny_model
from valkit.testing import tiny_state as _tiny_state


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    signed: bool = False,
    window: tuple[float, float] | None = None,
    voi_function: str | None = None,
    rescale: tuple[float, float] | None = None,
    voi_lut: tuple[int, int, list[int]] | None = None,
    frames: int | None = None,
    sop_class: str = "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
) -> Path:
    """Write an uncompressed single-image DICOM file with the given stored values."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    pixels = np.asarray(pixels)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.PhotometricInterpretation = photometric
    ds.SamplesPerPixel = 3 if pixels.ndim == 3 and frames is None else 1
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if ds.SamplesPerPixel == 3 else pixels.shape[-2:]
    ds.BitsAllocated = 8 if pixels.dtype.itemsize == 1 else 16
    ds.BitsStored = 8 if ds.BitsAllocated == 8 else bits_stored
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if frames is not None:
        ds.NumberOfFrames = frames
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if voi_function is not None:
        ds.VOILUTFunction = voi_function
    if rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = rescale
    if voi_lut is not None:
        entries, first, data = voi_lut
        item = Dataset()
        item.LUTDescriptor = [entries, first, 16]
        item.add_new("LUTData", "US", data)  # VR is "US or OW"; say which
        ds.VOILUTSequence = [item]
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def dicom_writer(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def make(pixels: np.ndarray, name: str | None = None, **kwargs) -> Path:
        return write_dicom(tmp_path / (name or f"img{next(counter)}.dcm"), pixels, **kwargs)

    return make


@pytest.fixture
def ramp() -> np.ndarray:
    """A 12-bit 32x40 test image: a ramp plus a bright square, so windowing and inversion show."""
    y, x = np.mgrid[0:32, 0:40]
    img = (x * 80 + y * 20).astype(np.uint16)
    img[8:16, 10:20] = 3500
    return img


@pytest.fixture(name="card_yaml")
def card_yaml_fixture() -> Callable[..., str]:
    return card_yaml


@pytest.fixture(scope="session")
def tiny_state() -> dict:
    """State dict of a tiny seeded DenseNet (the same network the tiny card describes)."""
    return _tiny_state()


@pytest.fixture
def tiny_card(tmp_path: Path) -> Path:
    """A valid card folder with safetensors weights; returns the card path."""
    return write_tiny_model(tmp_path / "tiny")
