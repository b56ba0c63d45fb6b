"""From a DICOM file to the network's input array, in the steps a model card describes.

The pipeline, each step timeable on its own (a latency benchmark separates them):

1. :func:`read_dicom` — parse the file (pydicom).
2. :func:`decode_pixels` — decompress Pixel Data to stored values (pylibjpeg plugins for
   JPEG, JPEG 2000, JPEG-LS and RLE transfer syntaxes).
3. :func:`apply_preprocessing` — Modality LUT (Rescale Slope/Intercept or Modality LUT
   Sequence), VOI (the file's VOI LUT Sequence, else Window Center/Width, else a percentile
   window; or a fixed or percentile window from the card) to [0, 1], MONOCHROME1 inversion,
   resize, normalisation, channel replication → ``np.float32`` array ``(C, H, W)``.

:func:`preprocess_file` chains the three. Training (``models/*/train.py``) and inference
both call it, so there is no train/serve skew.

Every problem with one file raises :class:`DicomDecodeError`, which carries the path and a
reason; the inference runner records it for that item and goes on with the others.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from valkit.errors import InputError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from valkit.model_card import Accepts, PreprocessingSpec

__all__ = [
    "DicomDecodeError",
    "ImageNotAccepted",
    "WindowChoice",
    "apply_preprocessing",
    "check_accepted",
    "choose_window",
    "decode_pixels",
    "preprocess_file",
    "read_dicom",
    "window_linear",
]

_MONOCHROME = ("MONOCHROME1", "MONOCHROME2")
_COLOR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420")


class DicomDecodeError(InputError):
    """One DICOM file could not be turned into a model input.

    ``path`` is the file, ``reason`` a short machine-friendly phrase recorded in the
    predictions table, and the message adds the fix.
    """

    def __init__(self, path: str | Path | None, reason: str, *, fix: str | None = None):
        self.path = str(path) if path is not None else "<dataset>"
        self.reason = reason
        message = f"{self.path}: {reason}"
        if fix:
            message += f". {fix}"
        super().__init__(message)


class ImageNotAccepted(DicomDecodeError):
    """A readable image that the model card does not accept (wrong modality, too small, ...).

    The inference runner records it as ``excluded`` with :attr:`reason`, not as ``failed``.
    Reasons read "<what> not accepted (model card accepts ...)"; the flow of cases groups
    them by the text before the parenthesis.
    """


def check_accepted(ds: Dataset, accepts: Accepts) -> None:
    """Raise :class:`ImageNotAccepted` when the header of ``ds`` is outside the card's ``accepts``.

    Header only (no pixel decoding), in this order: modality, photometric interpretation,
    size, then body part and view where the header has them. The first mismatch is the reason.
    """
    path = _path_of(ds)

    def term(keyword: str) -> str:
        return str(ds.get(keyword, "") or "").strip().upper()

    def refuse(what: str, found: str, allowed: tuple[str, ...]) -> None:
        raise ImageNotAccepted(path, f"{what} {found} not accepted (model card accepts {', '.join(allowed)})",
                               fix="Remove the image from the manifest, or widen accepts in the model card "
                               "if the model is validated for it")

    modality = term("Modality")
    if accepts.modalities is not None and modality not in accepts.modalities:
        refuse("modality", modality or "(not recorded)", accepts.modalities)
    photometric = term("PhotometricInterpretation")
    if accepts.photometric_interpretations is not None and photometric not in accepts.photometric_interpretations:
        refuse("photometric interpretation", photometric or "(not recorded)", accepts.photometric_interpretations)
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows < accepts.min_rows or cols < accepts.min_columns:
        raise ImageNotAccepted(
            path, f"image smaller than the minimum size ({rows}×{cols} pixels; model card minimum "
            f"{accepts.min_rows}×{accepts.min_columns})",
            fix="Remove the image from the manifest (it is too small to show the finding)")
    body_part, view = term("BodyPartExamined"), term("ViewPosition")
    if accepts.body_parts is not None and body_part and body_part not in accepts.body_parts:
        refuse("body part", body_part, accepts.body_parts)
    if accepts.views is not None and view and view not in accepts.views:
        refuse("view", view, accepts.views)


def _path_of(ds: Dataset) -> str | None:
    name = getattr(ds, "filename", None)
    return str(name) if isinstance(name, (str, Path)) and name else None


def _read_without_preamble(path: str | Path) -> Dataset | None:
    """Older files lack the preamble and file meta; accept them only if they parse as an image.

    (pydicom's advice, force=True, taken only when SOPClassUID and PixelData are present.) The
    transfer syntax is inferred from how the data set was encoded.
    """
    import pydicom
    from pydicom.dataset import FileMetaDataset

    try:
        ds = pydicom.dcmread(path, force=True)
        if "SOPClassUID" not in ds or "PixelData" not in ds:
            return None
    except Exception:  # noqa: BLE001 - anything unparsable is simply "not DICOM"
        return None
    meta = getattr(ds, "file_meta", None) or FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        little = ds.original_encoding[1] if getattr(ds, "original_encoding", None) else True
        implicit = ds.original_encoding[0] if getattr(ds, "original_encoding", None) else True
        meta.TransferSyntaxUID = (pydicom.uid.ImplicitVRLittleEndian if implicit and little
                                  else pydicom.uid.ExplicitVRLittleEndian if little
                                  else pydicom.uid.ExplicitVRBigEndian)
    ds.file_meta = meta
    return ds


def read_dicom(path: str | Path) -> Dataset:
    """Parse a DICOM Part 10 file; raise :class:`DicomDecodeError` if it is not one.

    Pixel Data is read but not decoded (see :func:`decode_pixels`).
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path)
    except InvalidDicomError:
        legacy = _read_without_preamble(path)
        if legacy is not None:
            return legacy
        raise DicomDecodeError(
            path, "not a DICOM file (no 'DICM' marker after the 128-byte preamble, and it does not parse "
            "as a DICOM image without one)",
            fix="Check the file is a DICOM file; remove it from the image folder if it is not",
        ) from None
    except FileNotFoundError:
        raise DicomDecodeError(path, "file not found", fix="Check the path in the manifest") from None
    except IsADirectoryError:
        raise DicomDecodeError(path, "is a directory, not a DICOM file") from None
    except PermissionError:
        raise DicomDecodeError(path, "permission denied", fix="Make the file readable") from None
    except (EOFError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        # pydicom reports a truncated or garbled header through any of these
        raise DicomDecodeError(
            path, f"unreadable DICOM ({type(exc).__name__}: {exc})",
            fix="The file is probably truncated or corrupt; re-export it from the archive",
        ) from None


def decode_pixels(ds: Dataset) -> np.ndarray:
    """Decode one frame's stored pixel values (before any LUT).

    Returns ``(rows, columns)`` for monochrome data and ``(rows, columns, 3)`` RGB for
    colour data (YBR is converted to RGB by pydicom). Multi-frame objects and objects without
    pixel data (structured reports, RT plans, ...) are refused with a reason.
    """
    path = _path_of(ds)
    if "PixelData" not in ds:
        sop = ds.get("SOPClassUID")
        sop_name = getattr(sop, "name", None) or "unknown SOP class"
        if "Rows" in ds or "Image" in sop_name:
            raise DicomDecodeError(
                path, f"no Pixel Data element although this is a {sop_name} object: the file is probably truncated",
                fix="Re-export the image from the archive",
            )
        raise DicomDecodeError(
            path, f"no Pixel Data: {sop_name} ({sop or 'no SOP Class UID'}) is not an image object",
            fix="Only image objects (e.g. Digital X-Ray, Computed Radiography, Secondary Capture) can be scored; "
            "remove non-image objects from the manifest",
        )
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise DicomDecodeError(
            path, f"multi-frame image ({frames} frames); the model takes a single 2D image",
            fix="Split the object into single-frame images, or list only single-frame images in the manifest",
        )
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a property of this file
        raise DicomDecodeError(
            path, f"pixel data cannot be decoded ({type(exc).__name__}: {exc})",
            fix="The file may be truncated or use a transfer syntax with no installed decoder; "
            f"transfer syntax: {_transfer_syntax(ds)}",
        ) from None
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[-1] != 3):
        raise DicomDecodeError(path, f"unexpected decoded pixel array of shape {pixels.shape}")
    return pixels


