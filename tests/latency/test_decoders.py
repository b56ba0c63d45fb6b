"""Decoder choice per transfer syntax: only plugins with identical output, the fastest of them, recorded."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valkit.latency.decoders import (
    NATIVE,
    available_plugins,
    choose_decoders,
    plugin_map,
    preprocess_with_decoders,
    read_dataset,
)

RLE = "1.2.840.10008.1.2.5"
EXPLICIT = "1.2.840.10008.1.2.1"


def _paths(tiny_study):
    table = pd.read_csv(tiny_study / "manifest.csv")
    return [str(tiny_study / p) for p in table["path"]]


def test_each_syntax_gets_a_recorded_choice(tiny_study):
    paths = _paths(tiny_study)
    choice = choose_decoders(paths, repeats=2)
    assert set(choice) == {RLE, EXPLICIT}
    assert choice[EXPLICIT]["chosen"] == NATIVE
    rle = choice[RLE]
    assert set(rle["plugins"]) == set(available_plugins(RLE)) and len(rle["plugins"]) >= 2
    assert all(v["identical"] for v in rle["plugins"].values())
    assert rle["chosen"] in rle["plugins"] and rle["n_files"] == 3


def test_the_fastest_identical_plugin_wins(tiny_study, monkeypatch):
    # pixel_array wrapped so that each plugin "costs" a known time on a fake clock
    import pydicom.pixels

    import valkit.latency.decoders as dec

    real = pydicom.pixels.pixel_array
    now: list = [0.0]

    def fake_pixel_array(ds, decoding_plugin=""):
        now[0] += {"pydicom": 5.0, "pylibjpeg": 1.0}.get(decoding_plugin, 3.0)
        out = real(ds, decoding_plugin=decoding_plugin)
        return out + 1 if decoding_plugin == "pylibjpeg" and "lie" in now else out

    monkeypatch.setattr(pydicom.pixels, "pixel_array", fake_pixel_array)
    choice = dec.choose_decoders(_paths(tiny_study), repeats=1, clock=lambda: now[0])[RLE]
    assert choice["plugins"]["pylibjpeg"]["median_ms"] == 1000.0
    assert choice["chosen"] == "pylibjpeg"
    # a plugin whose output disagrees is never chosen, however fast
    now.append("lie")
    choice = dec.choose_decoders(_paths(tiny_study), repeats=1, clock=lambda: now[0])[RLE]
    assert choice["plugins"]["pylibjpeg"]["identical"] is False and choice["chosen"] != "pylibjpeg"


def test_chosen_plugin_is_applied_per_dataset_and_output_unchanged(tiny_study):
    from valkit.model_card import PreprocessingSpec
    from valkit.preprocess import preprocess_file

    spec = PreprocessingSpec(size=(32, 32))
    rle_path = next(p for p in _paths(tiny_study) if read_dataset(p).file_meta.TransferSyntaxUID == RLE)
    for plugin in available_plugins(RLE):
        ds = read_dataset(rle_path, {RLE: plugin})
        assert ds._pixel_array_opts.get("decoding_plugin") == plugin
        np.testing.assert_array_equal(preprocess_with_decoders(rle_path, spec, {RLE: plugin}),
                                      preprocess_file(rle_path, spec))
    assert plugin_map({RLE: {"chosen": "pylibjpeg"}, EXPLICIT: {"chosen": NATIVE}}) == {RLE: "pylibjpeg"}


@pytest.mark.parametrize("policy", ["fastest", "pydicom_default"])
def test_valkit_run_applies_and_records_the_decoder_choice(tiny_study, tmp_path, policy):
    """`valkit run` decodes with the chosen plugins (inference.pixel_decoder: fastest, the default)
    and records the choice in results.json; the scores do not depend on the policy."""
    import json

    from valkit.cli import main

    text = (tiny_study / "lat.yaml").read_text().split("latency:")[0]
    text = text.replace("device: cpu}", f"device: cpu, pixel_decoder: {policy}}}")
    proto = tiny_study / f"dec_{policy}.yaml"
    proto.write_text(text.replace("id: lat", f"id: dec_{policy}"))
    rc = main(["run", str(proto), "--runs-dir", str(tmp_path), "--no-report", "--quiet"])
    assert rc in (0, 1, 4)
    inf = json.loads((tmp_path / f"dec_{policy}" / "results.json").read_text())["inference"]
    assert inf["pixel_decoder"] == policy
    if policy == "pydicom_default":
        assert inf["decoders"] is None
    else:
        rle = inf["decoders"][RLE]
        assert rle["chosen"] in available_plugins(RLE) and rle["n_files"] == 3
        assert {c["chosen"] for uid, c in inf["decoders"].items() if uid != RLE} == {"native"}
    scores = pd.read_parquet(tmp_path / f"dec_{policy}" / "predictions.parquet").sort_values("case_id")
    assert (scores["status"] == "ok").all()


def test_a_fully_resumed_run_chooses_no_decoder(tiny_study, tmp_path):
    import json

    from valkit.cli import main

    text = (tiny_study / "lat.yaml").read_text().split("latency:")[0].replace("id: lat", "id: dec_resume")
    proto = tiny_study / "dec_resume.yaml"
    proto.write_text(text)
    args = ["run", str(proto), "--runs-dir", str(tmp_path), "--no-report", "--quiet"]
    assert main(args) in (0, 1, 4)
    assert json.loads((tmp_path / "dec_resume" / "results.json").read_text())["inference"]["decoders"]
    assert main(args) in (0, 1, 4)  # every prediction is reused: nothing to decode, nothing chosen
    inf = json.loads((tmp_path / "dec_resume" / "results.json").read_text())["inference"]
    assert inf["resumed_rows"] == 8 and inf["decoders"] is None


def test_a_corrupt_sample_file_is_skipped_not_blamed_on_the_decoders(tiny_study, tmp_path):
    paths = _paths(tiny_study)
    rle_files = [p for p in paths if choose_decoders([p], repeats=1).get(RLE)]
    broken = tmp_path / "broken.dcm"
    data = Path(rle_files[0]).read_bytes()
    broken.write_bytes(data[: len(data) - 300])  # RLE segments cut short: no plugin can decode it
    choice = choose_decoders([str(broken), *rle_files], files_per_syntax=3, repeats=1)[RLE]
    assert choice["n_files"] == 2 and choice["chosen"] in available_plugins(RLE)
    assert all(v.get("identical") for v in choice["plugins"].values())
