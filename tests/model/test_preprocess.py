"""DICOM → model input: LUTs, windowing, MONOCHROME1, resize, normalisation, and per-file errors."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file  # never get_testdata_files (plural): it goes online
from pydicom.pixels import apply_windowing

from valkit.errors import InputError
from valkit.model_card import PreprocessingSpec
from valkit.preprocess import (
    DicomDecodeError,
    apply_preprocessing,
    choose_window,
    decode_pixels,
    preprocess_file,
    read_dicom,
    window_linear,
)


def spec(**kwargs) -> PreprocessingSpec:
    kwargs.setdefault("size", (32, 40))  # the ramp's own size: no resampling unless a test asks
    return PreprocessingSpec(**kwargs)


def test_output_shape_dtype_and_range(dicom_writer, ramp):
    out = preprocess_file(dicom_writer(ramp), spec(size=(48, 24)))
    assert out.shape == (1, 48, 24)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    assert 0.0 <= out.min() < 0.05 and 0.95 < out.max() <= 1.0


def test_channels_replicated(dicom_writer, ramp):
    out = preprocess_file(dicom_writer(ramp), spec(channels=3))
    assert out.shape == (3, 32, 40)
    assert np.array_equal(out[0], out[2])


def test_steps_compose_to_preprocess_file(dicom_writer, ramp):
    path = dicom_writer(ramp)
    ds = read_dicom(path)
    pixels = decode_pixels(ds)
    assert np.array_equal(pixels, ramp)
    assert np.array_equal(apply_preprocessing(pixels, ds, spec()), preprocess_file(path, spec()))


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_window_from_file_matches_pydicom(dicom_writer, ramp, function):
    """Our [0, 1] window equals pydicom's apply_windowing rescaled from its 12-bit output range."""
    path = dicom_writer(ramp, window=(1500, 1000), voi_function=function)
    ds = pydicom.dcmread(path)
    reference = apply_windowing(ds.pixel_array, ds) / 4095.0  # unsigned 12 bit: output range [0, 4095]
    out = preprocess_file(path, spec())[0]
    assert choose_window(ds, spec()).kind == "window"
    np.testing.assert_allclose(out, reference, atol=1e-6)
    assert (out == 0).any() and (out == 1).any() or function == "SIGMOID"  # the window really clips


def test_window_differs_from_percentile_fallback(dicom_writer, ramp):
    windowed = preprocess_file(dicom_writer(ramp, window=(1000, 500)), spec())
    no_tags = dicom_writer(ramp)
    assert choose_window(read_dicom(no_tags), spec()).kind == "percentile"
    assert np.abs(windowed - preprocess_file(no_tags, spec())).max() > 0.3
    # the card can also ignore the file's window
    ignored = preprocess_file(dicom_writer(ramp, window=(1000, 500)), spec(window={"source": "percentile"}))
    np.testing.assert_array_equal(ignored, preprocess_file(no_tags, spec()))


def test_percentile_window_is_what_it_says(dicom_writer, ramp):
    out = preprocess_file(dicom_writer(ramp), spec(window={"source": "percentile", "percentiles": [5, 95]}))[0]
    lo, hi = np.percentile(ramp, [5, 95])
    np.testing.assert_allclose(out, np.clip((ramp - lo) / (hi - lo), 0, 1), atol=1e-6)


def test_rescale_applied_before_fixed_window(dicom_writer, ramp):
    path = dicom_writer(ramp, rescale=(2.0, -1000.0))
    out = preprocess_file(path, spec(window={"source": "fixed", "center": 1000, "width": 2000}))[0]
    np.testing.assert_allclose(out, window_linear(2.0 * ramp - 1000.0, 1000, 2000), atol=1e-6)


def test_ct_hounsfield_window_on_real_file():
    path = get_testdata_file("CT_small.dcm")  # Rescale Intercept -1024: stored values are not HU
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    out = preprocess_file(path, spec(size=(128, 128), window={"source": "fixed", "center": 40, "width": 400}))[0]
    np.testing.assert_allclose(out, window_linear(hu, 40, 400), atol=1e-6)


def test_voi_lut_sequence_applied(dicom_writer, ramp):
    data = np.round(np.sqrt(np.arange(4096) / 4095.0) * 65535).astype(int).tolist()
    path = dicom_writer(ramp, voi_lut=(4096, 0, data), window=(100, 10))
    ds = read_dicom(path)
    assert choose_window(ds, spec()).kind == "voi_lut"  # the LUT wins over the window, as in pydicom
    out = preprocess_file(path, spec())[0]
    np.testing.assert_allclose(out, np.asarray(data)[ramp] / 65535.0, atol=1e-6)


