"""The gate's CI outputs: console lines, --json on stdout, --summary markdown, --junit XML (issue #13).

The JUnit file is validated with xmlschema against tests/data/junit/junit.xsd, written from the
Jenkins xUnit plugin's junit-10.xsd (provenance in the file's header).
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
import xmlschema

from valkit.cli import build_parser, main
from valkit.gate import acceptance
from valkit.gate_outputs import console_lines, gate_summary, junit_xml, markdown

DATA = Path(__file__).resolve().parents[1] / "data"
JUNIT_XSD = DATA / "junit" / "junit.xsd"


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    d = tmp_path_factory.mktemp("gate")
    for f in (DATA / "fake_study").iterdir():
        shutil.copy(f, d / f.name)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["run", str(d / "fake.yaml"), "--runs-dir", str(d / "runs"), "--no-report", "--json",
                   "--junit", str(d / "ci" / "junit.xml"), "--summary", str(d / "ci" / "summary.md")])
    return rc, d, out.getvalue(), err.getvalue()


# the fake study (tests/data/fake_study, seed 20261122): sensitivity's lower bound misses 0.7
FAKE_MARKDOWN = """\
### valkit gate: FAIL

Protocol `fake` version 1.0; model Vendor X 2.1.

| criterion | estimate | 95% CI | goal | verdict |
|---|---|---|---|---|
| endpoint sensitivity | 0.759 | 0.682 to 0.826 | lower bound ≥ 0.7 | **FAIL** |
| endpoint specificity | 0.864 | 0.826 to 0.898 | lower bound ≥ 0.7 | PASS |
| endpoint auc (does not gate) | 0.885 | 0.851 to 0.918 | lower bound ≥ 0.75 | PASS |
| tool validation | — | — | all 17 published reference values reproduced | PASS |
| determinism check | — | — | identical analysis digest | PASS |

