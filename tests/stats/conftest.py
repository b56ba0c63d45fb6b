import csv
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "stats"
# test oracles (tests/stats/stats_oracles.py) importable under --import-mode=importlib
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def asah():
    with open(DATA / "asah.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {
        "y": np.array([int(r["y_true"]) for r in rows]),
        "s100b": np.array([float(r["y_score"]) for r in rows]),
        "wfns": np.array([float(r["y_score_b"]) for r in rows]),
        "ndka": np.array([float(r["ndka"]) for r in rows]),
        "patient_id": np.array([int(r["patient_id"]) for r in rows]),
    }
