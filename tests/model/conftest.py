"""Fixtures for model card, preprocessing and predictor tests: DICOMs built in memory, a tiny card."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

TINY_PARAMS = {"init_features": 4, "growth_rate": 4, "block_config": [1, 1], "bn_size": 2}


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


def card_yaml(weights: str, sha256: str, *, size=(32, 32), extra: str = "", params=None) -> str:
    params = TINY_PARAMS if params is None else params
    return textwrap.dedent(f"""\
        id: tiny-test
        name: Tiny test model
        version: 0.0.1
        finding: test finding
        intended_use: tests only
        architecture:
          family: monai.networks.nets.DenseNet
          spatial_dims: 2
          in_channels: 1
          out_channels: 1
          params: {params}
        preprocessing:
          window: {{source: dicom, percentiles: [1, 99]}}
          size: [{size[0]}, {size[1]}]
          normalization: {{method: fixed, mean: 0.5, std: 0.25}}
        output: {{positive_label: finding present}}
        threshold: {{value: 0.5, rule: youden, tuning_set: none}}
        weights: {{file: {weights}, sha256: "{sha256}"}}
        explainability: {{target_layer: features.denseblock2}}
        """) + extra


@pytest.fixture(name="card_yaml")
def card_yaml_fixture() -> Callable[..., str]:
    return card_yaml


@pytest.fixture(scope="session")
def tiny_state() -> dict:
    """State dict of a tiny seeded DenseNet (the same network the tiny card describes)."""
    import monai.networks.nets as nets
    import torch

    torch.manual_seed(0)
    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, **TINY_PARAMS)
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


@pytest.fixture
def tiny_card(tmp_path: Path, tiny_state: dict) -> Path:
    """A valid card folder with safetensors weights; returns the card path."""
    from safetensors.torch import save_file

    from valkit.model_card import file_sha256

    folder = tmp_path / "tiny"
    folder.mkdir()
    save_file(tiny_state, str(folder / "model.safetensors"))
    card = folder / "model.yaml"
    card.write_text(card_yaml("model.safetensors", file_sha256(folder / "model.safetensors")))
    return card