def _transfer_syntax(ds: Dataset) -> str:
    uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    return f"{uid.name} ({uid})" if uid is not None else "unknown"


@dataclass(frozen=True)
class WindowChoice:
    """The VOI transform chosen for one image: ``kind`` is ``voi_lut``, ``window`` or ``percentile``."""

    kind: str
    center: float | None = None
    width: float | None = None
    function: str = "LINEAR"


def choose_window(ds: Dataset, spec: PreprocessingSpec) -> WindowChoice:
    """Which VOI transform :func:`apply_preprocessing` will use for this dataset and card."""
    window = spec.window
    if window.source == "fixed":
        return WindowChoice("window", float(window.center), float(window.width), "LINEAR")
    if window.source == "dicom":
        lut = ds.get("VOILUTSequence")
        if lut and lut[0].get("LUTDescriptor") is not None and lut[0].get("LUTData") is not None:
            return WindowChoice("voi_lut")
        if ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
            center, width = _first(ds["WindowCenter"].value), _first(ds["WindowWidth"].value)
            function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
            if width > 0 and function in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
                return WindowChoice("window", center, width, function)
    return WindowChoice("percentile")


def _first(value: object) -> float:
    # Window Center/Width may hold several alternative windows (VM 1-n); the first is the default
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        value = value[0]
    return float(value)  # type: ignore[arg-type]


