"""Who is imaged where, on what, and with what finding: the case list of a phantom study.

:func:`iter_cases` yields one :class:`CaseSpec` per image, lazily, so a study of
any size is generated one image at a time. Everything about case ``i`` is drawn
from random streams keyed by ``(seed, patient)`` and ``(seed, image)``
(:class:`numpy.random.SeedSequence` spawn keys), so

* the same ``seed`` always gives the same cases;
* the first ``k`` images of a study of ``n > k`` images are the same as a study of
  ``k`` images (except that the last patient may have fewer visits);
* different seeds give independent studies (use them for train / tune / test sets).

Patients and visits: each patient belongs to one site and has 1-3 images
(probabilities 0.60 / 0.28 / 0.12); **each image is its own study (visit)** with its
own StudyInstanceUID, on a later date, possibly on another of the site's vendors.
A patient's nodule status is a property of the patient: all of a positive
patient's images show the same nodule (same anatomical place, size and density),
so images of one patient are correlated and analyses should cluster by
``patient_pseudo_id``.

Examples
--------
>>> cases = list(iter_cases(5, seed=1))
>>> [c.case_id for c in cases]
['C000001', 'C000002', 'C000003', 'C000004', 'C000005']
>>> cases[0] == list(iter_cases(5, seed=1))[0]
True
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from valkit.synth.anatomy import sample_anatomy, sample_nodule, sample_pose
from valkit.synth.render import ImageParams
from valkit.synth.vendors import SITES, Site, Vendor, vendor_by_key

GENERATOR_VERSION = "7"
VISIT_PROBABILITIES = (0.60, 0.28, 0.12)
_BASE_DATE = _dt.date(2025, 1, 6)
# spawn-key namespaces of the random streams
_PATIENT_STREAM, _IMAGE_STREAM = 1, 2


@dataclass(frozen=True)
class CaseSpec:
    """One image of the study, fully specified except for its quantum noise.

    Demographics are given twice: ``sex``/``age_years`` are the truth used to draw
    the anatomy, ``recorded_sex``/``recorded_age``/``birth_date`` are what the DICOM
    file says (``recorded_sex`` is 'M', 'F', 'O' or '' for an empty attribute;
    ``recorded_age`` is None when PatientAge is not written; ``birth_date`` is ''
    when unknown). ``ethnicity`` is '' when not recorded.
    """

    index: int
    seed: int
    case_id: str
    patient_index: int
    patient_pseudo_id: str
    patient_id: str
    visit: int
    site: Site
    vendor: Vendor
    sex: str
    age_years: int
    recorded_sex: str
    recorded_age: int | None
    birth_date: str
    ethnicity: str
    study_date: str
    study_time: str
    accession_number: str
    label: int
    params: ImageParams

    @property
    def relative_path(self) -> str:
        """Where the DICOM file goes, relative to the study folder (always '/' separated)."""
        return f"dicom/{self.site.key}/{self.patient_pseudo_id}/{self.case_id}.dcm"

    def noise_rng(self) -> np.random.Generator:
        """The random generator for this image's acquisition noise (independent of other images)."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(_IMAGE_STREAM, self.index)))


def _choose(rng: np.random.Generator, table: tuple[tuple[str, float], ...]) -> str:
    names = [k for k, _ in table]
    p = np.array([w for _, w in table], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _synthetic_patient_id(site: Site, patient_index: int, seed: int) -> str:
    # a bijection of the patient index modulo 10**7 (7919 is prime, so coprime with 10)
    offset = (seed * 104729) % 10**7
    return f"{site.patient_id_prefix}{(patient_index * 7919 + offset) % 10**7:07d}"


def _age_on(birth: _dt.date, day: _dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def iter_cases(n_images: int, seed: int) -> Iterator[CaseSpec]:
    """Yield the ``n_images`` :class:`CaseSpec` of the study with ``seed``, in order.

    Cheap (no pixels): a few thousand cases a second. Render each with
    :func:`valkit.synth.render.render_image` (``spec.params``, ``spec.noise_rng()``).
    """
    sites = SITES
    shares = np.array([s.share for s in sites])
    index = 0
    patient = 0
    while index < n_images:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_PATIENT_STREAM, patient)))
        site = sites[int(rng.choice(len(sites), p=shares / shares.sum()))]
        sex = "M" if rng.random() < site.male_fraction else "F"
        age = int(np.clip(round(rng.normal(site.age_mean, site.age_sd)), 18, 90))
        missing = rng.random() < site.missing_demographics
        recorded_sex = ("O" if rng.random() < 0.5 else "") if missing else sex
        if site.ethnicity and rng.random() >= site.ethnicity_missing:
            ethnicity = _choose(rng, site.ethnicity)
        else:
            ethnicity = ""
        positive = rng.random() < site.prevalence
        anatomy = sample_anatomy(rng, sex=sex, age=age)
        nodule = sample_nodule(rng, anatomy) if positive else None
        n_visits = 1 + int(rng.choice(3, p=VISIT_PROBABILITIES))
        first = _BASE_DATE + _dt.timedelta(days=int(rng.integers(0, 365)))
        birth = first - _dt.timedelta(days=int(round(age * 365.25)) + int(rng.integers(0, 365)))
        day = first
        for visit in range(1, n_visits + 1):
            if index >= n_images:
                break
            if visit > 1:
                day = day + _dt.timedelta(days=int(rng.integers(20, 200)))
            vendor = vendor_by_key(_choose(rng, site.vendors))
            seconds = int(rng.integers(7 * 3600, 19 * 3600))
            pose = sample_pose(rng)
            yield CaseSpec(
                index=index,
                seed=seed,
                case_id=f"C{index + 1:06d}",
                patient_index=patient,
                patient_pseudo_id=f"P{patient + 1:06d}",
                patient_id=_synthetic_patient_id(site, patient, seed),
                visit=visit,
                site=site,
                vendor=vendor,
                sex=sex,
                age_years=_age_on(birth, day),
                recorded_sex=recorded_sex,
                recorded_age=None if missing else _age_on(birth, day),
                birth_date="" if missing else birth.strftime("%Y%m%d"),
                ethnicity=ethnicity,
                study_date=day.strftime("%Y%m%d"),
                study_time=f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}",
                accession_number=f"A{seed % 1000:03d}{index + 1:08d}",
                label=int(positive),
                params=ImageParams(anatomy=anatomy, pose=pose, nodule=nodule, vendor=vendor),
            )
            index += 1
        patient += 1
