"""The run registry: one SQLite file under the runs folder (``runs/registry.sqlite``) listing every run.

Each finished ``valkit run`` adds a row (a rerun of the same protocol adds another: the
registry keeps the history a run folder overwrites): when, which run folder, the digests
that identify what was tested (model weights or scores file, protocol, data = the manifests,
predictions), the verdict, and the key estimates (primary sensitivity, specificity, AUC and
every endpoint) with their intervals. Read it with ``valkit runs list`` and ``valkit runs
compare A B`` (:mod:`valkit.run_comparison`), or with any SQLite client.

Python's standard ``sqlite3``; no server. Writers from parallel runs wait for each other
(``timeout``). The schema version is kept in ``PRAGMA user_version``.
"""
from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from valkit.errors import InputError

FILE_NAME = "registry.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_dir TEXT NOT NULL,
    protocol_id TEXT NOT NULL,
    protocol_version TEXT,
    protocol_sha256 TEXT NOT NULL,
    model_name TEXT,
    model_version TEXT,
    model_sha256 TEXT,
    data_sha256 TEXT NOT NULL,
    predictions_sha256 TEXT,
    threshold REAL,
    n_analysed INTEGER,
    verdict TEXT NOT NULL,
    baseline_label TEXT,
    baseline_verdict TEXT,
    finished_utc TEXT,
    valkit_version TEXT
);
CREATE TABLE IF NOT EXISTS estimates (
    run INTEGER NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    value REAL,
    low REAL,
    high REAL,
    method TEXT,
    PRIMARY KEY (run, name)
);
"""


@dataclass(frozen=True)
class RegisteredRun:
    """One row of the registry with its estimates (name -> (value, low, high, method))."""

    id: int
    run_dir: str
    protocol_id: str
    protocol_version: str | None
    protocol_sha256: str
    model_name: str | None
    model_version: str | None
    model_sha256: str | None
    data_sha256: str
    predictions_sha256: str | None
    threshold: float | None
    n_analysed: int | None
    verdict: str
    baseline_label: str | None
    baseline_verdict: str | None
    finished_utc: str | None
    valkit_version: str | None
    estimates: dict


def registry_path(runs_root: str | Path) -> Path:
    return Path(runs_root) / FILE_NAME


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=60)
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, SCHEMA_VERSION):
        con.close()
        raise InputError(f"{path}: registry schema version {version}, this valkit reads {SCHEMA_VERSION}. "
                         "Use the valkit that wrote it, or move the file aside to start a new registry.")
    con.executescript(_SCHEMA)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return con


def data_digest(manifests: list[dict]) -> str:
    """One digest for the data of a run: sha256 over the manifests' digests, in protocol order.

    >>> data_digest([{"sha256": "ab"}, {"sha256": "cd"}]) == data_digest([{"sha256": "ab"}, {"sha256": "cd"}])
    True
    """
    return hashlib.sha256("\n".join(str(m.get("sha256")) for m in manifests).encode()).hexdigest()


def key_estimates(results: dict) -> dict[str, dict]:
    """The estimates the registry keeps: primary sensitivity, specificity, AUC, and every endpoint."""
    out = {}
    primary = results.get("primary") or {}
    for name in ("sensitivity", "specificity", "auc"):
        if isinstance(primary.get(name), dict):
            out[name] = primary[name]
    for e in results.get("endpoints") or []:
        if isinstance(e.get("estimate"), dict):
            out[f"endpoint:{e['id']}"] = e["estimate"]
    return out


def record_run(runs_root: str | Path, run_dir: str | Path, results: dict) -> int:
    """Add a finished run to ``runs_root/registry.sqlite``; returns its registry id."""
    from valkit.results import as_written

    r = as_written(results)
    prov, model, proto = r.get("provenance") or {}, r.get("model") or {}, r.get("protocol") or {}
    base = r.get("baseline") or {}
    row = (str(Path(run_dir)), proto.get("id"), proto.get("version"), proto.get("sha256"), model.get("name"),
           model.get("version"), model.get("weights_sha256"), data_digest(prov.get("manifests") or []),
           prov.get("predictions_sha256"), (r.get("operating_point") or {}).get("threshold"),
           ((r.get("data") or {}).get("flow") or {}).get("analysed"), r.get("verdict"),
           (base.get("version") or {}).get("label"), (base.get("non_inferiority") or {}).get("verdict"),
           prov.get("finished_utc"), (prov.get("valkit") or {}).get("version"))
    Path(runs_root).mkdir(parents=True, exist_ok=True)
    with closing(_connect(registry_path(runs_root))) as con, con:
        cur = con.execute(
            "INSERT INTO runs (run_dir, protocol_id, protocol_version, protocol_sha256, model_name, model_version, "
            "model_sha256, data_sha256, predictions_sha256, threshold, n_analysed, verdict, baseline_label, "
            "baseline_verdict, finished_utc, valkit_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row)
        run_id = int(cur.lastrowid)
        for name, est in key_estimates(r).items():
            iv = est.get("interval") or {}
            con.execute("INSERT INTO estimates VALUES (?, ?, ?, ?, ?, ?)",
                        (run_id, name, est.get("value"), iv.get("low"), iv.get("high"), iv.get("method") or est.get("method")))
    return run_id


def list_runs(runs_root: str | Path) -> list[RegisteredRun]:
    """Every registered run, oldest first."""
    path = registry_path(runs_root)
    if not path.is_file():
        raise InputError(f"{path}: no run registry here. Runs are registered by `valkit run` "
                         f"(use --runs-dir if they were written elsewhere).")
    with closing(_connect(path)) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT * FROM runs ORDER BY id").fetchall()
        est: dict[int, dict] = {}
        for e in con.execute("SELECT * FROM estimates").fetchall():
            est.setdefault(e["run"], {})[e["name"]] = {"value": e["value"], "low": e["low"], "high": e["high"],
                                                       "method": e["method"]}
    return [RegisteredRun(**{k: row[k] for k in row.keys()}, estimates=est.get(row["id"], {})) for row in rows]


def find_run(runs_root: str | Path, ref: str) -> RegisteredRun:
    """A run by registry id (``7`` or ``#7``), or the latest run of a folder or protocol id."""
    runs = list_runs(runs_root)
    key = ref.lstrip("#")
    if key.isdigit():
        hit = [r for r in runs if r.id == int(key)]
    else:
        want = str(Path(ref))
        hit = [r for r in runs if r.run_dir == want or Path(r.run_dir).name == ref or r.protocol_id == ref][-1:]
    if not hit:
        known = ", ".join(sorted({Path(r.run_dir).name for r in runs})) or "none"
        raise InputError(f"{registry_path(runs_root)}: no run '{ref}'. Give a registry id (see `valkit runs list`) "
                         f"or a run folder name; registered folders: {known}.")
    return hit[0]


__all__ = ["FILE_NAME", "RegisteredRun", "data_digest", "find_run", "key_estimates", "list_runs", "record_run",
           "registry_path"]
