"""Small, real fixtures for tests (valkit's own and a user's): a tiny seeded model card.

The network is a real MONAI DenseNet with a few hundred parameters, so loaders, the predictor,
Grad-CAM and latency code run for real on the CPU in milliseconds.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

TINY_PARAMS = {"init_features": 4, "growth_rate": 4, "block_config": [1, 1], "bn_size": 2}


def card_yaml(weights: str, sha256: str, *, size=(32, 32), extra: str = "", params=None,
              card_id: str = "tiny-test", window: str = "{source: dicom, percentiles: [1, 99]}",
              target_layer: str | None = "features.denseblock2") -> str:
    """The text of a valid model card for the tiny DenseNet (``extra`` is appended verbatim)."""
    params = TINY_PARAMS if params is None else params
    explain = f"explainability: {{target_layer: {target_layer}}}\n" if target_layer else ""
    return textwrap.dedent(f"""\
        id: {card_id}
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
          window: {window}
          size: [{size[0]}, {size[1]}]
          normalization: {{method: fixed, mean: 0.5, std: 0.25}}
        output: {{positive_label: finding present}}
        threshold: {{value: 0.5, rule: youden, tuning_set: none}}
        weights: {{file: {weights}, sha256: "{sha256}"}}
        """) + explain + extra


def tiny_state(params: dict | None = None, *, seed: int = 0) -> dict:
    """State dict of the tiny DenseNet, seeded."""
    import monai.networks.nets as nets
    import torch

    torch.manual_seed(seed)
    net = nets.DenseNet(spatial_dims=2, in_channels=1, out_channels=1, **(params or TINY_PARAMS))
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


def write_tiny_model(folder: str | Path, *, params: dict | None = None, seed: int = 0, **card_options) -> Path:
    """Write safetensors weights and a matching card into ``folder``; return the card path."""
    from safetensors.torch import save_file

    from valkit.digests import file_sha256

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "model.safetensors"
    save_file(tiny_state(params, seed=seed), str(weights))
    card = folder / "model.yaml"
    card.write_text(card_yaml(weights.name, file_sha256(weights), params=params, **card_options))
    return card


def write_dicom(path: str | Path, pixels, *, window: tuple[float, float] | None = (2048, 4096), rle: bool = False,
                patient_id: str = "TEST-1", patient_name: str | None = None, tags: dict | None = None) -> Path:
    """A valid 12-bit MONOCHROME2 DX image (uncompressed, or RLE Lossless with ``rle``)."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.PatientID = patient_id
    if patient_name is not None:
        ds.PatientName = patient_name
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.SamplesPerPixel = 1
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    for keyword, value in (tags or {}).items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(pixels, dtype=np.uint16).tobytes()
    if rle:
        ds.compress(RLELossless)
    ds.save_as(path, enforce_file_format=True)
    return Path(path)


# ----------------------------------------------------------------------------- runner fakes
# Stand-ins for decoding and scoring, so the inference runners (local and Ray) can be tested on
# plain files in milliseconds. Module-level functions: Ray sends them to its workers by reference.

def fake_preprocess(path: str):
    """Deterministic stand-in for DICOM decoding: the file's bytes set the pixel values; a file that
    starts with ``CORRUPT`` cannot be decoded (ValueError)."""
    import numpy as np

    data = Path(path).read_bytes()
    if data.startswith(b"CORRUPT"):
        raise ValueError("cannot decode pixel data")
    return np.full((1, 4, 4), (sum(data) % 997) / 997.0, dtype=np.float32)


def fake_predict(x):
    """Stand-in model: each image's mean pixel value; above 0.99 it returns NaN (a model that fails)."""
    import numpy as np

    v = x.mean(dim=(1, 2, 3)).numpy()
    return np.where(v > 0.99, np.nan, v)


def load_fake_predict():
    """:func:`fake_predict`, as a Ray model actor loads its predictor."""
    return fake_predict


def fake_image_table(folder: Path, n: int, corrupt=(), missing=(), nan=()):
    """``n`` small files for :func:`fake_preprocess` and their table (case_id, abs_path, sha256): the
    indices in ``corrupt`` cannot be decoded, those in ``missing`` do not exist, those in ``nan`` make
    :func:`fake_predict` return NaN."""
    import pandas as pd

    from valkit.digests import file_sha256

    rows = []
    for i in range(n):
        p = Path(folder) / f"img{i:03d}.bin"
        if i in corrupt:
            p.write_bytes(b"CORRUPT")
        elif i in nan:
            p.write_bytes(b"\x01" * 996)  # byte sum 996 -> value 0.999 -> fake model returns NaN
        elif i not in missing:
            p.write_bytes(f"image {i}".encode())
        rows.append({"case_id": f"C{i:03d}", "abs_path": str(p), "sha256": file_sha256(p) if p.exists() else ""})
    return pd.DataFrame(rows)


def card_model_block(**fields) -> dict:
    """A valid results.json ``model`` block of a model card (:class:`valkit.results_schema.run_info.ModelCardModel`),
    for grafting onto a results.json written from external scores; ``fields`` replace or add keys."""
    return {"kind": "model_card", "card_path": "models/tiny/model.yaml", "id": "tiny", "name": "Tiny DenseNet",
            "version": "1.0", "finding": "nodule", "intended_use": "", "architecture": "DenseNet121",
            "architecture_params": {}, "input_size": [32, 32], "window": "none", "weights_file": "weights.pt",
            "weights_sha256": "0" * 64, "threshold": 0.5, "threshold_rule": "fixed", "threshold_tuning_set": None,
            "limitations": [], "training": None, "explainability_target_layer": None, **fields}
