"""Appendices: provenance (digests, versions, hardware, times) and the per-case listing pointer."""
from __future__ import annotations

from markupsafe import Markup

from valkit.report.formatting import count, file_name
from valkit.results import CASE_COLUMNS

HARDWARE_LABELS = {"os": "Operating system", "python": "Python", "cpu": "CPU", "cpu_count": "Logical CPU cores",
                   "device": "Inference device", "gpu": "GPU", "cuda": "CUDA", "driver": "GPU driver"}


def provenance(results: dict, doc: dict) -> dict:
    prov = results.get("provenance") or {}
    valkit = prov.get("valkit") or {}
    hw = prov.get("hardware") or {}
    digests = [
        ("results.json (this report's input)", doc["results_sha256"]),
        ("Protocol", prov.get("protocol_sha256")),
        (doc["weights_label"], prov.get("model_weights_sha256")),
        ("Predictions (predictions.parquet)", prov.get("predictions_sha256")),
    ]
    # the protocol's own report templates (report.templates), each replacing valkit's file of that name
    overrides = prov.get("report_templates") or {}
    digests += [(f"Report template {name} (from {overrides.get('folder', '')}, replaces valkit's)", sha)
                for name, sha in (overrides.get("files") or {}).items()]
    manifests = [{"path": file_name(m.get("path")), "sha256": m.get("sha256", ""), "rows": count(m.get("rows")),
                  "notes": list(m.get("notes") or [])} for m in prov.get("manifests") or []]
    packages = sorted((k, v or "not installed") for k, v in (prov.get("packages") or {}).items())
    half = (len(packages) + 1) // 2
    return {
        "digests": [{"what": w, "sha256": s or "not recorded"} for w, s in digests],
        "manifests": manifests,
        "valkit": {
            "version": valkit.get("version") or "",
            "commit": valkit.get("commit") or "not recorded (not a git checkout)",
            "dirty": valkit.get("dirty"),
        },
        "packages": [(packages[i], packages[i + half] if i + half < len(packages) else None) for i in range(half)],
        "hardware": [(HARDWARE_LABELS.get(k, k), v) for k, v in hw.items() if v not in (None, "")],
        "seed": prov.get("seed"),
        "started": prov.get("started_utc") or "",
        "finished": prov.get("finished_utc") or "",
        "seconds": prov.get("seconds"),
    }


def identifiers_sentence(results: dict) -> str:
    """What the case and patient ids in the outputs are, as recorded in ``per_case_listing.identifiers``.

    Only ids that ``valkit manifest build`` made with a pseudonym key are called pseudonymous;
    ids supplied with the data (or by a run that did not record how they were made) are said
    to be the user's own.

    >>> identifiers_sentence({"per_case_listing": {"identifiers": {"case_ids": "keyed_pseudonym",
    ...     "patient_ids": "keyed_pseudonym", "pseudonym_keys": ["0f1e2d3c"]}}})[:60]
    'Case and patient ids are pseudonyms: keyed hashes (HMAC-SHA2'
    >>> identifiers_sentence({})[:50]
    'Case and patient ids are those supplied with the d'
    """
    ids = (results.get("per_case_listing") or {}).get("identifiers") or {}
    if "unkeyed_pseudonym" in (ids.get("case_ids"), ids.get("patient_ids")):
        return ("Ids were made by an older valkit with an unkeyed hash, which can be reversed by trying every "
                "possible identifier: rebuild the manifest with `valkit manifest build` (keyed pseudonyms) before "
                "sharing this report or cases.csv.")
    keys = ", ".join(ids.get("pseudonym_keys") or []) or "not recorded"
    made = "HMAC-SHA256 with the project's pseudonym key, fingerprint " + keys
    cases, patients = ids.get("case_ids") == "keyed_pseudonym", ids.get("patient_ids") == "keyed_pseudonym"
    if cases and patients:
        return (f"Case and patient ids are pseudonyms: keyed hashes ({made}) of the DICOM SOP Instance UID and "
                "Patient ID, made when the manifest was built; without the key they cannot be traced back, and "
                "no patient identifier or file path appears.")
    if cases or patients:
        which, other = ("Case", "patient") if cases else ("Patient", "case")
        return (f"{which} ids are pseudonyms ({made}); {other} ids are those supplied with the data "
                "(manifest or labels file), copied unchanged: valkit did not pseudonymise them. Check they hold "
                "no patient identifier before sharing.")
    return ("Case and patient ids are those supplied with the data (manifest, labels or scores file), copied "
            "unchanged: valkit did not pseudonymise them. Check they hold no patient identifier before sharing.")


def per_case_listing(results: dict, doc: dict) -> dict:
    flow = (results.get("data") or {}).get("flow") or {}
    # results.json records the columns written; older results did not (the fixed list then)
    names = list((results.get("per_case_listing") or {}).get("columns") or CASE_COLUMNS)
    columns = Markup(", ").join(Markup("<code>{}</code>").format(c) for c in names)
    return {"n": count(flow.get("in_manifest")), "columns": names, "columns_html": columns,
            "identifiers": identifiers_sentence(results)}


def tool_validation(results: dict, doc: dict) -> dict | None:
    """The run-time self-check: each published value, what valkit obtained here, and the rule."""
    tv = results.get("tool_validation")
    if not tv:
        return None
    rows = []
    for c in tv.get("checks") or []:
        got = c.get("obtained")
        rows.append({"quantity": c.get("quantity", ""), "source": c.get("source", ""),
                     "expected": f"{c.get('expected'):.10g}", "obtained": "—" if got is None else f"{got:.10g}",
                     "rule": c.get("rule", ""), "passed": bool(c.get("passed")), "error": c.get("error", "")})
    return {"verdict": tv.get("verdict"), "statement": tv.get("statement", ""), "seconds": tv.get("seconds"),
            "rows": rows, "verdict_class": "pass" if tv.get("verdict") == "PASS" else "fail"}

