"""``valkit synth --reader-study``: the demo reader study on a phantom study.

Fast tests use a labels.csv without images and a fake score function; the slow one runs the
whole command with a tiny real network (a seeded MONAI DenseNet) on 40 phantom images.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valkit.cli import main
from valkit.errors import InputError
from valkit.reader_study import analyze_reader_study
from valkit.synth.reader_demo import select_cases, write_reader_demo

SITES = ("chicago", "portland", "pune", "varanasi")


def _fake_study(folder: Path, n_patients: int = 150, seed: int = 0) -> Path:
    """study.json + labels.csv shaped like valkit synth's (1-3 images per patient, 4 sites)."""
    rng = np.random.default_rng(seed)
    rows, k = [], 0
    for p in range(n_patients):
        label = int(rng.random() < 0.4)
        site = SITES[int(rng.integers(0, 4)) if p % 5 else 0]  # chicago over-represented
        for v in range(int(rng.integers(1, 4))):
            k += 1
            rows.append({"case_id": f"C{k:06d}", "patient_pseudo_id": f"P{p:06d}", "label": label,
                         "path": f"dicom/{site}/P{p:06d}/C{k:06d}.dcm", "site_key": site, "visit": v + 1})
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    digest = hashlib.sha256((folder / "labels.csv").read_bytes()).hexdigest()
    (folder / "study.json").write_text(json.dumps({"labels_sha256": digest}))
    return folder


class FakeModel:
    """Scores from the file name (deterministic), higher for positives; counts its calls."""

    def __init__(self, labels: pd.DataFrame):
        self.truth = dict(zip(labels["path"], labels["label"]))
        self.calls = 0

    def __call__(self, paths):
        self.calls += 1
        out = []
        for p in paths:
            rel = "/".join(Path(p).parts[-4:])
            u = int(hashlib.sha256(rel.encode()).hexdigest()[:8], 16) / 2**32
            out.append(1 / (1 + np.exp(-(2.5 * self.truth[rel] - 1.2 + 2 * (u - 0.5)))))
        return np.array(out)


@pytest.fixture
def study(tmp_path):
    folder = _fake_study(tmp_path / "phantom")
    return folder, FakeModel(pd.read_csv(folder / "labels.csv"))


def _bytes(folder: Path) -> dict[str, bytes]:
    return {n: (folder / "reader_study" / n).read_bytes() for n in ("ratings.csv", "model_scores.csv")}


def test_writes_an_analysable_fully_crossed_study(study):
    folder, model = study
    s = write_reader_demo(folder, model, model_id={"id": "fake"}, n_cases=40, n_readers=3, seed=9)
    assert (s.n_cases, s.n_positive, s.n_readers, s.reused) == (40, 20, 3, False)
    r = pd.read_csv(s.ratings_path, dtype={"case": str})
    assert len(r) == 40 * 3 * 2 and set(r.modality) == {"unaided", "aided"}
    res = analyze_reader_study(s.ratings_path, model_scores=s.model_scores_path)
    assert res.analysis.design == "factorial" and len(res.table.cases) == 40
    marker = json.loads((folder / "reader_study" / "reader_study.json").read_text())
    assert marker["seed"] == 9 and marker["model"] == {"id": "fake"} and marker["n_positive"] == 20


def test_model_scores_are_the_model_output_for_the_chosen_images(study):
    folder, model = study
    s = write_reader_demo(folder, model, model_id={"id": "fake"}, n_cases=30, n_readers=2, seed=1)
    scores = pd.read_csv(s.model_scores_path, dtype={"case": str})
    labels = pd.read_csv(folder / "labels.csv", dtype={"case_id": str}).set_index("case_id")
    expected = model([folder / p for p in labels.loc[scores["case"], "path"]])
    np.testing.assert_allclose(scores["score"], expected, rtol=1e-9)


def test_selection_one_image_per_patient_half_positive_sites_in_proportion(study):
    folder, _ = study
    labels = pd.read_csv(folder / "labels.csv", dtype={"case_id": str, "patient_pseudo_id": str})
    sub = select_cases(labels, 60, seed=3)
    assert len(sub) == 60 and sub["patient_pseudo_id"].is_unique and int(sub["label"].sum()) == 30
    patients = labels.drop_duplicates("patient_pseudo_id")
    for lab in (0, 1):
        share = patients[patients.label == lab].site_key.value_counts(normalize=True)
        got = sub[sub.label == lab].site_key.value_counts()
        for site, frac in share.items():
            assert abs(got.get(site, 0) - 30 * frac) <= 1, (lab, site)
    assert select_cases(labels, 60, seed=3).equals(sub)
    assert not select_cases(labels, 60, seed=4)["case_id"].equals(sub["case_id"])


