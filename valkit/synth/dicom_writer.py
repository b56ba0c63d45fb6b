"""Write one synthetic radiograph as a DICOM DX (For Presentation) or CR object.

Every file is marked as synthetic (ImageComments, PatientName ``PHANTOM^...``) and
carries the vendor's acquisition and storage attributes. UIDs are derived from the
study seed as name-based UUIDs in ``2.25.`` form, dates and times
come from the case list, and no wall clock is read, so the bytes of a file depend
only on (seed, image index, generator version, pydicom and codec versions).

Demographics that are unknown are written as empty Type 2 attributes (PatientSex,
PatientBirthDate) and PatientAge (Type 3) is left out; vendors that never write
PatientAge (``Vendor.writes_patient_age`` False) leave it out always, so a reader
must be able to fall back to PatientBirthDate and StudyDate.
"""
from __future__ import annotations

import io
import uuid

import numpy as np

from valkit.synth.cases import GENERATOR_VERSION, CaseSpec
from valkit.synth.render import RenderedImage
from valkit.synth.vendors import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    JPEG2000_LOSSLESS,
    RLE_LOSSLESS,
)

IMPLEMENTATION_VERSION_NAME = "VALKIT_SYNTH_" + GENERATOR_VERSION


_UID_NAMESPACE = uuid.UUID("6f0c6a36-3c55-5a43-9d55-76616c6b6974")


def _uid(*parts: str) -> str:
    # 2.25.<UUID as integer> (PS3.5 B.2); a name-based (SHA-1) UUID makes it a pure
    # function of the parts. pydicom's generate_uid(prefix=None) ignores entropy
    # sources and returns a random UUID, so it cannot be used here.
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, '/'.join(parts)).int}"


def case_uids(spec: CaseSpec) -> tuple[str, str, str]:
    """(StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID) of a case, derived from the seed."""
    base = ("valkit-synth", GENERATOR_VERSION, str(spec.seed), str(spec.patient_index), str(spec.visit))
    return _uid(*base, "study"), _uid(*base, "series"), _uid(*base, "image", str(spec.index))


def _ds_number(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


def build_dataset(spec: CaseSpec, image: RenderedImage):
    """The pydicom Dataset (with file meta) for ``spec`` rendered as ``image``; pixels not yet encoded."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

    v = spec.vendor
    study_uid, series_uid, sop_uid = case_uids(spec)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = v.sop_class_uid
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = EXPLICIT_VR_LITTLE_ENDIAN
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = v.sop_class_uid
    ds.SOPInstanceUID = sop_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.InstanceCreationDate = spec.study_date
    ds.InstanceCreationTime = spec.study_time
    # patient
    ds.PatientName = f"PHANTOM^{spec.patient_id}"
    ds.PatientID = spec.patient_id
    ds.IssuerOfPatientID = spec.site.patient_id_prefix
    ds.PatientBirthDate = spec.birth_date
    ds.PatientSex = spec.recorded_sex
    if spec.recorded_age is not None and v.writes_patient_age:
        ds.PatientAge = f"{spec.recorded_age:03d}Y"
    ds.PatientIdentityRemoved = "NO"
    # study / series / equipment
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = spec.study_date
    ds.StudyTime = spec.study_time
    ds.AccessionNumber = spec.accession_number
    ds.ReferringPhysicianName = ""
    ds.StudyID = f"{spec.visit}"
    ds.StudyDescription = "CHEST PA"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = 1
    ds.SeriesDate = spec.study_date
    ds.SeriesTime = spec.study_time
    ds.Modality = v.modality
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.Manufacturer = v.manufacturer
    ds.ManufacturerModelName = v.model_name
    ds.InstitutionName = spec.site.institution_name
    ds.InstitutionAddress = f"{spec.site.city}, {spec.site.country}"
    ds.StationName = f"{spec.site.key[:3].upper()}-{v.key[:3].upper()}-01"
    ds.DeviceSerialNumber = f"{v.key[:2].upper()}{abs(hash_text(spec.site.key + v.key)) % 10**6:06d}"
    ds.SoftwareVersions = v.software_version
    # image
    ds.InstanceNumber = 1
    ds.ContentDate = spec.study_date
    ds.ContentTime = spec.study_time
    ds.AcquisitionDate = spec.study_date
    ds.AcquisitionTime = spec.study_time
    ds.PatientOrientation = ["L", "F"]
    ds.ImageLaterality = "U"
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.ImageComments = "SYNTHETIC PHANTOM IMAGE - valkit synth - not a patient"
    ds.KVP = _ds_number(v.kvp)
    ds.ExposureInuAs = int(round(1000 * (2.0 + 0.02 * spec.params.anatomy.ap_depth)))
    ds.DistanceSourceToDetector = "1800"
    for tag in v.spacing_tags:
        setattr(ds, tag, [_ds_number(v.pixel_spacing_mm)] * 2)
    if v.modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.DetectorType = v.detector_type
        ds.PixelIntensityRelationship = "LOG"
        ds.PixelIntensityRelationshipSign = 1 if v.photometric == "MONOCHROME1" else -1
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = "1"
        ds.RescaleType = "US"
        ds.PresentationLUTShape = "INVERSE" if v.photometric == "MONOCHROME1" else "IDENTITY"
        ds.AnatomicRegionSequence = [_code("51185008", "SCT", "Chest")]
        ds.ViewCodeSequence = [_code("399348003", "SCT", "postero-anterior")]
        ds.PositionerType = "NONE"
        ds.AcquisitionContextSequence = []
    ds.WindowCenter = str(image.window_center)
    ds.WindowWidth = str(image.window_width)
    ds.VOILUTFunction = "LINEAR"
    # pixels
    rows, cols = image.pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = image.photometric
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = image.bits_stored
    ds.HighBit = image.bits_stored - 1
    ds.PixelRepresentation = 0
    return ds


def hash_text(text: str) -> int:
    """A stable (not salted like ``hash()``) integer hash of ``text``."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")


def _code(value: str, scheme: str, meaning: str):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def encode_dicom(spec: CaseSpec, image: RenderedImage) -> bytes:
    """The complete DICOM Part 10 file for ``spec``/``image``, in the vendor's transfer syntax."""
    from pydicom import dcmwrite

    ds = build_dataset(spec, image)
    arr = np.ascontiguousarray(image.pixels, dtype=np.uint16)
    ts = spec.vendor.transfer_syntax
    if ts in (EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN):
        ds.file_meta.TransferSyntaxUID = ts
        ds.PixelData = arr.tobytes()
        ds["PixelData"].VR = "OW"
    elif ts == RLE_LOSSLESS:
        ds.compress(ts, arr, encoding_plugin=_rle_plugin(), generate_instance_uid=False)
    elif ts == JPEG2000_LOSSLESS:
        ds.compress(ts, arr, encoding_plugin="pylibjpeg", generate_instance_uid=False)
    else:  # pragma: no cover - the vendor table only uses the four above
        raise ValueError(f"unsupported transfer syntax {ts}")
    buf = io.BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def _rle_plugin() -> str:
    """pylibjpeg-rle (fast, compiled) when installed, else pydicom's own RLE encoder."""
    from pydicom.pixels.encoders import RLELosslessEncoder

    return "pylibjpeg" if "pylibjpeg" in RLELosslessEncoder.available_plugins else "pydicom"
