"""Issue #14: lock before unseal, timeline and reuse, signatures, determinism — on the fake study."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from valkit.audit import log
from valkit.audit.verify import verify
from valkit.cli import main

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"
MASKING = "The reference standard was established without knowledge of the device output."


def _study(d: Path, *, pre_registered: bool = True) -> Path:
    shutil.copytree(FAKE, d)
    if pre_registered:
        y = (d / "fake.yaml").read_text().replace(
            "  revision: A\n", f"  revision: A\n  pre_registered: true\n  masking:\n  - {MASKING}\n")
        (d / "fake.yaml").write_text(y)
    return d / "fake.yaml"


def _run(protocol: Path, runs: Path, *report) -> int:
    return main(["run", str(protocol), "--runs-dir", str(runs), "--no-progress", *(report or ["--no-report"])])


def _kinds(runs: Path) -> list[str]:
    return [e["kind"] for e in log.read_entries(runs)]


@pytest.fixture(scope="module")
def locked_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("locked")
    protocol = _study(d / "study")
    runs = d / "runs"
    assert main(["lock", str(protocol), "--runs-dir", str(runs)]) == 0
    assert _run(protocol, runs) == 1  # the fake study's sensitivity misses its goal
    return protocol, runs, runs / "fake"


def test_a_pre_registered_run_without_a_lock_is_refused_before_reading_labels(tmp_path, monkeypatch, capsys):
    import valkit.pipeline as pipeline

    protocol = _study(tmp_path / "study")

    def no_labels(loaded):
        raise AssertionError("the labels were read before the lock check")

    monkeypatch.setattr(pipeline, "load_study", no_labels)
    assert _run(protocol, tmp_path / "runs") == 2
    err = capsys.readouterr().err
    assert "regulatory.pre_registered is true but no lock records these exact files" in err
    assert "valkit lock" in err
    assert _kinds(tmp_path / "runs") == ["run_refused"]  # no unseal entry: the labels stayed sealed
    assert not (tmp_path / "runs" / "fake" / "results.json").exists()


def test_a_lock_is_invalidated_by_a_changed_manifest(tmp_path, capsys):
    protocol = _study(tmp_path / "study")
    runs = tmp_path / "runs"
    assert main(["lock", str(protocol), "--runs-dir", str(runs)]) == 0
    manifest = tmp_path / "study" / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("C0000,P0000,,img/0.dcm,,0,", "C0000,P0000,,img/0.dcm,,1,", 1))
    capsys.readouterr()
    assert _run(protocol, runs) == 2
    err = capsys.readouterr().err
    assert "differs in: datasets[0].manifest" in err
    assert _kinds(runs) == ["lock", "run_refused"]


def test_pre_registration_is_refused_when_the_labels_were_read_before_any_lock(tmp_path, capsys, monkeypatch):
    import valkit.pipeline as pipeline

    protocol = _study(tmp_path / "study", pre_registered=False)
    runs = tmp_path / "runs"
    # a run that reads the labels and then stops (the rest of the run is not what is tested)
    monkeypatch.setattr(pipeline, "_run_locked", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert _run(protocol, runs) == 130
    assert _kinds(runs) == ["run_start", "unseal"]
    y = protocol.read_text().replace("  revision: A\n", "  revision: A\n  pre_registered: true\n")
    protocol.write_text(y)
    assert main(["lock", str(protocol), "--runs-dir", str(runs)]) == 0
    assert "first read" in capsys.readouterr().out
    assert _run(protocol, runs) == 2
    assert "were first read at" in capsys.readouterr().err


def test_the_timeline_shows_lock_then_unseal_then_the_run(locked_run):
    _, runs, run_dir = locked_run
    r = json.loads((run_dir / "results.json").read_text())
    t = r["traceability"]
    assert t["status"] == "pre-registered" and t["pre_registered"]
    assert t["lock"]["seq"] < t["run_start"]["seq"] < t["unseal"]["seq"] == t["first_unseal"]["seq"]
    assert t["first_unseal"]["this_run"]
    assert t["lock"]["protocol_sha256"] == r["protocol"]["sha256"]
    assert {f["key"] for f in t["lock"]["files"]} == {"datasets[0].manifest", "predictions.path"}
    assert t["masking"] == [MASKING]
    assert t["reuse"] == [{**t["reuse"][0], "model": "Vendor X", "version": "2.1", "runs": 1, "protocols": ["fake"]}]
    assert t["audit_head"]["seq"] == t["unseal"]["seq"]  # results.json is anchored after the unsealing
    end = log.read_entries(runs)[-1]
    assert end["kind"] == "run_end" and end["details"]["verdict"] == r["verdict"]
    assert verify(runs).ok, verify(runs).problems


def test_the_determinism_check_recomputes_the_analyses_and_gates(locked_run):
    _, _, run_dir = locked_run
    r = json.loads((run_dir / "results.json").read_text())
    det = r["integrity"]["determinism"]
    assert det["identical"] and det["results_digest"] == det["recomputed_digest"] and not det["differing_blocks"]
    from valkit.audit.determinism import analysis_digest

    assert analysis_digest(r) == det["results_digest"]  # the digest is of the blocks as results.json holds them
    assert {"kind": "determinism", "verdict": "PASS"}.items() <= next(
        c for c in r["acceptance"]["criteria"] if c["kind"] == "determinism").items()


def test_accountability_covers_every_manifest_row(locked_run):
    _, _, run_dir = locked_run
    r = json.loads((run_dir / "results.json").read_text())
    (a,) = r["data"]["accountability"]
    assert a["rows"] == 500 == a["analysed"] + a["excluded"] + a["failed"]
    assert a["failed"] == 3 and a["reasons"] == [{"status": "failed", "reason": "no score in external predictions",
                                                  "n": 3}]
    assert any(d["what"] == "Cases not analysed (failed)" for d in r["deviations"])


def test_signatures_are_invalidated_by_a_changed_results_json(locked_run, tmp_path, capsys):
    _, runs0, _ = locked_run
    runs = tmp_path / "runs"
    shutil.copytree(runs0, runs)
    run_dir = runs / "fake"
    assert main(["sign", str(run_dir), "--name", "Ada Lovelace", "--role", "Lead statistician",
                 "--meaning", "statistician"]) == 0
    assert main(["sign", str(run_dir), "--name", "X", "--role", "Y", "--meaning", "statistican"]) == 2
    assert "Did you mean 'statistician'?" in capsys.readouterr().err
    assert verify(runs).ok
    assert main(["report", str(run_dir), "--format", "html"]) == 0
    html = (run_dir / "report.html").read_text()
    assert "Ada Lovelace, Lead statistician" in html and "valid for this results file" in html
    assert "Wet-ink signatures (for CDSCO notarisation)" in html
    results = run_dir / "results.json"
    results.write_text(results.read_text().replace('"verdict": "FAIL"', '"verdict": "PASS"'))
    problems = verify(runs).problems
    assert any("fake/results.json: changed since the run wrote it" in p for p in problems), problems
    assert any("signature of Ada Lovelace (statistician" in p and "INVALID" in p for p in problems), problems
    assert main(["report", str(run_dir), "--format", "html"]) == 0
    assert "NOT VALID" in (run_dir / "report.html").read_text()
    capsys.readouterr()
    assert main(["sign", str(run_dir), "--name", "B", "--role", "QA lead", "--meaning", "QA"]) == 2
    assert "changed since the run wrote it" in capsys.readouterr().err


def test_a_log_replaced_below_a_runs_anchor_is_detected(locked_run, tmp_path):
    _, runs0, _ = locked_run
    runs = tmp_path / "runs"
    shutil.copytree(runs0, runs)
    entries = log.read_entries(runs)[:1]  # an older log (only the lock) with a matching head file
    log.log_path(runs).write_bytes(b"".join(log.canonical(e) + b"\n" for e in entries))
    log.head_path(runs).write_bytes(log.canonical(log.head_of(entries)))
    problems = verify(runs).problems
    assert any("fake: its results.json was written after audit entry seq" in p for p in problems), problems


def test_a_protocol_revised_after_unsealing_is_logged_and_listed_as_a_deviation(locked_run, tmp_path, capsys):
    protocol0, runs0, _ = locked_run
    runs = tmp_path / "runs"
    shutil.copytree(runs0, runs)
    shutil.copytree(protocol0.parent, tmp_path / "study")
    protocol = tmp_path / "study" / "fake.yaml"
    protocol.write_text(protocol.read_text().replace("  goal: 0.7\n", "  goal: 0.6\n", 1))
    assert _run(protocol, runs) == 2  # the revision is not locked yet
    assert main(["lock", str(protocol), "--runs-dir", str(runs)]) == 0
    assert "revision after unsealing" in capsys.readouterr().out
    _run(protocol, runs)
    r = json.loads((runs / "fake" / "results.json").read_text())
    t = r["traceability"]
    assert t["status"] == "revised after unsealing"
    assert t["original_lock"]["seq"] < t["first_unseal"]["seq"] < t["lock"]["seq"]
    (rev,) = t["revisions"]
    assert rev["changes"] == ["protocol (endpoints[0].goal)"]
    whats = [d["what"] for d in r["deviations"]]
    assert "Protocol revised after the test labels were read" in whats and "Re-run on the same test data" in whats
    assert t["reuse"][0]["runs"] == 2
    assert "protocol_revision" in _kinds(runs)
    assert verify(runs).ok, verify(runs).problems
