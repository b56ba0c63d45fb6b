"""Test-data section (issue #15): country per site, acquisition dates, eligibility, Table 1 by
patients, the missing-demographics statement and the training-data independence statement."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pydicom.data import get_testdata_file

from valkit.analyses.data_summary import acquisition_dates, sites_summary, table1, table1_totals
from valkit.analyses.subgroups import missing_demographics
from valkit.errors import InputError
from valkit.manifest import build_manifest
from valkit.protocol import Protocol, load_protocol
from valkit.report.sections.data import data_summary
from valkit.report.sections.missing_data import missing_demographics_statement
from valkit.report.sections.training_data import training_data
from valkit.results_schema import Results, validate_results
from valkit.results_schema.subgroups import MissingDemographics
from valkit.study import load_study
from valkit.testing import card_model_block

ROOT = Path(__file__).resolve().parents[2]
FAKE = ROOT / "tests" / "data" / "fake_study"


def _tiny() -> pd.DataFrame:
    """Five images of four patients (one image without a patient id), counted by hand below."""
    return pd.DataFrame({
        "case_id": ["C1", "C2", "C3", "C4", "C5"],
        "patient_id": ["P1", "P1", "P2", "P3", "case:C5"],
        "label": [1, 0, 1, 0, 0],
        "sex": ["F", "F", "M", "", "M"],
        "site": ["A", "A", "B", "B", "B"],
        "country": ["India", "India", "missing", "missing", "missing"],
        "acquisition_date": ["2021-03-04", "2021-03-05", "", "2019-12-31", "20200101"],
    })


def test_table1_counts_patients_as_well_as_images_by_hand():
    rows = {r["level"]: r for r in table1(_tiny(), ("sex",))["sex"]["rows"]}
    # F: C1 (pos) and C2 (neg), both of P1 -> 2 images, 1 patient, positive 1/1, negative 1/1
    assert (rows["F"]["n"], rows["F"]["patients"], rows["F"]["positive_patients"], rows["F"]["negative_patients"]) \
        == (2, 1, 1, 1)
    # M: C3 (P2, pos) and C5 (no patient id: its own patient, neg) -> 2 images, 2 patients
    assert (rows["M"]["n"], rows["M"]["patients"], rows["M"]["positive"], rows["M"]["negative"]) == (2, 2, 1, 1)
    # missing: C4 (P3, neg)
    assert (rows["missing"]["n"], rows["missing"]["patients"], rows["missing"]["negative_patients"]) == (1, 1, 1)
    # totals: 5 images of 4 patients; positives 2 images / 2 patients (P1, P2); negatives 3 / 3 (P1, P3, C5)
    assert table1_totals(_tiny()) == {"n": 5, "positive": 2, "negative": 3, "patients": 4,
                                      "positive_patients": 2, "negative_patients": 3}


def test_table1_without_patient_ids_is_in_images_only():
    t = _tiny().assign(patient_id=lambda d: "case:" + d["case_id"])
    assert all("patients" not in r for r in table1(t, ("sex",))["sex"]["rows"])
    assert table1_totals(t)["patients"] is None


def test_sites_carry_country_and_dates():
    rows = {r["site"]: r for r in sites_summary(_tiny())}
    assert rows["A"] == {"site": "A", "country": "India", "images": 2, "patients": 1,
                         "first_date": "2021-03-04", "last_date": "2021-03-05"}
    assert rows["B"]["country"] is None and (rows["B"]["first_date"], rows["B"]["last_date"]) == \
        ("2019-12-31", "2020-01-01")
    assert acquisition_dates(_tiny().drop(columns="acquisition_date")) is None


def test_missing_demographics_counts_cases_and_patients():
    block = missing_demographics(_tiny(), ["sex", "ethnicity"])
    assert block["by_column"]["sex"]["n_missing"] == 1 and block["by_column"]["sex"]["n_missing_patients"] == 1
    assert (block["n_cases"], block["n_patients"]) == (5, 4)
    text = missing_demographics_statement(MissingDemographics.model_validate(block), families=["sex"])
    assert "Sex is not recorded for 1 of 5 cases (20.0%; 1 of 4 patients)" in text
    assert "race / ethnicity is not recorded for any case" in text
    assert "kept in the overall analysis" in text and "left out of the fairness comparisons" in text


def _copy_fake(tmp_path: Path, **extra) -> Path:
    for f in FAKE.iterdir():
        shutil.copy(f, tmp_path / f.name)
    data = yaml.safe_load((tmp_path / "fake.yaml").read_text())
    data.update(extra)
    (tmp_path / "fake.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp_path / "fake.yaml"


def test_protocol_sites_give_each_row_its_country(tmp_path):
    path = _copy_fake(tmp_path, sites={"Site C (Chennai)": {"country": "India"}})
    table = load_study(load_protocol(path)).table
    chennai = table["site"] == "Site C (Chennai)"
    assert set(table.loc[chennai, "country"]) == {"India"} and set(table.loc[~chennai, "country"]) == {"missing"}
    assert "country" in table1(table)


def test_a_protocol_site_not_in_the_data_is_an_error_naming_it(tmp_path):
    path = _copy_fake(tmp_path, sites={"Site C (Chenai)": {"country": "India"}})
    with pytest.raises(InputError, match=r"'Site C \(Chenai\)' is not a site.*Did you mean 'Site C \(Chennai\)'"):
        load_study(load_protocol(path))


def test_manifest_build_records_the_acquisition_date(tmp_path):
    d = tmp_path / "dicom"
    d.mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), d / "ct.dcm")        # AcquisitionDate 19970430
    shutil.copy(get_testdata_file("MR_small_RLE.dcm"), d / "mr.dcm")   # no AcquisitionDate; StudyDate 20040826
    out = tmp_path / "m.csv"
    build_manifest(d, out=out)
    m = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert sorted(m["acquisition_date"]) == ["1997-04-30", "2004-08-26"]


TRAINING = {"script": "train.py", "seed": 7, "data": "phantoms", "data_seeds": {"train": [1001], "tuning": [2001]},
            "n_images": {"train": 900, "tuning": 800}, "excluded_seeds": [20261122], "tuning_auc": 0.88}


def _results(fake_results: dict, *, training: dict | None = TRAINING, **protocol) -> Results:
    """The fake study's results.json with a model card's ``model`` block and ``protocol`` keys grafted on."""
    return validate_results({**fake_results, "model": card_model_block(training=training),
                             "protocol": {**fake_results["protocol"], **protocol}})


def test_independence_is_stated_from_the_same_card_fields_as_the_training_table(fake_results):
    results = _results(fake_results)
    s = data_summary(results, {})
    assert "not recorded in results.json" not in s["independence"]
    assert "training seed 1001 (900 images)" in s["independence"] and "20261122" in s["independence"]
    rows = {r["key"]: r["value"] for r in training_data(results).rows}
    # the device section's table (its training rows; tests/report/test_device_section.py) lists the same seeds
    # (before: dict/list values were dropped)
    assert rows["Data seeds, by split"] == "training: 1001; tuning: 2001"
    assert rows["Data seeds kept out of development"] == "20261122"
    assert rows["AUC on the tuning split"] == "0.880"


def test_without_training_block_independence_is_for_the_sponsor(fake_results):
    assert "to be supplied by the sponsor" in data_summary(_results(fake_results, training=None), {})["independence"]


def test_eligibility_printed_or_left_to_the_sponsor(fake_results):
    assert data_summary(_results(fake_results), {})["eligibility"]["missing"] == \
        "Eligibility criteria: to be supplied by the sponsor."
    e = data_summary(_results(fake_results, eligibility={"inclusion": ["Adults"], "exclusion": ["Implants"]}),
                     {})["eligibility"]
    assert (e["inclusion"], e["exclusion"], e["missing"]) == (["Adults"], ["Implants"], None)
    no_dates = {**fake_results, "data": {**fake_results["data"], "acquisition_dates": None}}
    assert data_summary(validate_results(no_dates), {})["dates"].startswith("Acquisition dates: not recorded")


def test_demo_protocol_names_a_country_for_every_demo_site():
    demo = yaml.safe_load((ROOT / "protocols" / "demo.yaml").read_text())
    manifest = pd.read_csv(ROOT / "datasets" / "manifests" / "demo.csv", usecols=["site", "lesion_diameter_mm"])
    assert set(Protocol.model_validate(demo).sites) == set(manifest["site"])
    assert demo["secondary"]["lesion_size_column"] in manifest.columns