**Verdict: FAIL**: 1 gating criterion failed: endpoint sensitivity (exit code 1).
"""


def test_json_is_all_of_stdout_and_matches_results(gated):
    rc, d, out, err = gated
    summary = json.loads(out)  # nothing but the JSON document on stdout
    results = json.loads((d / "runs" / "fake" / "results.json").read_text())
    assert summary == gate_summary(results) and rc == summary["exit_code"] == 1
    assert summary["outcome"] == "FAIL" and summary["counts"] == {
        "gating": 4, "passed": 3, "failed": 1, "not_shown": 0, "not_gating": 1}
    sens = next(e for e in results["endpoints"] if e["id"] == "sensitivity")
    row = summary["criteria"][0]
    assert (row["criterion"], row["verdict"], row["goal"]) == ("endpoint sensitivity", "FAIL", "lower bound ≥ 0.7")
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (
        sens["estimate"]["value"], sens["estimate"]["interval"]["low"], sens["estimate"]["interval"]["high"])
    # the human lines, the files written and the progress went to stderr instead
    assert "verdict: FAIL (1 gating criterion failed: endpoint sensitivity; exit code 1)" in err
    assert "junit:   " in err and "bootstrap of the subgroup families" in err


def test_console_lines_name_each_criterion_then_the_verdict(gated):
    _, d, out, _ = gated
    assert console_lines(json.loads(out)) == [
        "criteria:",
        "  FAIL                  endpoint sensitivity: 0.759 (95% CI 0.682 to 0.826); goal: lower bound ≥ 0.7",
        "  PASS                  endpoint specificity: 0.864 (95% CI 0.826 to 0.898); goal: lower bound ≥ 0.7",
        "  PASS                  endpoint auc (does not gate): 0.885 (95% CI 0.851 to 0.918); goal: lower bound ≥ 0.75",
        "  PASS                  tool validation: goal: all 17 published reference values reproduced",
        "  PASS                  determinism check: goal: identical analysis digest",
        "verdict: FAIL (1 gating criterion failed: endpoint sensitivity; exit code 1)",
    ]


def test_summary_markdown_exact(gated):
    _, d, _, _ = gated
    assert (d / "ci" / "summary.md").read_text(encoding="utf-8") == FAKE_MARKDOWN


def test_junit_valid_one_testcase_per_criterion(gated):
    _, d, out, _ = gated
    path = d / "ci" / "junit.xml"
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    schema.validate(str(path))
    tree = schema.to_dict(str(path))
    suite = tree["testsuite"][0]
    cases = suite["testcase"]
    assert [c["@name"] for c in cases] == [c["criterion"] for c in json.loads(out)["criteria"]]
    assert [c["@classname"] for c in cases] == ["valkit.fake.endpoint"] * 3 + ["valkit.fake.tool_validation",
                                                                                 "valkit.fake.determinism"]
    assert (suite["@tests"], suite["@failures"], suite["@errors"], suite["@skipped"]) == (5, 1, 0, 0)
    failure = cases[0]["failure"][0]
    assert failure["@type"] == "FAIL"
    assert failure["@message"] == "FAIL: 0.759 (95% CI 0.682 to 0.826); goal: lower bound ≥ 0.7"
    assert all("failure" not in c for c in cases[1:])


def test_the_xsd_rejects_what_ci_tools_cannot_read():
    """The schema check can fail: a testcase without a name, a suite without its counts."""
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    assert not schema.is_valid('<testsuites><testsuite name="s" tests="1" failures="0" errors="0">'
                               '<testcase classname="c"/></testsuite></testsuites>')
    assert not schema.is_valid('<testsuites><testsuite name="s"><testcase name="t"/></testsuite></testsuites>')
    assert schema.is_valid('<testsuites><testsuite name="s" tests="1" failures="0" errors="0">'
                           '<testcase name="t"/></testsuite></testsuites>')


def _results(criteria_verdicts: list[tuple[str, bool]]) -> dict:
    """A results.json with one fairness criterion per (verdict, gates) and a passing endpoint."""
    fams = [{"name": f"col{i}", "criteria": [{
        "metric": "fpr_difference", "max": 0.1, "min": None, "verdict": v, "exploratory": not gates,
        "basis": "groups below the evidence rule or empty: O",
        "deciding_pairs": [{"value": 0.05, "judged_on": "interval",
                            "interval": {"low": -0.02, "high": 0.12, "confidence_level": 0.95}}]}]}
        for i, (v, gates) in enumerate(criteria_verdicts)]
    r = {"protocol": {"id": "p", "version": "1", "sha256": "0" * 64}, "model": {"name": "m", "version": "2"},
         "endpoints": [{"id": "sensitivity", "metric": "sensitivity", "primary": True, "goal": 0.8, "verdict": "PASS",
                        "judged_on": "lower bound >= 0.8",
                        "estimate": {"value": 0.9, "interval": {"low": 0.85, "high": 0.94, "confidence_level": 0.95}}}],
         "fairness": {"families": fams}}
    r["acceptance"] = acceptance(r)
    return r


def test_insufficient_evidence_only_is_exit_4_and_a_junit_failure():
    s = gate_summary(_results([("INSUFFICIENT EVIDENCE", True), ("FAIL", False)]))
    assert (s["verdict"], s["outcome"], s["exit_code"]) == ("FAIL", "INSUFFICIENT EVIDENCE", 4)
    xml = junit_xml(s)
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    schema.validate(xml.decode())
    suite = schema.to_dict(xml.decode())["testsuite"][0]
    gating, exploratory = suite["testcase"][1], suite["testcase"][2]
    assert gating["failure"][0]["@type"] == "INSUFFICIENT EVIDENCE"
    assert gating["failure"][0]["@message"] == ("INSUFFICIENT EVIDENCE (not shown to pass): 0.050 "
                                                "(95% CI -0.020 to 0.120); goal: every pair's gap within ±0.1")
    assert "failure" not in exploratory and exploratory["skipped"][0]["@message"].startswith("does not gate: FAIL")
    assert (suite["@failures"], suite["@skipped"]) == (1, 1)
    assert markdown(s).endswith("**Verdict: FAIL**: 1 gating criterion not shown to pass (insufficient evidence): "
                                "fairness fpr_difference (col0) (exit code 4).\n")


def test_a_failed_criterion_outranks_insufficient_evidence():
    s = gate_summary(_results([("INSUFFICIENT EVIDENCE", True), ("FAIL", True)]))
    assert (s["outcome"], s["exit_code"]) == ("FAIL", 1)


def test_results_written_before_the_estimates_render_dashes():
    r = _results([("PASS", True)])
    for c in r["acceptance"]["criteria"]:
        for k in ("estimate", "ci_low", "ci_high", "confidence_level", "goal", "unit"):
            c.pop(k)
    s = gate_summary(r)
    assert s["exit_code"] == 0
    assert "| endpoint sensitivity | — | — | — | PASS |" in markdown(s)


def test_markdown_cells_escape_pipes():
    r = _results([("PASS", True)])
    r["acceptance"]["criteria"][0]["criterion"] = "endpoint a|b"
    assert "| endpoint a\\|b |" in markdown(gate_summary(r))


def _leaf_parsers(parser):
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
    for sub in subs:
        for child in dict.fromkeys(sub.choices.values()):
            yield from _leaf_parsers(child)


def test_every_command_takes_quiet():
    leaves = list(_leaf_parsers(build_parser()))
    assert len(leaves) >= 10
    missing = [p.prog for p in leaves if "--quiet" not in p._option_string_actions]
    assert missing == []


def test_quiet_silences_progress_and_keeps_results(gated):
    _, d, _, _ = gated
    run_dir = str(d / "runs" / "fake")
    for quiet in (False, True):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(["report", run_dir, "--format", "html", *(["--quiet"] if quiet else [])]) == 0
        assert out.getvalue() == f"report: {run_dir}/report.html\n"  # results on stdout either way
        if quiet:
            assert err.getvalue() == ""
        else:  # not a terminal: one line when a step starts, one when it ends, on stderr
            assert "report: HTML ...\n" in err.getvalue()


def test_no_progress_is_the_old_spelling_of_quiet():
    assert build_parser().parse_args(["run", "p.yaml", "--quiet"]).quiet is True
    assert build_parser().parse_args(["run", "p.yaml"]).quiet is False
