"""`valkit demo`'s folder layout (fast checks; the installed demo runs in test_packaging.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from valkit.demo import FULL, MODEL_FILES, QUICK, place_shipped_files, write_quick_protocol
from valkit.errors import InputError
from valkit.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[2]


def test_demo_in_the_checkout_uses_the_checkout_files_in_place():
    """`make demo` is `valkit demo --out <checkout>`: nothing is copied over the shipped files."""
    before = {p: p.stat().st_mtime_ns for p in [ROOT / "protocols" / "demo.yaml",
                                                *(ROOT / "models" / "demo-nodule" / n for n in MODEL_FILES)]}
    assert place_shipped_files(ROOT) == ROOT / "protocols" / "demo.yaml"
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_demo_folder_mirrors_the_repository_and_the_protocol_is_unchanged(tmp_path):
    protocol = place_shipped_files(tmp_path)
    assert protocol.read_bytes() == (ROOT / "protocols" / "demo.yaml").read_bytes()
    for name in MODEL_FILES:
        assert (tmp_path / "models" / "demo-nodule" / name).read_bytes() == \
            (ROOT / "models" / "demo-nodule" / name).read_bytes()
    assert place_shipped_files(tmp_path) == protocol  # a second run reuses the folder


def test_demo_does_not_overwrite_an_edited_file(tmp_path):
    protocol = place_shipped_files(tmp_path)
    protocol.write_text(protocol.read_text().replace("revision: A", "revision: B"))
    with pytest.raises(InputError, match=r"demo\.yaml: already exists and differs from valkit's shipped"):
        place_shipped_files(tmp_path)


def test_quick_protocol_is_the_demo_without_the_slow_sections(tmp_path):
    quick = write_quick_protocol(place_shipped_files(tmp_path))
    data = yaml.safe_load(quick.read_text())
    demo = yaml.safe_load((ROOT / "protocols" / "demo.yaml").read_text())
    assert data["id"] == QUICK.name and "latency" not in data and "explainability" not in data
    assert data["datasets"][0]["manifest"] == "../datasets/manifests/demo-quick.csv"
    assert data["reader_study"]["ratings"] == "../datasets/phantom/demo-quick/reader_study/ratings.csv"
    assert data["endpoints"] == demo["endpoints"] and data["subgroups"] == demo["subgroups"]
    load_protocol(quick, check_paths=False)  # a valid protocol
    assert (QUICK.n_images, FULL.n_images, FULL.reader_cases) == (120, 600, 120)  # FULL: as `make demo` was