def test_monochrome1_is_inverted_to_match_monochrome2(dicom_writer, ramp):
    m2 = preprocess_file(dicom_writer(ramp), spec())
    m1 = preprocess_file(dicom_writer(4095 - ramp, photometric="MONOCHROME1"), spec())
    np.testing.assert_allclose(m1, m2, atol=1e-6)
    # with a window from the file: the MONOCHROME1 window sits at the mirrored centre
    m2w = preprocess_file(dicom_writer(ramp, window=(1500, 1000), voi_function="LINEAR_EXACT"), spec())
    m1w = preprocess_file(
        dicom_writer(4095 - ramp, photometric="MONOCHROME1", window=(4095 - 1500, 1000), voi_function="LINEAR_EXACT"),
        spec(),
    )
    np.testing.assert_allclose(m1w, m2w, atol=1e-6)
    # the bright square is bright (close to 1) in both
    assert m1[0, 10, 15] > 0.9


def test_monochrome1_inversion_can_be_switched_off(dicom_writer, ramp):
    path = dicom_writer(4095 - ramp, photometric="MONOCHROME1")
    on = preprocess_file(path, spec())
    off = preprocess_file(path, spec(invert_monochrome1=False))
    np.testing.assert_allclose(on, 1.0 - off, atol=1e-6)


def test_normalisation(dicom_writer, ramp):
    path = dicom_writer(ramp)
    raw = preprocess_file(path, spec())
    fixed = preprocess_file(path, spec(normalization={"method": "fixed", "mean": 0.5, "std": 0.25}))
    np.testing.assert_allclose(fixed, (raw - 0.5) / 0.25, atol=1e-5)
    z = preprocess_file(path, spec(normalization={"method": "image_zscore"}))
    assert abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-4


def test_flat_image_gives_zeros_not_nan(dicom_writer):
    out = preprocess_file(dicom_writer(np.full((16, 16), 700, np.uint16)),
                          spec(size=(16, 16), normalization={"method": "image_zscore"}))
    assert np.array_equal(out, np.zeros((1, 16, 16), np.float32))


def test_resize_is_antialiased(dicom_writer):
    stripes = np.tile(np.array([0, 4095], np.uint16), (64, 32))  # 1-pixel stripes, 64 x 64
    out = preprocess_file(dicom_writer(stripes), spec(size=(16, 16), window={"source": "percentile",
                                                                             "percentiles": [0, 100]}))
    # averaging, not picking every 4th column (which would give all-black or all-white)
    np.testing.assert_allclose(out, 0.5, atol=0.05)


@pytest.mark.parametrize("compressed", ["MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm"])
def test_lossless_transfer_syntaxes_decode_identically(compressed):
    reference = preprocess_file(get_testdata_file("MR_small.dcm"), spec(size=(64, 64)))
    np.testing.assert_array_equal(preprocess_file(get_testdata_file(compressed), spec(size=(64, 64))), reference)


def _raises_for(path, match, **spec_kwargs):
    with pytest.raises(DicomDecodeError) as info:
        preprocess_file(path, spec(**spec_kwargs))
    assert isinstance(info.value, InputError)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: ")
    assert match in info.value.reason
    return info.value


def test_not_dicom(tmp_path):
    path = tmp_path / "notes.dcm"
    path.write_text("this is not an image")
    _raises_for(path, "not a DICOM file")


def test_missing_file(tmp_path):
    _raises_for(tmp_path / "absent.dcm", "file not found")


def test_truncated_pixel_data(dicom_writer, ramp, tmp_path):
    whole = dicom_writer(ramp).read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(whole[: len(whole) - 700])
    err = _raises_for(cut, "pixel data cannot be decoded")
    assert "truncated" in str(err)


def test_truncated_before_pixel_data(dicom_writer, ramp, tmp_path):
    whole = dicom_writer(ramp).read_bytes()
    cut = tmp_path / "header_only.dcm"
    cut.write_bytes(whole[:400])
    _raises_for(cut, "probably truncated")


def test_multi_frame_rejected(dicom_writer):
    path = dicom_writer(np.zeros((2, 8, 8), np.uint16), frames=2)
    _raises_for(path, "multi-frame image (2 frames)")


def test_non_image_object_rejected():
    path = get_testdata_file("rtplan.dcm")
    _raises_for(path, "no Pixel Data: RT Plan Storage")


def test_rgb_rejected_by_default_and_converted_on_request(dicom_writer):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    rgb[4:, :, :] = 255  # white lower half
    path = dicom_writer(rgb, photometric="RGB")
    _raises_for(path, "colour image (RGB)")
    out = preprocess_file(path, spec(size=(8, 8), color="luminance", window={"source": "percentile",
                                                                               "percentiles": [0, 100]}))
    assert out.shape == (1, 8, 8)
    np.testing.assert_allclose(out[0, :4], 0.0, atol=1e-6)  # red (luma 76) is the darkest here
    np.testing.assert_allclose(out[0, 4:], 1.0, atol=1e-6)


def test_palette_colour_rejected():
    _raises_for(get_testdata_file("examples_palette.dcm"), "unsupported Photometric Interpretation 'PALETTE COLOR'")
