"""Fixtures: the fake study (external predictions, no images) with a simulated reader study added."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"
N_PER_CLASS = 30
N_READERS = 4
SEED = 5


def reader_cases(folder: Path) -> pd.DataFrame:
    """30 positive and 30 negative cases of the fake study, one per patient, all with a score."""
    m = pd.read_csv(folder / "manifest.csv", dtype={"case_id": str, "patient_id": str})
    s = pd.read_csv(folder / "scores.csv", dtype={"case_id": str})
    m = m.merge(s, on="case_id")
    m = m[np.isfinite(m["score"])].drop_duplicates("patient_id")
    return pd.concat([m[m.label == 1].head(N_PER_CLASS), m[m.label == 0].head(N_PER_CLASS)])


def _make_study(folder: Path, block: dict | None = None, *, cases: pd.DataFrame | None = None) -> Path:
    """Copy the fake study into ``folder``, write ratings.csv, add a reader_study block; return the protocol."""
    from valkit.synth.reader_study import simulate_reader_study

    folder.mkdir(parents=True, exist_ok=True)
    for f in FAKE.iterdir():
        shutil.copy(f, folder / f.name)
    cases = reader_cases(folder) if cases is None else cases
    ratings = simulate_reader_study(cases["case_id"].tolist(), cases["label"].to_numpy(int),
                                    cases["score"].to_numpy(float), n_readers=N_READERS, seed=SEED)
    ratings.to_csv(folder / "ratings.csv", index=False)
    protocol = yaml.safe_load((folder / "fake.yaml").read_text())
    protocol["reader_study"] = block if block is not None else {
        "ratings": "ratings.csv", "threshold": 3, "hypothesis": "non_inferiority", "margin": 0.05,
        "model_scores": "run", "washout_days": 28, "description": "Four simulated readers."}
    (folder / "fake.yaml").write_text(yaml.safe_dump(protocol, sort_keys=False))
    return folder / "fake.yaml"


@pytest.fixture(scope="session")
def reader_run(tmp_path_factory) -> Path:
    """The fake study with a reader study, run without a report; returns the run directory."""
    from valkit.cli import main

    d = tmp_path_factory.mktemp("reader")
    protocol = _make_study(d / "study")
    rc = main(["run", str(protocol), "--runs-dir", str(d / "runs"), "--no-report", "--quiet"])
    assert rc in (0, 1, 4), rc
    return d / "runs" / "fake"


@pytest.fixture(scope="session")
def reader_results(reader_run) -> dict:
    return json.loads((reader_run / "results.json").read_text())


@pytest.fixture(name="make_study")
def make_study_fixture():
    """``make_study(folder, block=None)``: the fake study plus ratings and a reader_study block."""
    return _make_study