def window_linear(values: np.ndarray, center: float, width: float, *, function: str = "LINEAR") -> np.ndarray:
    """Apply a DICOM window (PS3.3 C.11.2.1.2) with output in [0, 1] instead of the display range.

    ``LINEAR`` is the standard's default (with its half-pixel offsets), ``LINEAR_EXACT``
    maps ``[c - w/2, c + w/2]`` straight onto [0, 1], ``SIGMOID`` is the logistic curve.

    Examples
    --------
    >>> window_linear(np.array([0.0, 40.0, 80.0]), 40.0, 80.0, function="LINEAR_EXACT")
    array([0. , 0.5, 1. ])
    """
    values = np.asarray(values, dtype=np.float64)
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR":
        center, width = center - 0.5, max(width - 1.0, 1e-6)
    out = (values - center) / width + 0.5
    return np.clip(out, 0.0, 1.0)


def _percentile_window(values: np.ndarray, low: float, high: float) -> np.ndarray:
    lo, hi = np.percentile(values, [low, high])
    if not hi > lo:  # a flat image: nothing to show, and no division by zero
        return np.zeros(values.shape, dtype=np.float64)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0)


def _voi_lut(stored: np.ndarray, ds: Dataset) -> np.ndarray:
    from pydicom.pixels import apply_voi

    depth = int(ds.VOILUTSequence[0].LUTDescriptor[2])
    # LUT input is the Modality LUT output, which is integral for LUT-bearing images
    out = apply_voi(np.rint(stored).astype(np.int64), ds)
    return out.astype(np.float64) / float(2**depth - 1)


