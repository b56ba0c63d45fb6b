"""Issue #14 item 2: the audit log is hash-chained; every kind of tampering is detected."""
from __future__ import annotations

import json
import shutil

import pytest

from valkit.audit import log
from valkit.audit.verify import verify
from valkit.errors import IntegrityError


@pytest.fixture()
def runs(tmp_path):
    root = tmp_path / "runs"
    for i in range(5):
        log.append(root, "lock" if i == 0 else "render", {"protocol_id": "p", "i": i})
    return root


def _lines(root):
    return log.log_path(root).read_text().splitlines()


def _write(root, lines):
    log.log_path(root).write_text("\n".join(lines) + "\n")


def test_an_untouched_log_verifies(runs):
    v = verify(runs)
    assert v.ok, v.problems
    assert v.entries == 5 and v.head["seq"] == 5
    entries = log.read_entries(runs)
    assert entries[0]["prev_sha256"] == log.GENESIS
    assert all(b["prev_sha256"] == a["sha256"] for a, b in zip(entries, entries[1:]))


def test_an_edited_entry_is_detected(runs):
    lines = _lines(runs)
    e = json.loads(lines[2])
    e["details"]["i"] = 99  # the content changes, its recorded digest does not
    lines[2] = json.dumps(e)
    _write(runs, lines)
    v = verify(runs)
    assert any("line 3 (seq 3): its content does not match its sha256" in p for p in v.problems), v.problems


def test_an_edited_entry_with_a_recomputed_digest_breaks_the_next_link(runs):
    lines = _lines(runs)
    e = json.loads(lines[1])
    e["details"]["i"] = 99
    e["sha256"] = log.entry_sha256(e)  # a forger who recomputes this entry's digest
    lines[1] = log.canonical(e).decode()
    _write(runs, lines)
    v = verify(runs)
    assert any("line 3 (seq 3): prev_sha256 is not the previous entry's sha256" in p for p in v.problems), v.problems


def test_a_deleted_entry_is_detected(runs):
    lines = _lines(runs)
    del lines[1]
    _write(runs, lines)
    problems = verify(runs).problems
    assert any("seq 3 where 2 was expected" in p for p in problems), problems
    assert any("prev_sha256 is not the previous entry's sha256" in p for p in problems), problems


def test_reordered_entries_are_detected(runs):
    lines = _lines(runs)
    lines[1], lines[2] = lines[2], lines[1]
    _write(runs, lines)
    problems = verify(runs).problems
    assert any("seq 3 where 2 was expected" in p for p in problems), problems


def test_a_truncated_log_is_detected_by_its_head(runs):
    _write(runs, _lines(runs)[:3])  # the chain of the first 3 entries is intact
    assert not log.chain_problems(log.read_entries(runs))
    problems = verify(runs).problems
    assert any("the log ends at seq 3 but audit.head.json records seq 5" in p for p in problems), problems


def test_a_replayed_older_log_is_detected(runs, tmp_path):
    old = tmp_path / "old.jsonl"
    shutil.copy(log.log_path(runs), old)  # a backup taken at seq 5
    log.append(runs, "render", {"i": 5})
    log.append(runs, "signature", {"i": 6})
    shutil.copy(old, log.log_path(runs))  # the older copy put back
    problems = verify(runs).problems
    assert any("records seq 7" in p and "older copy" in p for p in problems), problems


def test_a_line_cut_in_half_is_detected(runs):
    lines = _lines(runs)
    lines[4] = lines[4][:40]
    _write(runs, lines)
    assert any("line 5: not a JSON object" in p for p in verify(runs).problems)


def test_valkit_refuses_to_extend_a_changed_log(runs):
    _write(runs, _lines(runs)[:4])
    with pytest.raises(IntegrityError, match="the audit log was changed.*valkit audit verify"):
        log.append(runs, "render", {})


def test_a_missing_head_file_is_reported(runs):
    log.head_path(runs).unlink()
    assert any("audit.head.json is missing" in p for p in verify(runs).problems)


def test_cli_verify_exit_codes(runs, capsys):
    from valkit.cli import main

    assert main(["audit", "verify", "--runs-dir", str(runs)]) == 0
    assert "verified: no problem found" in capsys.readouterr().out
    _write(runs, _lines(runs)[:2])
    assert main(["audit", "verify", "--runs-dir", str(runs)]) == 1
    out = capsys.readouterr().out
    assert "NOT VERIFIED" in out and "PROBLEM" in out
