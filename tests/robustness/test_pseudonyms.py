"""Issue #16 item 1: pseudonyms are keyed (HMAC-SHA256), so enumerating the identifier space without
the key reverses none of them; the key lives outside the outputs and only its fingerprint is recorded.

Reference: RFC 2104 (HMAC) / FIPS 198-1; the reversal attack is the one in the issue (an unkeyed
sha256 of a 7-digit PatientID, enumerated).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from valkit.cli import main
from valkit.errors import InputError
from valkit.manifest import build_manifest
from valkit.pseudonyms import PSEUDONYM_HEX, fingerprint, load_or_create_key, pseudonymise
from valkit.testing import write_dicom

import numpy as np

PATIENTS = [f"{n:07d}" for n in (1234567, 7654321, 42, 9999999)]


def _study(root: Path) -> Path:
    folder = root / "dicom"
    folder.mkdir(parents=True)
    for i, pid in enumerate(PATIENTS):
        write_dicom(folder / f"img{i}.dcm", np.full((8, 8), 100 * i), patient_id=pid)
    return folder


def test_pseudonym_is_an_hmac_of_the_identifier_not_a_plain_hash():
    key = bytes(range(32))
    got = pseudonymise("P", "1234567", key)
    # RFC 2104 HMAC computed independently with the standard library
    want = hmac.new(key, b"P:1234567", hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]
    assert got == f"P-{want}" and len(want) == 20
    assert hashlib.sha256(b"1234567").hexdigest()[:PSEUDONYM_HEX] not in got  # the old, reversible scheme


def test_enumerating_the_id_space_without_the_key_reverses_nothing(tmp_path):
    key = load_or_create_key(tmp_path / "k" / "pseudonym.key")
    out = tmp_path / "m" / "m.csv"
    build_manifest(_study(tmp_path), out=out, key=key)
    made = set(pd.read_csv(out, dtype=str)["patient_id"])
    assert len(made) == len(PATIENTS)
    # the attack of the issue on a small space that holds every true id: unkeyed hashes, any length
    space = [f"{n:07d}" for n in range(0, 10_000_000, 997)] + PATIENTS
    unkeyed = {hashlib.sha256(v.encode()).hexdigest() for v in space}
    hexes = {p.split("-", 1)[1] for p in made}
    assert not any(h.startswith(p) or p.startswith(h) for p in hexes for h in unkeyed)
    # the pseudonyms are not those of another key either
    other = {pseudonymise("P", v, os.urandom(32)) for v in PATIENTS}
    assert not made & other


def test_same_key_same_pseudonyms_across_builds_other_key_different(tmp_path):
    study = _study(tmp_path)
    k1, k2 = tmp_path / "keys" / "one.key", tmp_path / "keys" / "two.key"
    a = build_manifest(study, out=tmp_path / "a" / "m.csv", key=k1)
    b = build_manifest(study, out=tmp_path / "b" / "m.csv", key=k1)
    c = build_manifest(study, out=tmp_path / "c" / "m.csv", key=k2)
    ids = {n: pd.read_csv(s.out, dtype=str)[["case_id", "patient_id"]] for n, s in zip("abc", (a, b, c))}
    assert ids["a"].equals(ids["b"])
    assert not set(ids["a"]["patient_id"]) & set(ids["c"]["patient_id"])
    assert not set(ids["a"]["case_id"]) & set(ids["c"]["case_id"])
    assert a.key.fingerprint == b.key.fingerprint != c.key.fingerprint


def test_key_created_on_first_use_private_and_only_its_fingerprint_recorded(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.delenv("VALKIT_PSEUDONYM_KEY", raising=False)
    study = _study(tmp_path)
    assert main(["manifest", "build", str(study), "--out", "datasets/m.csv"]) == 0
    key_file = project / ".valkit" / "pseudonym.key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = bytes.fromhex(key_file.read_text().strip())
    assert len(secret) == 32
    printed = capsys.readouterr().out
    assert "created the pseudonym key" in printed and fingerprint(secret) in printed
    m = pd.read_csv(project / "datasets" / "m.csv", dtype=str, keep_default_na=False)
    assert set(m["pseudonym_key"]) == {fingerprint(secret)}
    text = (project / "datasets" / "m.csv").read_text()
    assert secret.hex() not in text and not set(PATIENTS) & set(m["patient_id"])
    # second build: the same key is reused, not replaced
    assert main(["manifest", "build", str(study), "--out", "datasets/m2.csv"]) == 0
    assert bytes.fromhex(key_file.read_text().strip()) == secret
    assert "created" not in capsys.readouterr().out


def test_key_path_from_environment_and_option(tmp_path, monkeypatch):
    study = _study(tmp_path)
    env_key = tmp_path / "env" / "k.key"
    monkeypatch.setenv("VALKIT_PSEUDONYM_KEY", str(env_key))
    assert main(["manifest", "build", str(study), "--out", str(tmp_path / "o1" / "m.csv")]) == 0
    assert env_key.is_file()
    opt_key = tmp_path / "opt" / "k.key"
    assert main(["manifest", "build", str(study), "--out", str(tmp_path / "o2" / "m.csv"),
                 "--pseudonym-key", str(opt_key)]) == 0
    assert opt_key.is_file()
    one = pd.read_csv(tmp_path / "o1" / "m.csv", dtype=str)["patient_id"]
    two = pd.read_csv(tmp_path / "o2" / "m.csv", dtype=str)["patient_id"]
    assert not set(one) & set(two)


def test_key_inside_the_manifest_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="Keep the key outside the outputs"):
        build_manifest(_study(tmp_path), out=tmp_path / "out" / "m.csv", key=tmp_path / "out" / ".valkit" / "k.key")
    assert not (tmp_path / "out" / ".valkit" / "k.key").exists()


def test_no_key_needed_when_the_labels_supply_every_id(tmp_path, monkeypatch):
    study = _study(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label,case_id,patient_pseudo_id\n" + "".join(
        f"dicom/img{i}.dcm,{i % 2},C{i},S{i}\n" for i in range(len(PATIENTS))))
    never = tmp_path / "never" / "k.key"
    s = build_manifest(study, out=tmp_path / "m.csv", labels=labels, key=never)
    assert s.key is None and not never.exists()
    m = pd.read_csv(s.out, dtype=str, keep_default_na=False)
    assert (m["pseudonym_key"] == "").all()


def test_damaged_key_file_is_an_input_error(tmp_path):
    bad = tmp_path / "k.key"
    bad.write_text("not a key\n")
    with pytest.raises(InputError, match="not a valkit pseudonym key"):
        load_or_create_key(bad)


def test_old_unkeyed_pseudonyms_are_flagged_not_called_safe():
    from valkit.report.sections.appendix import identifiers_text
    from valkit.results_schema.run_info import IdentifierKinds
    from valkit.study import identifier_kinds

    # what valkit wrote before keyed pseudonyms: sha256[:12], no pseudonym_key column
    old = pd.DataFrame({"case_id": ["I-" + hashlib.sha256(b"1.2.3").hexdigest()[:12]],
                        "patient_id": ["P-" + hashlib.sha256(b"1234567").hexdigest()[:12]]})
    kinds = identifier_kinds(old)
    assert kinds["case_ids"] == kinds["patient_ids"] == "unkeyed_pseudonym"
    sentence = identifiers_text(IdentifierKinds.model_validate(kinds))
    assert "can be reversed" in sentence and "rebuild the manifest" in sentence
