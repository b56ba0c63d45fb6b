"""Electronic signature manifestations (21 CFR 11.50): name, role, meaning and UTC time, bound to
the sha256 of the results.json signed.

``valkit sign RUN_DIR`` appends a ``signature`` entry to the audit log (the tamper-evident
record) and mirrors it in ``RUN_DIR/signatures.json``, which the report's document-control page
prints. A signature binds one results.json digest: once results.json changes, the report shows
the signature as not valid for this results file and ``valkit audit verify`` reports it.
"""
from __future__ import annotations

import json
from pathlib import Path

from valkit.atomic_file import write_atomic
from valkit.audit import log
from valkit.digests import file_sha256
from valkit.errors import InputError, IntegrityError
from valkit.suggest import did_you_mean

SIDECAR = "signatures.json"
#: the meaning of each signature (what the signer attests), in the order the report lists them
MEANINGS = {
    "author": "Author: prepared this report and attests it was generated from this results file",
    "statistician": "Statistician: reviewed and approves the statistical analysis",
    "clinical": "Clinical reviewer: reviewed and approves the clinical interpretation",
    "QA": "Quality assurance: the run followed the quality system and this record is complete",
    "RA": "Regulatory affairs: approves this report for submission",
}


def last_run_end(entries: list[dict], run_name: str) -> dict | None:
    ends = [e for e in entries if e.get("kind") == "run_end" and e.get("details", {}).get("run_dir") == run_name]
    return ends[-1] if ends else None


def read_signatures(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / SIDECAR
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path}: not valid JSON. It is written by `valkit sign`; restore it from the audit "
                         "log's signature entries or a backup.") from None
    return list(data.get("signatures", [])) if isinstance(data, dict) else []


def sign(run_dir: str | Path, *, name: str, role: str, meaning: str, runs_root: str | Path | None = None) -> dict:
    """Record a signature of ``run_dir/results.json``; returns the audit entry."""
    run_dir = Path(run_dir)
    runs_root = Path(runs_root) if runs_root is not None else run_dir.parent
    if meaning not in MEANINGS:
        raise InputError(f"--meaning: unknown meaning {meaning!r}.{did_you_mean(meaning, MEANINGS)} "
                         f"Valid: {', '.join(MEANINGS)}.")
    if not name.strip() or not role.strip():
        raise InputError("--name and --role must not be empty: a signature names the person and their role.")
    from valkit.results import load_results

    load_results(run_dir)  # a valid results.json, or an error naming what is wrong
    digest = file_sha256(run_dir / "results.json")
    end = last_run_end(log.read_entries(runs_root), run_dir.name)
    if end is None:
        raise InputError(f"{run_dir}: the audit log {log.log_path(runs_root)} records no run of this folder, so "
                         "what is signed cannot be tied to a run. Fix: sign a run folder inside the runs folder "
                         "whose log recorded it (--runs-dir), or re-run the protocol.")
    if end["details"].get("results_sha256") != digest:
        raise IntegrityError(
            f"{run_dir / 'results.json'}: changed since the run wrote it (the audit log, seq {end['seq']}, records "
            f"sha256 {end['details'].get('results_sha256')}; the file now has {digest}). A changed results file "
            "cannot be signed. Fix: re-run the protocol, or restore the results.json the run wrote.")
    entry = log.append(runs_root, "signature", {"run_dir": run_dir.name, "results_sha256": digest,
                                                "name": name.strip(), "role": role.strip(), "meaning": meaning})
    sigs = read_signatures(run_dir) + [{
        "name": name.strip(), "role": role.strip(), "meaning": meaning, "utc": entry["utc"],
        "results_sha256": digest, "audit_seq": entry["seq"], "audit_sha256": entry["sha256"]}]
    write_atomic(run_dir / SIDECAR, (json.dumps({"signatures": sigs}, indent=2) + "\n").encode())
    return entry


def signature_rows(signatures: list[dict], results_sha256: str) -> list[dict]:
    """The report's rows: each signature with whether it binds the results.json being rendered.

    >>> signature_rows([{"name": "A", "role": "r", "meaning": "QA", "utc": "t", "results_sha256": "x",
    ...                  "audit_seq": 3}], "y")[0]["valid"]
    False
    """
    order = list(MEANINGS)
    rows = [{"name": s.get("name", ""), "role": s.get("role", ""), "meaning": s.get("meaning", ""),
             "meaning_text": MEANINGS.get(s.get("meaning", ""), s.get("meaning", "")), "utc": s.get("utc", ""),
             "audit_seq": s.get("audit_seq"), "results_sha256": s.get("results_sha256", ""),
             "valid": s.get("results_sha256") == results_sha256} for s in signatures]
    return sorted(rows, key=lambda r: (order.index(r["meaning"]) if r["meaning"] in order else len(order),
                                       r["utc"]))


__all__ = ["MEANINGS", "SIDECAR", "last_run_end", "read_signatures", "sign", "signature_rows"]
