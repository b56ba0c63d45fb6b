"""Which interval the truthers' kappas get: patient-clustered bootstrap or Wald, by the protocol's clustering rule.

``analysis.clustering`` as for the accuracy estimates (valkit.analyses.estimates.ProportionEstimator): ``auto``
clusters when some patient has several images, ``patient`` always, ``none`` never. The clustered interval is the
percentile bootstrap over patients (Davison & Hinkley 1997, sec. 3.8; valkit.stats.fleiss_kappa_clustered, whose
statistical properties tests/stats/test_agreement_clustered.py checks); Wald's are Fleiss, Nee & Landis (1979)
and Fleiss, Cohen & Everitt (1969).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from valkit.analyses.estimates import case_set_digest
from valkit.analyses.truther_agreement import truther_agreement
from valkit.protocol import Protocol
from valkit.stats import fleiss_kappa_clustered

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"
TRUTHERS = ["reader_a", "reader_b", "reader_c"]
WALD = {"fleiss": "fleiss_nee_landis_1979_null_se", "cohen": "cohen_fleiss_cohen_everitt_1969"}
CLUSTER = "cluster_bootstrap_percentile"


def _protocol(clustering: str) -> Protocol:
    data = yaml.safe_load((FAKE / "fake.yaml").read_text())
    data["reference_standard"]["truther_columns"] = TRUTHERS
    data["analysis"].update({"clustering": clustering, "bootstrap_resamples": 400, "seed": 17})
    return Protocol.model_validate(data)


def _merged(images_per_patient: int, n_patients: int = 80) -> pd.DataFrame:
    """Manifest rows with three truthers' 0/1 labels (as text; a few missing), ``images_per_patient`` each."""
    rng = np.random.default_rng(5)
    patient = np.repeat([f"P{k:03d}" for k in range(n_patients)], images_per_patient)
    truth = np.repeat(rng.integers(0, 2, n_patients), images_per_patient)
    frame = pd.DataFrame({"patient_id": patient})
    for k, col in enumerate(TRUTHERS):
        label = np.where(rng.random(len(patient)) < 0.1 * (k + 1), 1 - truth, truth).astype(str)
        label[rng.random(len(patient)) < 0.03] = ""
        frame[col] = label
    return frame


def _methods(block: dict) -> set[str]:
    return {block["fleiss"]["kappa"]["interval"]["method"]} | {p["kappa"]["interval"]["method"] for p in block["cohen"]}


def test_auto_with_several_images_per_patient_resamples_patients():
    merged, protocol = _merged(3), _protocol("auto")
    block = truther_agreement(merged, protocol)
    assert block["several_images_per_patient"] and block["clustered"] and block["clustering_rule"] == "auto"
    assert _methods(block) == {CLUSTER}
    fleiss = block["fleiss"]
    assert (fleiss["n_clusters"], fleiss["n_resamples"]) == (80, 400)
    assert fleiss["kappa"]["method"] == CLUSTER
    # the analysis seed and a digest of the case set (as ProportionEstimator seeds the proportions' bootstrap)
    complete = (merged[TRUTHERS] != "").all(axis=1).to_numpy()
    direct = fleiss_kappa_clustered(merged.loc[complete, TRUTHERS].to_numpy().astype(int),
                                    merged.loc[complete, "patient_id"].to_numpy(), n_resamples=400,
                                    seed=[17, case_set_digest(np.flatnonzero(complete))])
    assert fleiss["kappa"]["interval"]["low"] == direct.kappa.interval.low
    assert fleiss["kappa"]["interval"]["high"] == direct.kappa.interval.high
    assert truther_agreement(merged, protocol) == block  # seeded: the same run gives the same intervals


def test_none_keeps_wald_and_auto_with_one_image_per_patient_too():
    block = truther_agreement(_merged(3), _protocol("none"))
    assert block["several_images_per_patient"] and not block["clustered"]
    assert block["fleiss"]["kappa"]["interval"]["method"] == WALD["fleiss"]
    assert {p["kappa"]["interval"]["method"] for p in block["cohen"]} == {WALD["cohen"]}
    assert block["fleiss"]["n_resamples"] is None
    single = truther_agreement(_merged(1), _protocol("auto"))
    assert not single["several_images_per_patient"] and not single["clustered"]
    assert _methods(single) == set(WALD.values())
    forced = truther_agreement(_merged(1), _protocol("patient"))
    assert forced["clustered"] and _methods(forced) == {CLUSTER}


@pytest.fixture(scope="module")
def typed_results(fake_results):
    from valkit.results_schema import validate_results

    def with_block(clustering: str):
        return validate_results({**fake_results, "reference_agreement": truther_agreement(_merged(3),
                                                                                          _protocol(clustering))})
    return with_block


def test_report_says_which_interval(typed_results):
    from valkit.report.sections.reference import reference_standard

    clustered = reference_standard(typed_results("auto"), {})["agreement"]
    assert clustered["clustered"] and clustered["several_images"] and clustered["n_resamples"] == "400"
    assert [r["method_text"] for r in clustered["rows"][1:]] == [
        "patient-clustered percentile bootstrap, resampling patients (Davison & Hinkley 1997)"] * 4
    wald = reference_standard(typed_results("none"), {})["agreement"]
    assert not wald["clustered"] and wald["several_images"]
    assert wald["rows"][1]["method_text"] == "Wald interval, standard error of Fleiss, Nee & Landis (1979)"
    assert wald["rows"][2]["method_text"] == "Wald interval, large-sample standard error (Fleiss, Cohen & Everitt 1969)"


def test_rendered_sentence_follows_the_interval(typed_results, fake_results):
    from valkit.report.render import render_html

    def section(clustering: str) -> str:
        block = typed_results(clustering).reference_agreement.model_dump()
        html = render_html({**fake_results, "reference_agreement": block}, results_sha256="0" * 64)
        start = html.index('id="reference-standard"')
        return " ".join(html[start:html.index("</section>", start)].split())

    sec = section("auto")
    assert "The kappa intervals are patient-clustered bootstrap intervals (resampling patients, 400 resamples)" in sec
    # 240 images less 20 that some truther left unlabelled
    assert "so the 220 images from 80 patients are not counted as independent evidence" in sec
    assert "The Wilson interval of the percent agreement treats images as independent" in sec
    assert "intervals treat images as independent" not in sec
    sec = section("none")
    assert "patient-clustered" not in sec
    assert "the intervals treat images as independent and are therefore somewhat too narrow" in sec
