"""Product code and regulation number agree (`valkit validate` warns, never errors); the CDSCO class is A-D.

Product codes from the FDA product classification database (sources in valkit/regulatory/product_codes.py):
MYN -> 21 CFR 892.2070 (85 FR 3545, reclassification of medical image analyzers), QAS -> 892.2080.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from valkit.cli import main
from valkit.errors import InputError
from valkit.preflight import regulatory_findings
from valkit.protocol import load_protocol
from valkit.regulatory.product_codes import PRODUCT_CODES, expected_regulation, regulation_section
from valkit.yaml_lines import line_index

ROOT = Path(__file__).resolve().parents[2]

PROTOCOL = """\
id: t
version: "1"
title: t
intended_use: x
regulatory:
  targets: [FDA, CDSCO]
  document_id: D
  revision: A
  fda: {{submission_type: "510(k)", product_code: {code}, regulation_number: "{reg}"}}
  cdsco: {{device_class: {cls}}}
predictions: {{path: s.csv, model_name: m, model_version: "1", threshold: 0.5}}
datasets:
  - manifest: m.csv
reference_standard: {{column: label, description: d}}
endpoints:
  - {{id: s, metric: sensitivity}}
"""


def _protocol(tmp_path: Path, code: str = "MYN", reg: str = "21 CFR 892.2070", cls: str = "B") -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(PROTOCOL.format(code=code, reg=reg, cls=cls))
    return p


def _findings(path: Path):
    loaded = load_protocol(path, check_paths=False)
    return regulatory_findings(loaded, line_index(path.read_text()), str(path))


def test_table_entries():
    assert expected_regulation("myn").regulation == "892.2070"
    assert expected_regulation("QAS").regulation == "892.2080"
    assert all(regulation_section(f"21 CFR {p.regulation}") == p.regulation for p in PRODUCT_CODES.values())


def test_mismatch_is_a_warning_naming_line_both_values_and_the_fix(tmp_path):
    warnings, notes = _findings(_protocol(tmp_path, reg="21 CFR 892.2090"))
    assert notes == [] and len(warnings) == 1
    w = warnings[0]
    assert f"{tmp_path / 'p.yaml'}:9:" in w and "892.2090" in w and "MYN" in w and '"21 CFR 892.2070"' in w


def test_matching_code_and_spelling_variants_are_quiet(tmp_path):
    assert _findings(_protocol(tmp_path, reg="892.2070")) == ([], [])
    assert _findings(_protocol(tmp_path, code="QAS", reg="21 CFR § 892.2080")) == ([], [])


def test_unknown_code_is_a_note_not_a_warning(tmp_path):
    warnings, notes = _findings(_protocol(tmp_path, code="ZZZ", reg="21 CFR 892.2090"))
    assert warnings == [] and len(notes) == 1 and "ZZZ" in notes[0]


def test_validate_command_warns_on_stderr_and_still_succeeds(tmp_path, capsys):
    assert main(["validate", "--no-paths", str(_protocol(tmp_path, reg="21 CFR 892.2090"))]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "21 CFR 892.2070" in err


def test_the_demo_protocol_is_consistent(capsys):
    assert main(["validate", "--no-paths", str(ROOT / "protocols" / "demo.yaml")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_cdsco_class_must_be_a_to_d(tmp_path):
    with pytest.raises(InputError) as exc:
        load_protocol(_protocol(tmp_path, cls="E"), check_paths=False)
    assert "device_class" in str(exc.value) + " ".join(exc.value.problems or [])
