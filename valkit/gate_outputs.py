"""The gate's outputs for people and CI tools: console lines, a markdown table, JUnit XML, JSON.

Everything here is rendered from results.json alone (its ``acceptance`` block, with the estimate,
interval and goal each criterion was judged on, :mod:`valkit.gate`); nothing is recomputed, so an
archived run gives the same outputs again.

JUnit (``valkit run --junit FILE``): one ``<testsuite>`` in a ``<testsuites>`` root, one
``<testcase>`` per acceptance criterion, ``classname`` ``valkit.<protocol id>.<kind>``. Read by
Jenkins (junit plugin), GitLab (``artifacts:reports:junit``) and GitHub test-report actions; the
format is checked against the JUnit XSD those tools follow (tests/data/junit).

- a gating criterion that FAILED: ``<failure type="FAIL">``;
- a gating criterion not shown to pass (INSUFFICIENT EVIDENCE, NOT ESTIMABLE): also a
  ``<failure>``, ``type="INSUFFICIENT EVIDENCE"``: the claim is not supported, and a CI owner wants a
  red build then (the exit code, 4, still tells the two apart);
- a criterion that does not gate (secondary endpoint, exploratory fairness criterion) and did not
  pass: ``<skipped>``, with its verdict in the message: shown, never red;
- the estimate, CI and goal are in every message; the judging rule is the testcase's ``system-out``.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from valkit.gate import EXIT_CODE, NOT_SHOWN, gate_outcome

SCHEMA = 1


def gate_summary(results: dict) -> dict[str, Any]:
    """The gate of one run as a JSON-ready dict (what ``valkit run --json`` prints)."""
    acc = results["acceptance"]
    outcome = gate_outcome(acc)
    proto, model = results.get("protocol") or {}, results.get("model") or {}
    criteria = [{k: c.get(k) for k in ("criterion", "kind", "gates", "verdict", "estimate", "ci_low", "ci_high",
                                       "confidence_level", "goal", "unit", "rule", "metric", "column")}
                for c in acc["criteria"]]
    gating = [c for c in criteria if c["gates"]]
    return {
        "schema": SCHEMA,
        "protocol": {"id": proto.get("id"), "version": proto.get("version"), "sha256": proto.get("sha256")},
        "model": {"name": model.get("name"), "version": model.get("version")},
        "verdict": acc["verdict"],
        "outcome": outcome,
        "exit_code": EXIT_CODE[outcome],
        "counts": {
            "gating": len(gating),
            "passed": sum(c["verdict"] == "PASS" for c in gating),
            "failed": sum(c["verdict"] != "PASS" and c["verdict"] not in NOT_SHOWN for c in gating),
            "not_shown": sum(c["verdict"] in NOT_SHOWN for c in gating),
            "not_gating": len(criteria) - len(gating),
        },
        "criteria": criteria,
    }


def _num(x: float | None, unit: str | None) -> str:
    if x is None:
        return "—"
    return f"{x:.1f} ms" if unit == "ms" else f"{x:.3f}"


def _ci_range(c: dict) -> str | None:
    if c["ci_low"] is None or c["ci_high"] is None:
        return None
    return f"{_num(c['ci_low'], c['unit'])} to {_num(c['ci_high'], c['unit'])}"


def _ci(c: dict) -> str:
    """'0.689 to 0.852', with the level when it is not 95% (a Bonferroni-adjusted fairness pair)."""
    level = c.get("confidence_level")
    tail = f" ({100 * level:.4g}%)" if level is not None and abs(level - 0.95) > 1e-9 else ""
    return _ci_range(c) + tail if _ci_range(c) else "—"


def _measurement(c: dict) -> str:
    """'0.772 (95% CI 0.689 to 0.852); goal: lower bound ≥ 0.7'."""
    parts = []
    if c["estimate"] is not None:
        level, ci = c.get("confidence_level"), _ci_range(c)
        parts.append(_num(c["estimate"], c["unit"]) + (f" ({100 * level:.4g}% CI {ci})" if ci and level else ""))
    if c["goal"]:
        parts.append(f"goal: {c['goal']}")
    return "; ".join(parts) if parts else (c.get("rule") or "")


def _why(summary: dict) -> str:
    """'1 gating criterion failed: endpoint sensitivity'."""
    gating = [c for c in summary["criteria"] if c["gates"]]
    failed = [c["criterion"] for c in gating if c["verdict"] != "PASS" and c["verdict"] not in NOT_SHOWN]
    open_ = [c["criterion"] for c in gating if c["verdict"] in NOT_SHOWN]

    def n(k: int) -> str:
        return f"{k} gating criterion" if k == 1 else f"{k} gating criteria"

    out = summary["outcome"]
    if out == "PASS":
        return f"all {n(len(gating))} passed"
    if out == "NO GOALS":
        return "the protocol sets no gating criterion"
    said = []
    if failed:
        said.append(f"{n(len(failed))} failed: {', '.join(failed)}")
    if open_:
        said.append(f"{n(len(open_))} not shown to pass (insufficient evidence): {', '.join(open_)}")
    return "; ".join(said)


def console_lines(summary: dict) -> list[str]:
    """What ``valkit run`` prints: one line per criterion, then the overall verdict."""
    lines = ["criteria:"]
    for c in summary["criteria"]:
        gate = "" if c["gates"] else " (does not gate)"
        lines.append(f"  {c['verdict']:<21} {c['criterion']}{gate}: {_measurement(c)}")
    lines.append(f"verdict: {summary['verdict']} ({_why(summary)}; exit code {summary['exit_code']})")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(summary: dict) -> str:
    """A markdown table for a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""
    p = summary["protocol"]
    m = summary["model"]
    lines = [f"### valkit gate: {summary['verdict']}",
             "",
             f"Protocol `{p['id']}` version {p['version']}; model {m['name']} {m['version']}.",
             "",
             "| criterion | estimate | 95% CI | goal | verdict |",
             "|---|---|---|---|---|"]
    for c in summary["criteria"]:
        name = c["criterion"] + ("" if c["gates"] else " (does not gate)")
        verdict = f"**{c['verdict']}**" if c["gates"] and c["verdict"] != "PASS" else c["verdict"]
        lines.append("| " + " | ".join(_cell(x) for x in (name, _num(c["estimate"], c["unit"]), _ci(c),
                                                             c["goal"] or "—", verdict)) + " |")
    lines += ["", f"**Verdict: {summary['verdict']}**: {_why(summary)} (exit code {summary['exit_code']}).", ""]
    return "\n".join(lines)


