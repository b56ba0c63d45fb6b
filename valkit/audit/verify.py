"""``valkit audit verify``: everything the audit log and the run folders can prove about each other.

Checks, each problem named with where it is and what it means:

- the chain: every entry's digest, ``seq`` order and ``prev_sha256`` link (edited, deleted,
  inserted or reordered entries);
- the end: the last entry against ``audit.head.json`` (entries cut from the end, an older copy
  of the log put back);
- each run folder: the audit head its results.json recorded must be in the log (a log
  truncated or replaced below a run's anchor), and results.json must still have the digest its
  ``run_end`` entry recorded;
- each signature: valid only while the results.json it signed is unchanged, and present in the
  log (a signature in ``signatures.json`` that the log lacks was not made by ``valkit sign``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from valkit.audit import log
from valkit.audit.signatures import SIDECAR, last_run_end, read_signatures
from valkit.digests import file_sha256


@dataclass
class Verification:
    entries: int = 0
    head: dict | None = None
    runs: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)  # one line per signature, with its status
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _run_dirs(runs_root: Path) -> list[Path]:
    return sorted(d for d in runs_root.iterdir() if d.is_dir() and (d / "results.json").is_file())


def verify(runs_root: str | Path) -> Verification:
    runs_root = Path(runs_root)
    out = Verification()
    entries = log.read_entries(runs_root)
    out.entries = len(entries)
    if not entries and not log.head_path(runs_root).is_file():
        out.problems.append(f"{log.log_path(runs_root)}: no audit log here (nothing was locked or run with this "
                            "runs folder, or the log was deleted)")
        return out
    where = log.LOG_NAME
    found = log.chain_problems(entries) + log.head_problems(entries, log.read_head(runs_root))
    out.problems += [f"{where}: {p}" for p in found]
    readable = [e for e in entries if "_unreadable" not in e]
    out.head = log.head_of(readable)
    by_seq = {e.get("seq"): e for e in readable}
    current: dict[str, str] = {}
    for run_dir in _run_dirs(runs_root):
        name = run_dir.name
        current[name] = digest = file_sha256(run_dir / "results.json")
        try:
            anchor = (json.loads((run_dir / "results.json").read_text()).get("traceability") or {}).get("audit_head")
        except ValueError:
            anchor = None
            out.problems.append(f"{name}/results.json: not valid JSON")
        if anchor:
            e = by_seq.get(anchor.get("seq"))
            if e is None:
                out.problems.append(f"{name}: its results.json was written after audit entry seq {anchor.get('seq')}, "
                                    "which the log does not contain (the log was cut short or an older copy put back)")
            elif e.get("sha256") != anchor.get("sha256"):
                out.problems.append(f"{name}: audit entry seq {anchor.get('seq')} is not the one its results.json "
                                    "recorded (the log was rewritten)")
        end = last_run_end(readable, name)
        if end is None:
            if anchor:
                out.problems.append(f"{name}: the log has no run_end entry for this run folder")
            out.runs.append(f"{name}: not recorded in the audit log (written without one, or by an older valkit)")
            continue
        if end["details"].get("results_sha256") != digest:
            out.problems.append(f"{name}/results.json: changed since the run wrote it (log seq {end['seq']}: "
                                f"{str(end['details'].get('results_sha256'))[:12]}…, now {digest[:12]}…)")
        out.runs.append(f"{name}: run_end seq {end['seq']}, verdict {end['details'].get('verdict')}, results.json "
                        + ("unchanged" if end["details"].get("results_sha256") == digest else "CHANGED"))
        logged = {(e["seq"], e["sha256"]) for e in readable if e.get("kind") == "signature"}
        for s in read_signatures(run_dir):
            if (s.get("audit_seq"), s.get("audit_sha256")) not in logged:
                out.problems.append(f"{name}/{SIDECAR}: signature of {s.get('name')} ({s.get('meaning')}) is not in "
                                    "the audit log (added or altered outside `valkit sign`)")
    for e in readable:
        if e.get("kind") != "signature":
            continue
        d = e["details"]
        who = f"{d.get('name')} ({d.get('meaning')}, {d.get('role')}) on {d.get('run_dir')}, seq {e['seq']}"
        now = current.get(d.get("run_dir"))
        if now is None:
            out.problems.append(f"signature of {who}: the signed run folder has no results.json any more")
            out.signatures.append(f"{who}: INVALID (results.json missing)")
        elif now != d.get("results_sha256"):
            out.problems.append(f"signature of {who}: INVALID, results.json changed since it was signed")
            out.signatures.append(f"{who}: INVALID (results.json changed since signing)")
        else:
            out.signatures.append(f"{who}: valid")
    return out


__all__ = ["Verification", "verify"]