def _to_gray(pixels: np.ndarray, ds: Dataset, spec: PreprocessingSpec, path: str | None) -> tuple[np.ndarray, str]:
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if pixels.ndim == 3 or photometric in _COLOR:
        if spec.color == "reject":
            raise DicomDecodeError(
                path, f"colour image ({photometric or 'RGB'}); this model takes grayscale radiographs",
                fix="Set preprocessing.color: luminance in the model card to convert colour to gray, "
                "or remove the image from the manifest",
            )
        if pixels.ndim != 3:
            raise DicomDecodeError(path, f"{photometric} image decoded with shape {pixels.shape}, expected (H, W, 3)")
        rgb = pixels.astype(np.float64)
        # ITU-R BT.601 luma, the same weights as YBR_FULL
        return rgb @ np.array([0.299, 0.587, 0.114]), "RGB"
    if photometric not in _MONOCHROME:
        raise DicomDecodeError(
            path, f"unsupported Photometric Interpretation '{photometric or 'missing'}'",
            fix="valkit reads MONOCHROME1, MONOCHROME2 and (with preprocessing.color: luminance) RGB/YBR images",
        )
    from pydicom.pixels import apply_modality_lut

    return np.asarray(apply_modality_lut(pixels, ds), dtype=np.float64), photometric


def _resize(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    if image.shape == tuple(size):
        return image
    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    if method == "area":
        out = F.interpolate(tensor, size=tuple(size), mode="area")
    else:  # antialias so that downsampling a 2k radiograph does not alias fine texture
        out = F.interpolate(tensor, size=tuple(size), mode=method, align_corners=False, antialias=True)
    return out[0, 0].numpy()


def apply_preprocessing(pixels: np.ndarray, ds: Dataset, spec: PreprocessingSpec) -> np.ndarray:
    """Turn decoded stored values into the network input: ``np.float32`` of shape ``(channels, H, W)``.

    ``ds`` supplies the LUT, window and photometric attributes; ``spec`` is a model card's
    ``preprocessing`` section. Values lie in [0, 1] after windowing (0 = black as displayed,
    so MONOCHROME1 images are inverted) and before normalisation.
    """
    path = _path_of(ds)
    gray, photometric = _to_gray(pixels, ds, spec, path)
    choice = choose_window(ds, spec) if photometric in _MONOCHROME else WindowChoice("percentile")
    try:
        if choice.kind == "voi_lut":
            shown = _voi_lut(gray, ds)
        elif choice.kind == "window":
            shown = window_linear(gray, choice.center, choice.width, function=choice.function)
        else:
            shown = _percentile_window(gray, *spec.window.percentiles)
    except (ValueError, TypeError, AttributeError, IndexError, NotImplementedError) as exc:
        raise DicomDecodeError(path, f"cannot apply the VOI LUT ({type(exc).__name__}: {exc})",
                               fix="Use preprocessing.window.source: percentile in the model card") from None
    if photometric == "MONOCHROME1" and spec.invert_monochrome1:
        shown = 1.0 - shown
    image = _resize(shown.astype(np.float32), spec.size, spec.resize)
    norm = spec.normalization
    if norm.method == "fixed":
        image = (image - norm.mean) / norm.std
    elif norm.method == "image_zscore":
        image = (image - image.mean()) / max(float(image.std()), 1e-6)
    out = np.repeat(image[None].astype(np.float32, copy=False), spec.channels, axis=0)
    if not np.isfinite(out).all():
        raise DicomDecodeError(path, "preprocessing produced non-finite values (NaN or inf in the pixel data?)")
    return out


def preprocess_file(path: str | Path, spec: PreprocessingSpec, accepts: Accepts | None = None) -> np.ndarray:
    """Read, decode and preprocess one DICOM file: ``np.float32`` array ``(channels, H, W)``.

    With ``accepts`` (a model card's ``accepts`` block) the header is checked first
    (:func:`check_accepted`), before any pixel is decoded.

    Raises :class:`DicomDecodeError` (an :class:`~valkit.errors.InputError`) naming the path
    and the reason when this file cannot be used; :class:`ImageNotAccepted` (a subclass) when
    it is readable but outside what the model accepts.
    """
    ds = read_dicom(path)
    if accepts is not None:
        check_accepted(ds, accepts)
    return apply_preprocessing(decode_pixels(ds), ds, spec)
