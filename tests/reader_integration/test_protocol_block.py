"""The protocol's reader_study block: defaults, every rule, key paths and did-you-mean in errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from valkit.errors import InputError
from valkit.protocol import load_protocol, protocol_problems
from valkit.reader_study.config import ReaderStudyOptions

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study" / "fake.yaml"


def _problems(block: dict) -> list[str]:
    data = yaml.safe_load(FAKE.read_text())
    data["reader_study"] = block
    return protocol_problems(data, source="p.yaml", text=yaml.safe_dump(data, sort_keys=False))


def test_minimal_block_defaults():
    data = yaml.safe_load(FAKE.read_text())
    assert not _problems({"ratings": "r.csv"})
    o = ReaderStudyOptions(ratings="r.csv")
    assert (o.fom, o.covariance, o.hypothesis, o.margin, o.model_scores) == (
        "auc", "jackknife", "superiority", None, "none")
    assert (o.test_modality, o.reference_modality, o.confidence_level, o.alpha) == ("aided", "unaided", 0.95, 0.05)
    assert "reader_study" not in data  # the fake study itself has no reader study


def test_demo_protocol_block_parses():
    demo = Path(__file__).resolve().parents[2] / "protocols" / "demo.yaml"
    rs = load_protocol(demo, check_paths=False).protocol.reader_study
    assert rs is not None and rs.model_scores == "run" and rs.hypothesis == "non_inferiority"
    assert rs.ratings == Path("../datasets/phantom/demo/reader_study/ratings.csv")


@pytest.mark.parametrize("block, expected", [
    ({"ratings": "r.csv", "fomm": "auc"},
     "reader_study.fomm: unknown key 'fomm'. Did you mean 'fom'?"),
    ({"ratings": "r.csv", "fom": "acu"},
     "reader_study.fom: unknown value 'acu'. Did you mean 'auc'? Valid: auc, sensitivity, specificity."),
    ({"ratings": "r.csv", "covariance": "jacknife"},
     "reader_study.covariance: unknown value 'jacknife'. Did you mean 'jackknife'?"),
    ({"ratings": "r.csv", "hypothesis": "noninferiority", "margin": 0.05},
     "reader_study.hypothesis: unknown value 'noninferiority'. Did you mean 'non_inferiority'?"),
    ({"ratings": "r.csv", "model_scores": "rnu"},
     "reader_study.model_scores: unknown value 'rnu'. Did you mean 'run'?"),
    ({"ratings": "r.txt"}, "reader_study.ratings: expected a .csv file"),
    ({"ratings": "r.csv", "hypothesis": "non_inferiority"},
     "reader_study: hypothesis 'non_inferiority' needs a margin > 0"),
    ({"ratings": "r.csv", "margin": 0.05}, "margin 0.05 is for hypothesis 'non_inferiority'"),
    ({"ratings": "r.csv", "fom": "sensitivity"}, "fom 'sensitivity' needs a rating threshold"),
    ({"ratings": "r.csv", "fom": "specificity", "threshold": 3, "covariance": "delong"},
     "covariance 'delong' applies to the AUC only"),
    ({"ratings": "r.csv", "test_modality": "a", "reference_modality": "a"},
     "test_modality and reference_modality must differ"),
    ({"ratings": "r.csv", "confidence_level": 1.5}, "reader_study.confidence_level:"),
    ({"ratings": "r.csv", "margin": -0.1, "hypothesis": "non_inferiority"}, "reader_study.margin:"),
    ({}, "reader_study.ratings: required key is missing."),
])
def test_errors_name_the_key_path(block, expected):
    problems = _problems(block)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("p.yaml:") for p in problems)  # file and line


def test_missing_files_reported_before_any_work(tmp_path):
    data = yaml.safe_load(FAKE.read_text())
    data["reader_study"] = {"ratings": "nowhere/ratings.csv", "model_scores": "nowhere/scores.csv"}
    for f in ("manifest.csv", "scores.csv"):
        (tmp_path / f).write_bytes((FAKE.parent / f).read_bytes())
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InputError) as exc:
        load_protocol(tmp_path / "p.yaml")
    text = str(exc.value)
    assert "reader_study.ratings: file not found: nowhere/ratings.csv" in text
    assert "reader_study.model_scores: file not found: nowhere/scores.csv" in text
    assert load_protocol(tmp_path / "p.yaml", check_paths=False).protocol.reader_study.model_scores_path == \
        Path("nowhere/scores.csv")
