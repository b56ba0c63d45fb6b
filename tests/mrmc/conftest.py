"""Shared helpers for the MRMC tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "mrmc"


@pytest.fixture(scope="session")
def vandyke() -> pd.DataFrame:
    return pd.read_csv(DATA / "vandyke.csv")


def tidy(ratings: np.ndarray, truth: np.ndarray, *, modalities=None, readers=None, cases=None) -> pd.DataFrame:
    """Rating array (T, R, C) -> tidy long table (nan cells omitted)."""
    n_mod, n_rdr, n_cases = ratings.shape
    modalities = modalities or [f"m{t}" for t in range(n_mod)]
    readers = readers or [f"r{r}" for r in range(n_rdr)]
    cases = cases or [f"c{k:03d}" for k in range(n_cases)]
    rows = []
    for t in range(n_mod):
        for r in range(n_rdr):
            for k in range(n_cases):
                if not np.isnan(ratings[t, r, k]):
                    rows.append((readers[r], cases[k], modalities[t], int(truth[k]), float(ratings[t, r, k])))
    return pd.DataFrame(rows, columns=["reader", "case", "modality", "truth", "rating"])


@pytest.fixture(scope="session")
def make_tidy():
    return tidy
