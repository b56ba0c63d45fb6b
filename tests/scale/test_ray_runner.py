"""Inference on Ray Data gives the local runner's predictions: same rows, scores, statuses and resume rules.

Ray's start-up is slow: one module-scoped local Ray with 2 CPU workers. Skipped when the ``ray``
extra is not installed (``pip install 'valkit[ray]'``; ``make test`` installs it).
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")
pytest.importorskip("ray.data")

from valkit.runner import read_predictions, run_inference  # noqa: E402
from valkit.testing import fake_image_table, fake_predict, fake_preprocess, load_fake_predict  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _ray(table, run_dir, **kw):
    from valkit.ray_runner import run_inference_ray

    return run_inference_ray(table, run_dir, preprocess=fake_preprocess, load_predict=load_fake_predict,
                             model_sha256="abc", preprocessing_sha256="pre1", batch_size=3, progress=False, **kw)


def _local(table, run_dir):
    return run_inference(table, run_dir, preprocess=fake_preprocess, predict=fake_predict, model_sha256="abc",
                         preprocessing_sha256="pre1", batch_size=3, num_workers=0, progress=False)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("case_id").reset_index(drop=True)


def test_ray_predictions_equal_the_local_runner(local_ray, tmp_path):
    table = fake_image_table(tmp_path, 11, corrupt=(2,), missing=(5,), nan=(7,))
    s_ray = _ray(table, tmp_path / "ray")
    s_local = _local(table, tmp_path / "local")
    got = pd.read_parquet(tmp_path / "ray" / "predictions.parquet")
    want = pd.read_parquet(tmp_path / "local" / "predictions.parquet")
    assert list(got["case_id"]) == list(table["case_id"])  # manifest order, one row per case
    g, w = _sorted(got), _sorted(want)
    np.testing.assert_allclose(g["score"], w["score"], rtol=0, atol=1e-12, equal_nan=True)
    pd.testing.assert_frame_equal(g.drop(columns="score"), w.drop(columns="score"))
    assert (s_ray.n_ok, s_ray.n_failed, s_ray.n_total) == (s_local.n_ok, s_local.n_failed, s_local.n_total) == (8, 3, 11)
    assert not (tmp_path / "ray" / "predictions.parts").exists()


def test_ray_resumes_from_saved_parts_without_duplicates(local_ray, tmp_path):
    table = fake_image_table(tmp_path, 9)
    _local(table.iloc[:4], tmp_path / "run")  # an earlier run scored the first four cases
    summary = _ray(table, tmp_path / "run")
    assert summary.n_resumed == 4 and summary.n_ok == 9
    saved = read_predictions(tmp_path / "run")
    assert len(saved) == 9 and saved["case_id"].is_unique
    fresh = _local(table, tmp_path / "fresh")
    assert fresh.n_ok == 9
    np.testing.assert_allclose(_sorted(saved)["score"], _sorted(pd.read_parquet(fresh.predictions_path))["score"])


def test_executor_is_a_protocol_choice_and_rejects_typos():
    from pydantic import ValidationError

    from valkit.protocol import Inference

    assert Inference().executor == "local"
    assert Inference(executor="ray", ray_address="auto").ray_address == "auto"
    with pytest.raises(ValidationError):
        Inference(executor="dask")


class _FakeRay:
    def __init__(self, gpus: int):
        self._gpus = gpus

    def cluster_resources(self) -> dict:
        return {"CPU": 16.0, **({"GPU": float(self._gpus)} if self._gpus else {})}


@pytest.mark.parametrize(("gpus", "device", "replicas", "expected"), [
    (4, "auto", None, (4, 1.0)),     # one model replica per GPU, each actor holding one GPU
    (4, "cuda", 2, (2, 1.0)),        # the protocol's ray_replicas wins; still one GPU each
    (0, "auto", None, (1, 0.0)),     # a CPU cluster: one CPU replica
    (4, "cpu", None, (1, 0.0)),      # device: cpu never asks the cluster for GPUs
    (0, "auto", 3, (3, 0.0)),
])
def test_replicas_take_one_gpu_each_when_the_cluster_has_gpus(gpus, device, replicas, expected):
    from valkit.ray_runner import replicas_and_gpus

    assert replicas_and_gpus(_FakeRay(gpus), device, replicas) == expected
