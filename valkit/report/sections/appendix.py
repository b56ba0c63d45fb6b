"""Appendices: provenance (digests, versions, hardware, times), tool validation and the per-case listing pointer.

These sections read the typed results (:class:`~valkit.results_schema.Results`, as every section of
:data:`valkit.report.context.SECTIONS`). :func:`identifiers_sentence` is shared with the failure analysis.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from valkit.report.formatting import count, file_name

if TYPE_CHECKING:
    from valkit.results_schema import Results
    from valkit.results_schema.run_info import IdentifierKinds

HARDWARE_LABELS = {"os": "Operating system", "python": "Python", "cpu": "CPU", "cpu_count": "Logical CPU cores",
                   "device": "Inference device", "gpu": "GPU", "cuda": "CUDA", "driver": "GPU driver"}


def provenance(results: Results, doc: dict) -> dict:
    prov = results.provenance
    valkit = prov.valkit
    digests = [
        ("results.json (this report's input)", doc["results_sha256"]),
        ("Protocol", prov.protocol_sha256),
        (doc["weights_label"], prov.model_weights_sha256),
        ("Predictions (predictions.parquet)", prov.predictions_sha256),
    ]
    # the protocol's own report templates (report.templates), each replacing valkit's file of that name
    overrides = prov.report_templates
    if overrides is not None:
        digests += [(f"Report template {name} (from {overrides.folder}, replaces valkit's)", sha)
                    for name, sha in overrides.files.items()]
    manifests = [{"path": file_name(m.path), "sha256": m.sha256, "rows": count(m.rows), "notes": list(m.notes)}
                 for m in prov.manifests]
    packages = sorted((k, v or "not installed") for k, v in prov.packages.items())
    half = (len(packages) + 1) // 2
    hardware = prov.hardware.model_dump()  # every field a label of HARDWARE_LABELS, in the schema's order
    return {
        "digests": [{"what": w, "sha256": s or "not recorded"} for w, s in digests],
        "manifests": manifests,
        "valkit": {
            "version": valkit.version,
            "commit": valkit.commit or "not recorded (not a git checkout)",
            "dirty": valkit.dirty,
        },
        "packages": [(packages[i], packages[i + half] if i + half < len(packages) else None) for i in range(half)],
        "hardware": [(HARDWARE_LABELS[k], v) for k, v in hardware.items() if v not in (None, "")],
        "seed": prov.seed,
        "started": prov.started_utc,
        "finished": prov.finished_utc,
        "seconds": prov.seconds,
    }


def identifiers_sentence(results: Results) -> str:
    """What the case and patient ids in the outputs are, as recorded in ``per_case_listing.identifiers``.

    Only ids that ``valkit manifest build`` made with a pseudonym key are called pseudonymous;
    ids supplied with the data (or by a run that did not record how they were made) are said
    to be the user's own (:func:`identifiers_text`).
    """
    return identifiers_text(results.per_case_listing.identifiers)


def identifiers_text(ids: IdentifierKinds | None) -> str:
    """The sentence for ``per_case_listing.identifiers`` (None: a run that did not record how its ids were made).

    >>> from valkit.results_schema.run_info import IdentifierKinds
    >>> identifiers_text(IdentifierKinds(case_ids="keyed_pseudonym", patient_ids="keyed_pseudonym",
    ...                                   pseudonym_keys=["0f1e2d3c"]))[:60]
    'Case and patient ids are pseudonyms: keyed hashes (HMAC-SHA2'
    >>> identifiers_text(None)[:50]
    'Case and patient ids are those supplied with the d'
    """
    if ids is None:
        return _SUPPLIED
    if "unkeyed_pseudonym" in (ids.case_ids, ids.patient_ids):
        return ("Ids were made by an older valkit with an unkeyed hash, which can be reversed by trying every "
                "possible identifier: rebuild the manifest with `valkit manifest build` (keyed pseudonyms) before "
                "sharing this report or cases.csv.")
    keys = ", ".join(ids.pseudonym_keys) or "not recorded"
    made = "HMAC-SHA256 with the project's pseudonym key, fingerprint " + keys
    cases, patients = ids.case_ids == "keyed_pseudonym", ids.patient_ids == "keyed_pseudonym"
    if cases and patients:
        return (f"Case and patient ids are pseudonyms: keyed hashes ({made}) of the DICOM SOP Instance UID and "
                "Patient ID, made when the manifest was built; without the key they cannot be traced back, and "
                "no patient identifier or file path appears.")
    if cases or patients:
        which, other = ("Case", "patient") if cases else ("Patient", "case")
        return (f"{which} ids are pseudonyms ({made}); {other} ids are those supplied with the data "
                "(manifest or labels file), copied unchanged: valkit did not pseudonymise them. Check they hold "
                "no patient identifier before sharing.")
    return _SUPPLIED


_SUPPLIED = ("Case and patient ids are those supplied with the data (manifest, labels or scores file), copied "
             "unchanged: valkit did not pseudonymise them. Check they hold no patient identifier before sharing.")


def per_case_listing(results: Results, doc: dict) -> dict:
    listing = results.per_case_listing
    names = list(listing.columns)  # the columns cases.csv was written with
    columns = Markup(", ").join(Markup("<code>{}</code>").format(c) for c in names)
    return {"n": count(results.data.flow.in_manifest), "columns": names, "columns_html": columns,
            "identifiers": identifiers_sentence(results)}


def tool_validation(results: Results, doc: dict) -> dict:
    """The run-time self-check: each published value, what valkit obtained here, and the rule."""
    tv = results.tool_validation
    rows = []
    for c in tv.checks:
        rows.append({"quantity": c.quantity, "source": c.source, "expected": f"{c.expected:.10g}",
                     "obtained": "—" if c.obtained is None else f"{c.obtained:.10g}",
                     "rule": c.rule, "passed": c.passed, "error": "" if c.error is None else c.error})
    return {"verdict": tv.verdict, "statement": tv.statement, "seconds": tv.seconds,
            "rows": rows, "verdict_class": "pass" if tv.verdict == "PASS" else "fail"}
