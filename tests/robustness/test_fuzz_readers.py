"""Issue #16 validation: arbitrary YAML and CSV never give an internal error or a traceback.

The protocol reader (`valkit validate`, which loads exactly what `valkit run` loads first) and the
manifest reader must turn anything a user can write into exit 0 or a clear input error (exit 2).
"""
from __future__ import annotations

import random
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from valkit.cli import main
from valkit.errors import InputError
from valkit.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "protocols" / "demo.yaml").read_text()
MANIFEST_HEAD = (ROOT / "datasets" / "manifests" / "demo.csv").read_text().splitlines()[:12]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=20))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=12), inner, max_size=5)),
                         max_leaves=25)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _validate(tmp_path: Path, text: str, capsys) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    rc = main(["validate", str(path), "--no-paths"])
    err = capsys.readouterr().err
    assert rc in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_as_a_protocol(tmp_path, capsys, text):
    _validate(tmp_path, text.encode("utf-8", "replace").decode("utf-8"), capsys)


@FUZZ
@given(doc=documents)
def test_any_yaml_document_as_a_protocol(tmp_path, capsys, doc):
    _validate(tmp_path, yaml.safe_dump(doc), capsys)


@FUZZ
@given(seed=st.integers(0, 10**9), n=st.integers(1, 6))
def test_the_demo_protocol_with_lines_dropped_duplicated_or_mangled(tmp_path, capsys, seed, n):
    rng = random.Random(seed)
    lines = DEMO.splitlines()
    for _ in range(n):
        i = rng.randrange(len(lines))
        action = rng.choice(["drop", "dup", "value", "indent"])
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {rng.choice(['-1', '[]', '{}', 'null', 'nan', '1e309', '*x', '&y z', 'yes'])}"
        else:
            lines[i] = " " * rng.randrange(1, 4) + lines[i]
    _validate(tmp_path, "\n".join(lines) + "\n", capsys)


@FUZZ
@given(seed=st.integers(0, 10**9), cells=st.lists(st.text(max_size=8), min_size=1, max_size=20))
def test_any_csv_as_a_manifest(tmp_path, seed, cells):
    rng = random.Random(seed)
    lines = list(MANIFEST_HEAD)
    for cell in cells:  # overwrite random cells, drop or add separators, truncate lines
        i = rng.randrange(len(lines))
        parts = lines[i].split(",")
        j = rng.randrange(len(parts))
        parts[j] = rng.choice([cell, cell + "," + cell, '"' + cell, ""])
        lines[i] = ",".join(parts)[: rng.randrange(1, 400)] if rng.random() < 0.2 else ",".join(parts)
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        load_manifest(path, required_columns=("site", "sex"), check_files=False)
    except InputError:
        pass


def test_a_row_with_more_fields_than_the_header_is_an_input_error(tmp_path):
    # found by the fuzz above: pandas silently made the first columns the index, and the duplicate-id
    # message then crashed (exit 3) on a string row label
    lines = list(MANIFEST_HEAD)
    lines[3] = lines[3] + ",extra,fields"
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    import pytest

    with pytest.raises(InputError, match="(some row has more fields than the header|line 4)"):
        load_manifest(path, check_files=False)
