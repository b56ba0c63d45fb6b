"""Issue #16 item 7: manifest paths are confined to the dataset's image root, and a missing digest is
computed and recorded.

A manifest row that resolves (after symlinks) outside the image root (``../../../../etc/passwd``,
another study's image) stops the run before any file is read, with the manifest file:row, the case
id, the path and the fix; ``datasets[].image_root`` in the protocol widens the root on purpose.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valkit.cli import main
from valkit.errors import InputError
from valkit.manifest import load_manifest
from valkit.protocol import load_protocol
from valkit.study import load_study

PROTOCOL = """\
id: confine
version: "1.0"
title: Confinement test
intended_use: tests only
regulatory: {{targets: [FDA], document_id: VK-TEST, revision: A}}
datasets:
  - manifest: study/manifest.csv
{image_root}reference_standard: {{column: label, description: test labels}}
operating_point: {{source: fixed, threshold: 0.5}}
endpoints:
  - {{id: sensitivity, metric: sensitivity}}
predictions: {{path: scores.csv, model_name: V, model_version: "1"}}
"""


def _study(root: Path, paths: list[str], *, image_root: str | None = None) -> Path:
    """A study folder with a manifest of ``paths`` (two cases per label) and a protocol; returns the protocol."""
    (root / "study" / "img").mkdir(parents=True, exist_ok=True)
    for i in range(4):
        (root / "study" / "img" / f"{i}.dcm").write_bytes(b"x")
    rows = [{"case_id": f"C{i}", "path": p, "sha256": "", "label": i % 2} for i, p in enumerate(paths)]
    pd.DataFrame(rows).to_csv(root / "study" / "manifest.csv", index=False)
    pd.DataFrame({"case_id": [r["case_id"] for r in rows], "score": np.linspace(0.1, 0.9, len(rows))}).to_csv(
        root / "scores.csv", index=False)
    extra = f"    image_root: {image_root}\n" if image_root else ""
    (root / "p.yaml").write_text(PROTOCOL.format(image_root=extra))
    return root / "p.yaml"


def _fails_before_any_work(protocol: Path, runs: Path, capsys) -> str:
    assert main(["run", str(protocol), "--runs-dir", str(runs), "--no-report", "--quiet"]) == 2
    assert not runs.exists()  # nothing was written, nothing was read
    return capsys.readouterr().err


def test_traversal_to_etc_passwd_stops_the_run(tmp_path, capsys):
    protocol = _study(tmp_path, ["img/0.dcm", "img/1.dcm", "../../../../../../../../etc/passwd", "img/3.dcm"])
    err = _fails_before_any_work(protocol, tmp_path / "runs", capsys)
    assert "manifest.csv:4 (case C2)" in err
    assert "../../../../../../../../etc/passwd" in err and "/etc/passwd, outside the image root" in err
    assert "datasets[0].image_root" in err


def test_another_studys_image_is_outside_unless_the_protocol_allows_it(tmp_path, capsys):
    other = tmp_path / "other_study"
    other.mkdir()
    (other / "x.dcm").write_bytes(b"x")
    paths = ["img/0.dcm", "img/1.dcm", "../other_study/x.dcm", "img/3.dcm"]
    err = _fails_before_any_work(_study(tmp_path, paths), tmp_path / "runs", capsys)
    assert "(case C2): path '../other_study/x.dcm'" in err
    # the protocol widens the root explicitly: the same manifest loads
    protocol = _study(tmp_path, paths, image_root=".")
    study = load_study(load_protocol(protocol))
    assert Path(study.table.at[2, "abs_path"]) == (other / "x.dcm").resolve()


def test_a_symlink_out_of_the_root_is_outside(tmp_path):
    secret = tmp_path / "elsewhere" / "secret.dcm"
    secret.parent.mkdir()
    secret.write_bytes(b"x")
    protocol = _study(tmp_path, ["img/0.dcm", "img/1.dcm", "img/link.dcm", "img/3.dcm"])
    os.symlink(secret, tmp_path / "study" / "img" / "link.dcm")
    with pytest.raises(InputError, match=r"\(case C2\): path 'img/link.dcm' resolves to .*secret.dcm, outside"):
        load_study(load_protocol(protocol))


def test_absolute_path_inside_the_root_is_fine(tmp_path):
    inside = str((tmp_path / "study" / "img" / "2.dcm").resolve())
    protocol = _study(tmp_path, ["img/0.dcm", "img/1.dcm", inside, "img/3.dcm"])
    assert len(load_study(load_protocol(protocol)).table) == 4


def test_every_outside_row_is_listed(tmp_path):
    _study(tmp_path, ["../a.dcm", "img/1.dcm", "/etc/hostname", "img/3.dcm"])
    with pytest.raises(InputError) as info:
        load_manifest(tmp_path / "study" / "manifest.csv")
    assert [p.split(":", 1)[1].split(" ")[0] for p in info.value.problems] == ["2", "4"]
    assert "image_root" in str(info.value)


def test_manifest_check_takes_the_image_root(tmp_path, capsys):
    _study(tmp_path, ["img/0.dcm", "img/1.dcm", "../elsewhere/x.dcm", "img/3.dcm"])
    manifest = str(tmp_path / "study" / "manifest.csv")
    assert main(["manifest", "check", manifest]) == 2
    assert "--image-root" in capsys.readouterr().err
    assert main(["manifest", "check", manifest, "--image-root", str(tmp_path)]) == 0


def test_missing_digest_is_noted_in_provenance(tmp_path):
    protocol = _study(tmp_path, ["img/0.dcm", "img/1.dcm", "img/2.dcm", "img/3.dcm"])
    assert main(["run", str(protocol), "--runs-dir", str(tmp_path / "runs"), "--no-report", "--quiet"]) in (0, 1, 4)
    r = json.loads((tmp_path / "runs" / "confine" / "results.json").read_text())
    notes = r["provenance"]["manifests"][0]["notes"]
    assert any("4 rows have no SHA-256 of the image" in n for n in notes)