def junit_xml(summary: dict) -> bytes:
    """JUnit XML: one testsuite, one testcase per criterion (see the module docstring)."""
    p = summary["protocol"]
    cases = summary["criteria"]
    failures = sum(c["gates"] and c["verdict"] != "PASS" for c in cases)
    skipped = sum(not c["gates"] and c["verdict"] != "PASS" for c in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": str(skipped)}
    root = ET.Element("testsuites", {"name": "valkit", **{k: v for k, v in counts.items() if k != "skipped"}})
    suite = ET.SubElement(root, "testsuite", {"name": f"valkit gate {p['id']}", **counts})
    props = ET.SubElement(suite, "properties")
    for name, value in (("protocol", p["id"]), ("protocol_version", p["version"]), ("protocol_sha256", p["sha256"]),
                        ("model", summary["model"]["name"]), ("model_version", summary["model"]["version"]),
                        ("verdict", summary["verdict"]), ("exit_code", summary["exit_code"])):
        ET.SubElement(props, "property", {"name": name, "value": "" if value is None else str(value)})
    for c in cases:
        case = ET.SubElement(suite, "testcase", {"name": c["criterion"], "classname": f"valkit.{p['id']}.{c['kind']}"})
        message = f"{c['verdict']}: {_measurement(c)}"
        if c["gates"] and c["verdict"] != "PASS":
            if c["verdict"] in NOT_SHOWN:
                message = message.replace(":", " (not shown to pass):", 1)
            fail = ET.SubElement(case, "failure", {"type": c["verdict"], "message": message})
            fail.text = c.get("rule") or ""
        elif not c["gates"] and c["verdict"] != "PASS":
            ET.SubElement(case, "skipped", {"message": f"does not gate: {message}"})
        ET.SubElement(case, "system-out").text = f"{message}\n{c.get('rule') or ''}".rstrip()
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def summary_json(summary: dict) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False)


__all__ = ["console_lines", "gate_summary", "junit_xml", "markdown", "summary_json"]
