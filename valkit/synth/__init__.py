"""Synthetic phantom chest-radiograph studies for demos and tests (``valkit synth``).

High level::

    from valkit.synth import generate_study
    summary = generate_study("datasets/phantom/demo", n_images=600, seed=20261122)

writes DICOM files, ``labels.csv`` (reference standard and lesion boxes) and a
``study.json`` completion marker; see :mod:`valkit.synth.study`.

In memory, without DICOM (e.g. to train a demo model quickly)::

    from valkit.synth import iter_cases, render_image
    for spec in iter_cases(1000, seed=1):
        img = render_image(spec.params, spec.noise_rng())
        x = img.display()          # float32 [0, 1], dense tissue bright, windowed
        y = spec.label             # 1 nodule, 0 none; img.lesion_box for positives

gives exactly the images (and labels) that ``generate_study(..., seed=1)`` writes.
Lower level: :func:`sample_anatomy`, :func:`sample_nodule`, :func:`sample_pose`,
:class:`ImageParams` and the vendor and site tables (:data:`VENDORS`, :data:`SITES`).
"""
from valkit.synth.anatomy import Anatomy, Nodule, Pose, sample_anatomy, sample_nodule, sample_pose
from valkit.synth.cases import GENERATOR_VERSION, CaseSpec, iter_cases
from valkit.synth.render import ImageParams, RenderedImage, apply_window, render_image
from valkit.synth.study import LABEL_COLUMNS, StudySummary, generate_study
from valkit.synth.vendors import SITES, VENDORS, Site, Vendor, site_by_key, vendor_by_key

__all__ = [
    "Anatomy",
    "CaseSpec",
    "GENERATOR_VERSION",
    "ImageParams",
    "LABEL_COLUMNS",
    "Nodule",
    "Pose",
    "RenderedImage",
    "SITES",
    "Site",
    "StudySummary",
    "VENDORS",
    "Vendor",
    "apply_window",
    "generate_study",
    "iter_cases",
    "render_image",
    "sample_anatomy",
    "sample_nodule",
    "sample_pose",
    "site_by_key",
    "vendor_by_key",
]
