"""Boxes in stored-pixel coordinates land where valkit's preprocessing puts the lesion on the input grid."""
from __future__ import annotations

import numpy as np
import pytest

from valkit.explain.localisation import Box, box_from_pixels, box_to_input_grid, energy_fraction
from valkit.model_card_io import parse_model_card
from valkit.preprocess import preprocess_file


@pytest.mark.parametrize("shape,size,box", [
    ((48, 80), (32, 32), (50, 10, 66, 22)),     # wide image squeezed: x and y scales differ
    ((90, 40), (24, 40), (4, 60, 14, 84)),      # tall image, non-square input
    ((64, 64), (64, 64), (20, 30, 28, 36)),     # no resize
])
def test_mapped_box_holds_the_lesion_on_the_input_grid(tmp_path, helpers, shape, size, box):
    rows, cols = shape
    img = np.full(shape, 1000, np.uint16)
    x0, y0, x1, y1 = box
    img[y0:y1, x0:x1] = 3000  # the lesion fills its half-open box exactly
    path = helpers.write_dicom(tmp_path / "g.dcm", img)
    spec = parse_model_card(helpers.card_dict(size=size)).preprocessing
    x = preprocess_file(path, spec)[0]
    signal = np.clip(x - np.median(x) - 1e-4, 0, None)  # background 0 (and float residue), lesion positive
    mapped = box_to_input_grid(box_from_pixels(*box, shape=shape), shape, size)
    assert energy_fraction(signal, mapped) > 0.85  # antialiased resizing spreads the edges by about a pixel
    # the lesion's centre of mass on the input grid is the mapped box's centre
    yy, xx = np.mgrid[0:size[0], 0:size[1]] + 0.5
    cy, cx = (signal * yy).sum() / signal.sum(), (signal * xx).sum() / signal.sum()
    assert cx == pytest.approx((mapped.x0 + mapped.x1) / 2, abs=0.15)
    assert cy == pytest.approx((mapped.y0 + mapped.y1) / 2, abs=0.15)
    if shape[0] != shape[1]:  # mapping with the axes' scales swapped is measurably wrong
        sx, sy = size[1] / cols, size[0] / rows
        wrong = Box(x0 * sy, y0 * sx, x1 * sy, y1 * sx)
        assert energy_fraction(signal, wrong) < energy_fraction(signal, mapped) - 0.2


def test_geometry_guard_knows_every_preprocessing_field(helpers):
    """A new preprocessing field (a crop, padding) must come with a box-mapping update."""
    from pydantic import create_model

    from valkit.explain.section import check_geometry
    from valkit.model_card import PreprocessingSpec

    spec = parse_model_card(helpers.card_dict()).preprocessing
    check_geometry(spec)  # today's fields are all accounted for
    Cropped = create_model("Cropped", __base__=PreprocessingSpec, crop=(int, 0))
    with pytest.raises(RuntimeError, match="crop"):
        check_geometry(Cropped(size=(32, 32)))