def test_same_parameters_reuse_without_running_the_model(study, tmp_path):
    folder, model = study
    write_reader_demo(folder, model, model_id={"id": "fake"}, n_cases=40, n_readers=3, seed=9)
    first = _bytes(folder)
    again = write_reader_demo(folder, model, model_id={"id": "fake"}, n_cases=40, n_readers=3, seed=9)
    assert again.reused and model.calls == 1 and _bytes(folder) == first
    forced = write_reader_demo(folder, model, model_id={"id": "fake"}, n_cases=40, n_readers=3, seed=9, force=True)
    assert not forced.reused and model.calls == 2 and _bytes(folder) == first  # byte-identical


@pytest.mark.parametrize("change", ["seed", "readers", "model", "labels", "edited"])
def test_any_change_regenerates(study, change):
    folder, model = study
    kw = dict(model_id={"id": "fake"}, n_cases=40, n_readers=3, seed=9)
    write_reader_demo(folder, model, **kw)
    if change == "seed":
        kw["seed"] = 10
    elif change == "readers":
        kw["n_readers"] = 4
    elif change == "model":
        kw["model_id"] = {"id": "fake", "weights_sha256": "0" * 64}
    elif change == "labels":
        m = json.loads((folder / "study.json").read_text())
        (folder / "study.json").write_text(json.dumps({**m, "labels_sha256": "1" * 64}))
    else:
        with open(folder / "reader_study" / "ratings.csv", "a") as fh:
            fh.write("reader09,C000001,aided,1,5,1.0\n")
    assert not write_reader_demo(folder, model, **kw).reused


def test_errors_name_the_fix(study, tmp_path):
    folder, model = study
    with pytest.raises(InputError, match="cannot choose 400 cases .* Fix: use a smaller --reader-cases"):
        write_reader_demo(folder, model, model_id={}, n_cases=400, seed=1)
    with pytest.raises(InputError, match="study.json missing"):
        write_reader_demo(tmp_path / "empty", model, model_id={}, seed=1)
    with pytest.raises(InputError, match="expected 2 to 100 readers"):
        write_reader_demo(folder, model, model_id={}, n_readers=1, seed=1)


@pytest.mark.parametrize("args, message", [
    (["--reader-study", "no/such/model.yaml"], "--reader-study: model card not found: no/such/model.yaml"),
    (["--reader-study", "x.yaml", "--readers", "1"], "--readers: expected a whole number from 2 to 100"),
    (["--reader-cases", "2"], "--reader-cases: expected a whole number >= 4"),
])
def test_cli_argument_errors(tmp_path, capsys, args, message):
    assert main(["synth", str(tmp_path / "x"), "--quiet", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # nothing written before the arguments are checked


@pytest.mark.slow  # 40 phantom images + a tiny network on the CPU (~15 s)
def test_cli_with_a_real_tiny_network(tmp_path, capsys):
    from valkit.predictor import load_predictor
    from valkit.preprocess import preprocess_file
    from valkit.testing import write_tiny_model

    card_dir = tmp_path / "tiny"
    write_tiny_model(card_dir, target_layer=None)
    out = tmp_path / "phantom"
    argv = ["synth", str(out), "--n-images", "40", "--seed", "3", "--jobs", "1", "--quiet",
            "--reader-study", str(card_dir / "model.yaml"), "--reader-cases", "16", "--readers", "3"]
    assert main(argv) == 0
    assert "reader study: 3 readers x 16 cases (8 positive), unaided and aided, written" in capsys.readouterr().out
    scores = pd.read_csv(out / "reader_study" / "model_scores.csv", dtype={"case": str})
    labels = pd.read_csv(out / "labels.csv", dtype={"case_id": str}).set_index("case_id")
    predictor = load_predictor(card_dir / "model.yaml", device="cpu")
    batch = np.stack([preprocess_file(out / p, predictor.card.preprocessing) for p in labels.loc[scores.case, "path"]])
    np.testing.assert_allclose(scores["score"], predictor.predict(batch), rtol=1e-6)
    first = _bytes(out)
    assert main(argv) == 0
    assert "already present, reused" in capsys.readouterr().out and _bytes(out) == first
