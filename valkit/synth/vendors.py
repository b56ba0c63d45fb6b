"""Fictional vendors and sites of the phantom study, as data.

Every name here is invented. The tables are chosen to make a useful demo of a
multi-site validation study:

* four sites in two countries with different disease prevalence (15-35 %),
  age and sex mixes, and different amounts of missing demographics;
* four vendors whose acquisition physics differ (quantum noise, detector blur,
  scatter, tone curve, bit depth, matrix and pixel spacing) and whose files differ
  the way real ones do (MONOCHROME1 vs MONOCHROME2, transfer syntax, PixelSpacing vs
  ImagerPixelSpacing, DX vs CR);
* one vendor, ``Cobalt Medical``, is the *harder* one: a computed-radiography
  reader with more noise, more blur, more scatter and a flatter tone curve, on
  which a nodule detector should do visibly worse;
* every vendor is used at two sites and every site uses two vendors, so vendor and
  site effects are not completely confounded.

Examples
--------
>>> vendor_by_key("cobalt").photometric
'MONOCHROME2'
>>> sorted(v.key for v in VENDORS)
['acme', 'borealis', 'cobalt', 'delta']
>>> round(sum(s.share for s in SITES), 6)
1.0
"""
from __future__ import annotations

from dataclasses import dataclass

from valkit.errors import InputError
from valkit.suggest import did_you_mean

# Transfer syntax UIDs, spelled out so this module does not need pydicom.
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"

# SOP classes
DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"


@dataclass(frozen=True)
class Vendor:
    """One fictional X-ray system: how it acquires, processes and stores an image.

    Physics (see :mod:`valkit.synth.render`):

    ``quanta_lung``
        Mean detected X-ray quanta per pixel behind aerated lung; quantum noise is
        Poisson, so relative noise in the lung is about ``1/sqrt(quanta_lung)``
        and grows behind dense tissue.
    ``blur_mm``
        Standard deviation (mm) of the Gaussian detector point-spread function.
    ``scatter_fraction``
        Scatter-to-primary ratio reaching the detector (anti-scatter grid or not);
        scatter adds a smooth background and lowers contrast.
    ``tone_slope``
        Slope of the sigmoid tone curve applied to the log image; lower is flatter
        (less displayed contrast).
    ``edge_enhancement``
        Gain of unsharp-mask processing (0 = none).
    ``kvp``
        Tube voltage; higher kVp lowers bone contrast.

    Storage: ``modality`` ('DX' or 'CR'), ``photometric``, ``bits_stored``,
    ``matrix`` (stored rows = columns), ``pixel_spacing_mm``, ``transfer_syntax``
    (UID), which spacing attributes are written (``spacing_tags``) and whether
    PatientAge is written (``writes_patient_age``; a legacy CR reader that does not
    forces readers to derive age from PatientBirthDate and StudyDate).
    """

    key: str
    manufacturer: str
    model_name: str
    modality: str
    photometric: str
    bits_stored: int
    matrix: int
    pixel_spacing_mm: float
    transfer_syntax: str
    spacing_tags: tuple[str, ...]
    kvp: float
    quanta_lung: float
    blur_mm: float
    scatter_fraction: float
    tone_slope: float
    edge_enhancement: float
    software_version: str
    detector_type: str
    writes_patient_age: bool = True

    @property
    def sop_class_uid(self) -> str:
        return DX_FOR_PRESENTATION if self.modality == "DX" else CR_IMAGE_STORAGE

    @property
    def max_value(self) -> int:
        return (1 << self.bits_stored) - 1

    @property
    def field_of_view_mm(self) -> float:
        return self.matrix * self.pixel_spacing_mm


