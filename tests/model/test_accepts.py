"""What a model accepts (issue #11 item 10): images outside the card's ``accepts:`` block are excluded.

CT and MR files and a 1x1 image used to be scored 'ok' by a chest-radiograph model and counted in the
primary estimates. Now the card declares modality, photometric interpretation, minimum size and, where
the header has them, body part and view; anything else becomes an "excluded" row with its reason,
distinct from "failed" (unreadable), and the flow of cases counts it by reason. CT and MR files are
pydicom's bundled test data (CT_small.dcm: CT 128x128; MR_small.dcm: MR 64x64).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest
import yaml
from pydicom.data import get_testdata_file

from valkit.analyses.data_summary import case_flow
from valkit.errors import InputError
from valkit.model_card import Accepts
from valkit.model_card_io import load_model_card, parse_model_card
from valkit.preprocess import ImageNotAccepted, check_accepted, preprocess_file
from valkit.runner import run_inference

ROOT = Path(__file__).resolve().parents[2]
SHA = "ab" * 32
CHEST = Accepts(modalities=["DX", "CR"], photometric_interpretations=["MONOCHROME1", "MONOCHROME2"],
                min_rows=32, min_columns=32, body_parts=["CHEST"], views=["PA", "AP"])


def _with(path: Path, **attrs) -> Path:
    ds = pydicom.dcmread(path)
    for k, v in attrs.items():
        setattr(ds, k, v)
    ds.save_as(path)
    return path


@pytest.fixture
def files(dicom_writer, ramp) -> dict[str, Path]:
    return {
        "dx": _with(dicom_writer(ramp, name="dx.dcm"), BodyPartExamined="CHEST", ViewPosition="PA"),
        "dx_no_view": dicom_writer(ramp, name="plain.dcm"),  # no body part / view: accepted
        "ct": Path(get_testdata_file("CT_small.dcm")),
        "mr": Path(get_testdata_file("MR_small.dcm")),
        "tiny": dicom_writer(np.array([[1000]], dtype=np.uint16), name="one_pixel.dcm"),
        "knee": _with(dicom_writer(ramp, name="knee.dcm"), BodyPartExamined="KNEE"),
        "lateral": _with(dicom_writer(ramp, name="lat.dcm"), BodyPartExamined="CHEST", ViewPosition="LL"),
    }


def test_card_accepts_block_parses_and_rejects_typos(card_yaml):
    data = yaml.safe_load(card_yaml("model.safetensors", SHA))
    assert parse_model_card(data).accepts == Accepts()  # optional: accepts anything
    data["accepts"] = {"modalities": ["dx", "CR"], "min_rows": 64, "views": ["pa"]}
    acc = parse_model_card(data).accepts
    assert acc.modalities == ("DX", "CR") and acc.views == ("PA",) and acc.min_rows == 64
    data["accepts"] = {"modality": ["DX"]}
    with pytest.raises(InputError, match=r"accepts.modality: unknown key 'modality'. Did you mean 'modalities'\?"):
        parse_model_card(data, source="m.yaml")


def test_demo_card_declares_what_it_accepts():
    acc = load_model_card(ROOT / "models" / "demo-nodule" / "model.yaml").accepts
    assert set(acc.modalities) == {"DX", "CR"} and set(acc.body_parts) == {"CHEST"}
    assert acc.min_rows >= 128 and acc.min_columns >= 128


@pytest.mark.parametrize("name, reason", [
    ("ct", "modality CT not accepted (model card accepts DX, CR)"),
    ("mr", "modality MR not accepted (model card accepts DX, CR)"),
    ("tiny", "image smaller than the minimum size (1×1 pixels; model card minimum 32×32)"),
    ("knee", "body part KNEE not accepted (model card accepts CHEST)"),
    ("lateral", "view LL not accepted (model card accepts PA, AP)"),
])
def test_header_outside_the_card_is_not_accepted(files, name, reason):
    with pytest.raises(ImageNotAccepted) as exc:
        check_accepted(pydicom.dcmread(files[name], stop_before_pixels=True), CHEST)
    assert exc.value.reason == reason
    with pytest.raises(ImageNotAccepted):
        preprocess_file(files[name], _spec(), accepts=CHEST)


def test_accepted_images_pass(files):
    for name in ("dx", "dx_no_view"):
        check_accepted(pydicom.dcmread(files[name]), CHEST)
        assert preprocess_file(files[name], _spec(), accepts=CHEST).shape == (1, 16, 16)


def _spec():
    from valkit.model_card import PreprocessingSpec

    return PreprocessingSpec(size=(16, 16))


def test_runner_records_excluded_rows_apart_from_failures(files, tmp_path):
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"not dicom")
    names = ["dx", "ct", "mr", "tiny", "dx_no_view"]
    table = pd.DataFrame({"case_id": [*names, "broken"], "abs_path": [str(files[n]) for n in names] + [str(bad)],
                          "sha256": ""})
    s = run_inference(table, tmp_path / "run", preprocess=functools.partial(preprocess_file, spec=_spec(),
                                                                             accepts=CHEST),
                      predict=lambda x: np.full(len(x), 0.5), model_sha256="m", preprocessing_sha256="p",
                      num_workers=0, progress=False)
    df = pd.read_parquet(s.predictions_path).set_index("case_id")
    assert list(df["status"]) == ["ok", "excluded", "excluded", "excluded", "ok", "failed"]
    assert (s.n_ok, s.n_excluded, s.n_failed) == (2, 3, 1)
    assert df.at["ct", "error"] == "modality CT not accepted (model card accepts DX, CR)"
    assert df.loc[["ct", "mr", "tiny"], "score"].isna().all()


def test_case_flow_counts_excluded_by_reason_and_analyses_use_ok_rows_only():
    merged = pd.DataFrame({
        "case_id": list("abcdef"), "label": [1, 0, 1, 0, 1, 0],
        "status": ["ok", "ok", "excluded", "excluded", "excluded", "failed"],
        "error": ["", "", "modality CT not accepted (model card accepts DX, CR)",
                  "modality CT not accepted (model card accepts DX, CR)",
                  "image smaller than the minimum size (1×1 pixels; model card minimum 32×32)", "not a DICOM file"],
    })
    flow = case_flow(merged)
    assert (flow["in_manifest"], flow["analysed"], flow["excluded"], flow["failed"]) == (6, 2, 3, 1)
    assert (flow["excluded_positive"], flow["excluded_negative"]) == (2, 1)
    assert flow["exclusion_reasons"] == [{"reason": "modality CT not accepted", "n": 2},
                                         {"reason": "image smaller than the minimum size", "n": 1}]
    assert sum(r["n"] for r in flow["failure_reasons"]) == 1


def test_flow_diagram_shows_exclusions():
    from valkit.report.figures import FlowCounts, flow_svg

    svg = flow_svg(FlowCounts(in_manifest="6", failed="1", failed_positive="0", failed_negative="1",
                              failure_reasons=[("not a DICOM file", "1")], analysed="2", positive="1",
                              negative="1", tp="1", fn="0", fp="0", tn="1", excluded="3",
                              excluded_positive="2", excluded_negative="1",
                              exclusion_reasons=[("modality CT not accepted", "2")]))
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    text = " ".join(t.text for t in root.iter(f"{ns}text"))
    assert "Excluded, outside the card's inputs: 3" in text and "modality CT not accepted: 2" in text
    assert "Not analysed: 1" in text and "3 excluded" in root.find(f"{ns}desc").text
    # the two side boxes (exclusions, failures) are stacked without overlapping
    side = sorted((float(r.get("y")), float(r.get("height"))) for r in root.iter(f"{ns}rect")
                  if float(r.get("x")) == 352)
    assert len(side) == 2 and side[0][0] + side[0][1] < side[1][0]


def test_analyses_leave_excluded_rows_out_of_every_estimate():
    from valkit.analyses import OperatingPointChoice, analyse, merge_predictions
    from valkit.protocol import load_protocol
    from valkit.study import load_study

    loaded = load_protocol(ROOT / "tests" / "data" / "fake_study" / "fake.yaml")
    table = load_study(loaded).table
    scores = pd.read_csv(ROOT / "tests" / "data" / "fake_study" / "scores.csv", dtype={"case_id": str})
    pred = table[["case_id"]].merge(scores, on="case_id", how="left")
    pred["status"] = np.where(pred["score"].notna(), "ok", "failed")
    pred["error"] = np.where(pred["score"].notna(), "", "no score")
    # the first 40 scored cases become images the card does not accept; their (high) scores must not count
    idx = pred.index[pred["status"] == "ok"][:40]
    pred.loc[idx, ["status", "error", "score"]] = ["excluded", "modality CT not accepted (model card accepts DX)",
                                                   0.99]
    merged = merge_predictions(table, pred.assign(model_sha256="x"))
    out = analyse(merged, loaded.protocol, OperatingPointChoice(0.5, "fixed", None, False, "")).written()
    flow = out["data"]["flow"]
    assert (flow["excluded"], flow["analysed"] + flow["excluded"] + flow["failed"]) == (40, len(table))
    assert out["primary"]["n"] == flow["analysed"]
    both = out["failures_counted_as_errors"]["confusion"]
    assert sum(both.values()) == flow["analysed"] + flow["failed"]


def test_report_shows_exclusions_where_the_card_was_applied(fake_results):
    from valkit.report.sections.data import data_summary
    from valkit.results_schema import validate_results
    from valkit.testing import card_model_block

    flow = {**fake_results["data"]["flow"], "excluded": 0, "excluded_positive": 0, "excluded_negative": 0,
            "exclusion_reasons": []}
    data = {**fake_results["data"], "flow": flow}
    card = data_summary(validate_results({**fake_results, "data": data, "model": card_model_block()}), {})
    assert card["flow"]["excluded"] == "0"  # the check ran and excluded nothing: say so
    assert fake_results["model"]["kind"] == "external_predictions"
    ext = data_summary(validate_results({**fake_results, "data": data}), {})
    assert ext["flow"]["excluded"] is None  # no model card, no check: nothing to say
