"""The phantom images: valid DICOM per vendor, lossless round trip, anatomy not noise."""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import pydicom
import pytest

from valkit.synth import VENDORS, iter_cases, render_image, sample_nodule
from valkit.synth.anatomy import lung_air_depth
from valkit.synth.dicom_writer import encode_dicom
from valkit.synth.render import apply_window

REQUIRED = (
    "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID", "PatientName",
    "PatientSex", "PatientBirthDate", "StudyDate", "StudyTime", "Modality", "Manufacturer",
    "ManufacturerModelName", "InstitutionName", "KVP", "WindowCenter", "WindowWidth", "Rows", "Columns",
    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PhotometricInterpretation",
    "SamplesPerPixel", "ViewPosition", "BodyPartExamined", "PatientOrientation",
)


def _positive_case():
    return next(c for c in iter_cases(40, seed=3) if c.label == 1)


def _on_vendor(spec, vendor):
    return dataclasses.replace(spec, vendor=vendor, params=dataclasses.replace(spec.params, vendor=vendor))


@pytest.fixture(scope="module", params=[v.key for v in VENDORS])
def vendor_case(request):
    vendor = next(v for v in VENDORS if v.key == request.param)
    spec = _on_vendor(_positive_case(), vendor)
    image = render_image(spec.params, spec.noise_rng())
    ds = pydicom.dcmread(io.BytesIO(encode_dicom(spec, image)))
    return vendor, spec, image, ds


def test_dicom_is_valid_and_lossless(vendor_case):
    vendor, spec, image, ds = vendor_case
    assert ds.file_meta.TransferSyntaxUID == vendor.transfer_syntax
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.SOPClassUID == vendor.sop_class_uid and ds.Modality == vendor.modality
    for keyword in REQUIRED:
        assert keyword in ds, keyword
    assert any(k in ds for k in ("PixelSpacing", "ImagerPixelSpacing"))
    assert ds.PhotometricInterpretation == vendor.photometric
    assert (ds.Rows, ds.Columns, ds.BitsStored) == (vendor.matrix, vendor.matrix, vendor.bits_stored)
    pixels = ds.pixel_array
    np.testing.assert_array_equal(pixels, image.pixels)
    assert int(pixels.max()) <= vendor.max_value
    assert ("PatientAge" in ds) == vendor.writes_patient_age


def test_monochrome1_and_compressed_syntaxes_are_used():
    assert "MONOCHROME1" in {v.photometric for v in VENDORS}
    syntaxes = {v.transfer_syntax for v in VENDORS}
    assert {"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.90"} <= syntaxes  # RLE, JPEG 2000 lossless


def test_lungs_darker_than_mediastinum_and_nodule_brighter(vendor_case):
    vendor, spec, image, ds = vendor_case
    disp = apply_window(ds.pixel_array, float(ds.WindowCenter), float(ds.WindowWidth), ds.PhotometricInterpretation)
    lung = disp[image.lung_mask].mean()
    rows = np.nonzero(image.lung_mask.any(axis=1))[0]
    centre = ds.Columns // 2
    half = max(int(8.0 / vendor.pixel_spacing_mm), 2)
    mediastinum = disp[rows[0]:rows[-1], centre - half:centre + half].mean()
    assert lung + 0.2 < mediastinum, (lung, mediastinum)
    outside = disp[:, :3].mean()  # direct exposure beside the body
    assert outside < lung
    # the nodule (made large and solid here) is brighter than the lung around it
    nodule = sample_nodule(np.random.default_rng(0), spec.params.anatomy, diameter_mm=24.0, contrast=1.0)
    big = dataclasses.replace(spec.params, nodule=nodule)
    img = render_image(big, spec.noise_rng())
    x0, y0, x1, y1 = img.lesion_box
    d = img.display()
    inner = d[y0 + (y1 - y0) // 3:y1 - (y1 - y0) // 3, x0 + (x1 - x0) // 3:x1 - (x1 - x0) // 3].mean()
    pad = (x1 - x0) // 2
    ring = d[max(y0 - pad, 0):y1 + pad, max(x0 - pad, 0):x1 + pad]
    assert inner > np.median(ring) + 0.03


def test_lesion_boxes_lie_in_the_lung_fields():
    checked = 0
    for spec in iter_cases(300, seed=21):
        if not spec.label:
            continue
        nod = spec.params.nodule
        a = spec.params.anatomy
        assert lung_air_depth(a, np.array([nod.x_mm]), np.array([nod.y_mm]))[0] > 0
        if checked < 6:
            img = render_image(spec.params, spec.noise_rng())
            x0, y0, x1, y1 = img.lesion_box
            m = spec.vendor.matrix
            assert 0 <= x0 < x1 <= m and 0 <= y0 < y1 <= m
            assert img.lung_mask[(y0 + y1) // 2, (x0 + x1) // 2]
            # box size matches the nodule: diameter / pixel spacing, give or take the lobulation
            width_px = (x1 - x0) * spec.vendor.pixel_spacing_mm
            assert nod.diameter_mm <= width_px <= 1.4 * nod.diameter_mm + 3 * spec.vendor.pixel_spacing_mm
        checked += 1
    assert checked > 30


def test_harder_vendor_has_lowest_nodule_contrast_to_noise():
    """Cobalt (CR: noise, blur, scatter, flat tone curve) must make nodules hardest to see."""
    spec = _positive_case()
    nodule = sample_nodule(np.random.default_rng(0), spec.params.anatomy, diameter_mm=10.0, contrast=0.6)
    cnr = {}
    for v in VENDORS:
        s = _on_vendor(spec, v)
        with_n = dataclasses.replace(s.params, nodule=nodule)
        without = dataclasses.replace(s.params, nodule=None)
        a = render_image(with_n, np.random.default_rng(1))
        signal = a.display() - render_image(without, np.random.default_rng(1)).display()
        noise = a.display() - render_image(with_n, np.random.default_rng(2)).display()
        x0, y0, x1, y1 = a.lesion_box
        core = signal[y0 + (y1 - y0) // 4:y1 - (y1 - y0) // 4, x0 + (x1 - x0) // 4:x1 - (x1 - x0) // 4]
        cnr[v.key] = float(core.mean() / (np.std(noise[a.lung_mask]) / np.sqrt(2)))
    assert min(cnr, key=cnr.get) == "cobalt", cnr
    assert cnr["cobalt"] < 0.6 * cnr["borealis"], cnr