@dataclass(frozen=True)
class Site:
    """One fictional hospital: who it images, with which vendors, and what it records.

    ``share`` is the expected fraction of *patients* from this site.
    ``prevalence`` is the probability that a patient has a nodule (all of that
    patient's images then show it). Age is drawn from a normal distribution with
    ``age_mean``/``age_sd`` clipped to [18, 90]. ``missing_demographics`` is the
    probability that a patient's sex and age are not recorded in DICOM.
    ``ethnicity`` maps category to probability; empty when the site does not record
    it (then the labels file leaves it blank); ``ethnicity_missing`` is the fraction
    left blank where it is recorded.
    """

    key: str
    institution_name: str
    city: str
    country: str
    share: float
    prevalence: float
    vendors: tuple[tuple[str, float], ...]
    male_fraction: float
    age_mean: float
    age_sd: float
    missing_demographics: float
    ethnicity: tuple[tuple[str, float], ...]
    ethnicity_missing: float
    patient_id_prefix: str


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        key="acme",
        manufacturer="Acme Radiography",
        model_name="AR-5000 DR",
        modality="DX",
        photometric="MONOCHROME1",
        bits_stored=12,
        matrix=512,
        pixel_spacing_mm=0.76,
        transfer_syntax=RLE_LOSSLESS,
        spacing_tags=("ImagerPixelSpacing",),
        kvp=110.0,
        quanta_lung=900.0,
        blur_mm=0.45,
        scatter_fraction=0.35,
        tone_slope=5.0,
        edge_enhancement=0.8,
        software_version="AR-PROC 4.2.1",
        detector_type="SCINTILLATOR",
    ),
    Vendor(
        key="borealis",
        manufacturer="Borealis Imaging",
        model_name="Aurora 14",
        modality="DX",
        photometric="MONOCHROME2",
        bits_stored=14,
        matrix=576,
        pixel_spacing_mm=0.70,
        transfer_syntax=JPEG2000_LOSSLESS,
        spacing_tags=("ImagerPixelSpacing", "PixelSpacing"),
        kvp=120.0,
        quanta_lung=1400.0,
        blur_mm=0.35,
        scatter_fraction=0.30,
        tone_slope=5.5,
        edge_enhancement=1.0,
        software_version="Aurora 7.0",
        detector_type="DIRECT",
    ),
    Vendor(
        key="cobalt",
        manufacturer="Cobalt Medical",
        model_name="CR-200",
        modality="CR",
        photometric="MONOCHROME2",
        bits_stored=10,
        matrix=448,
        pixel_spacing_mm=0.90,
        transfer_syntax=IMPLICIT_VR_LITTLE_ENDIAN,
        spacing_tags=("PixelSpacing",),
        kvp=90.0,
        quanta_lung=200.0,
        blur_mm=1.1,
        scatter_fraction=0.9,
        tone_slope=3.6,
        edge_enhancement=0.15,
        software_version="CR-200 2.3",
        detector_type="STORAGE",
        writes_patient_age=False,
    ),
    Vendor(
        key="delta",
        manufacturer="Delta Diagnostics",
        model_name="DeltaView 3",
        modality="DX",
        photometric="MONOCHROME2",
        bits_stored=12,
        matrix=480,
        pixel_spacing_mm=0.80,
        transfer_syntax=EXPLICIT_VR_LITTLE_ENDIAN,
        spacing_tags=("ImagerPixelSpacing", "PixelSpacing"),
        kvp=115.0,
        quanta_lung=700.0,
        blur_mm=0.55,
        scatter_fraction=0.45,
        tone_slope=4.5,
        edge_enhancement=0.6,
        software_version="DV 3.1.4",
        detector_type="SCINTILLATOR",
    ),
)

_US_ETHNICITY_CHICAGO = (
    ("White", 0.45),
    ("Black", 0.30),
    ("Hispanic", 0.15),
    ("Asian", 0.06),
    ("Other", 0.04),
)
_US_ETHNICITY_PORTLAND = (
    ("White", 0.70),
    ("Hispanic", 0.12),
    ("Asian", 0.10),
    ("Black", 0.04),
    ("Other", 0.04),
)

SITES: tuple[Site, ...] = (
    Site(
        key="pune",
        institution_name="Sahyadri Chest Hospital",
        city="Pune",
        country="India",
        share=0.25,
        prevalence=0.28,
        vendors=(("acme", 0.5), ("cobalt", 0.5)),
        male_fraction=0.60,
        age_mean=44.0,
        age_sd=15.0,
        missing_demographics=0.03,
        ethnicity=(),
        ethnicity_missing=0.0,
        patient_id_prefix="SCH",
    ),
    Site(
        key="varanasi",
        institution_name="Ganga Valley Medical College",
        city="Varanasi",
        country="India",
        share=0.20,
        prevalence=0.35,
        vendors=(("cobalt", 0.7), ("delta", 0.3)),
        male_fraction=0.65,
        age_mean=40.0,
        age_sd=14.0,
        missing_demographics=0.08,
        ethnicity=(),
        ethnicity_missing=0.0,
        patient_id_prefix="GVM",
    ),
    Site(
        key="chicago",
        institution_name="Lakeshore Memorial Hospital",
        city="Chicago",
        country="USA",
        share=0.30,
        prevalence=0.20,
        vendors=(("borealis", 0.6), ("acme", 0.4)),
        male_fraction=0.47,
        age_mean=58.0,
        age_sd=14.0,
        missing_demographics=0.015,
        ethnicity=_US_ETHNICITY_CHICAGO,
        ethnicity_missing=0.08,
        patient_id_prefix="LMH",
    ),
    Site(
        key="portland",
        institution_name="Cascade Valley Medical Center",
        city="Portland",
        country="USA",
        share=0.25,
        prevalence=0.15,
        vendors=(("borealis", 0.5), ("delta", 0.5)),
        male_fraction=0.50,
        age_mean=62.0,
        age_sd=13.0,
        missing_demographics=0.01,
        ethnicity=_US_ETHNICITY_PORTLAND,
        ethnicity_missing=0.15,
        patient_id_prefix="CVM",
    ),
)

_VENDORS_BY_KEY = {v.key: v for v in VENDORS}
_SITES_BY_KEY = {s.key: s for s in SITES}


def _lookup(table: dict, key: str, what: str):
    try:
        return table[key]
    except KeyError:
        raise InputError(
            f"unknown {what} '{key}'.{did_you_mean(key, table)} Valid: {', '.join(sorted(table))}."
        ) from None


def vendor_by_key(key: str) -> Vendor:
    """Return the :class:`Vendor` called ``key`` (e.g. ``'acme'``); unknown keys raise InputError."""
    return _lookup(_VENDORS_BY_KEY, key, "vendor")


def site_by_key(key: str) -> Site:
    """Return the :class:`Site` called ``key`` (e.g. ``'pune'``); unknown keys raise InputError."""
    return _lookup(_SITES_BY_KEY, key, "site")
