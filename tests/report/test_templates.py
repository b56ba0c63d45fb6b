"""Which templates render a report, and what happens when rendering fails.

- ``report.templates:`` in a protocol: its files replace valkit's by name, the run records them
  (folder and digests) in results.json, and ``valkit report`` re-renders with them.
- Rendering never hides the verdict: with the templates missing (a wheel without them, issue #12)
  ``valkit run`` still writes results.json, prints the verdict and exits 5, not 3 or 1.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from valkit import assets
from valkit.cli import EXIT_REPORT_NOT_RENDERED, main
from valkit.digests import file_sha256
from valkit.errors import InputError
from valkit.protocol import load_protocol

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study"
MARKER = "Sponsor-specific limitations paragraph"


def _study(folder: Path, report: dict | None = None) -> Path:
    """The fake study (external scores, no images) copied into ``folder``; returns its protocol."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in FAKE.iterdir():
        shutil.copy(f, folder / f.name)
    protocol = yaml.safe_load((folder / "fake.yaml").read_text())
    protocol["report"] = {**protocol.get("report", {}), "formats": ["html"], **(report or {})}
    (folder / "fake.yaml").write_text(yaml.safe_dump(protocol, sort_keys=False))
    return folder / "fake.yaml"


def _override(folder: Path, text: str) -> Path:
    (folder / "sections").mkdir(parents=True)
    (folder / "sections" / "limitations.html.j2").write_text(text)
    (folder / "NOTES.txt").write_text("not a template: neither used nor recorded")
    return folder


@pytest.fixture(scope="module")
def override_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("override")
    templates = _override(d / "study" / "my-templates", f"<p>{MARKER}</p>\n")
    protocol = _study(d / "study", {"templates": "my-templates"})
    rc = main(["run", str(protocol), "--runs-dir", str(d / "runs"), "--quiet"])
    return rc, templates, d / "runs" / "fake"


def test_override_replaces_a_template_by_name(override_run):
    rc, _, run_dir = override_run
    assert rc in (0, 1, 4)
    html = (run_dir / "report.html").read_text()
    assert MARKER in html
    assert 'id="provenance"' in html  # every other section is still valkit's


def test_override_recorded_in_results_and_printed_with_its_digest(override_run):
    _, templates, run_dir = override_run
    results = json.loads((run_dir / "results.json").read_text())
    record = results["provenance"]["report_templates"]
    sha = file_sha256(templates / "sections" / "limitations.html.j2")
    assert record == {"folder": str(templates.resolve()), "files": {"sections/limitations.html.j2": sha}}
    assert results["protocol"]["report"]["templates"] == "my-templates"
    html = (run_dir / "report.html").read_text()
    assert "sections/limitations.html.j2" in html and sha in html


def test_report_rerenders_with_the_recorded_override(override_run, tmp_path):
    _, _, run_dir = override_run
    shutil.copy(run_dir / "results.json", tmp_path / "results.json")
    assert main(["report", str(tmp_path), "--format", "html"]) == 0
    assert MARKER in (tmp_path / "report.html").read_text()


def test_no_override_recorded_as_none(fake_run):
    results = json.loads((fake_run / "results.json").read_text())
    assert results["provenance"]["report_templates"] is None


def test_missing_override_folder_is_a_protocol_error_with_its_line(tmp_path):
    protocol = _study(tmp_path, {"templates": "no-such-folder"})
    line = next(i for i, t in enumerate(protocol.read_text().splitlines(), 1) if "no-such-folder" in t)
    with pytest.raises(InputError) as exc:
        load_protocol(protocol)
    assert f"fake.yaml:{line}: report.templates: folder not found: no-such-folder" in str(exc.value)


def test_broken_override_template_exits_4_with_the_traceback(fake_run, tmp_path, capsys):
    broken = _override(tmp_path / "broken", "<p>{{ no_such_variable }}</p>\n")
    results = json.loads((fake_run / "results.json").read_text())
    results["provenance"]["report_templates"] = {"folder": str(broken), "files": {}}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(json.dumps(results))
    assert main(["report", str(tmp_path / "run")]) == EXIT_REPORT_NOT_RENDERED
    err = capsys.readouterr().err
    assert "Traceback" in err and "no_such_variable" in err
    assert "the report could not be rendered" in err and "results.json is complete" in err


def test_missing_templates_do_not_hide_the_verdict(tmp_path, monkeypatch, capsys):
    """Issue #12: an installed valkit without its templates exited 3 after the analysis, no verdict."""
    monkeypatch.setattr(assets, "CHECKOUT_ROOT", tmp_path / "not-a-checkout")
    monkeypatch.setattr(assets, "_packaged_root", lambda: tmp_path / "site-packages" / "valkit")
    protocol = _study(tmp_path / "study")
    rc = main(["run", str(protocol), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    results = json.loads((tmp_path / "runs" / "fake" / "results.json").read_text())
    assert rc == EXIT_REPORT_NOT_RENDERED
    assert f"verdict: {results['verdict']}" in out
    assert "report templates not found" in err and "report.html.j2" in err
    assert not (tmp_path / "runs" / "fake" / "report.html").exists()
    # and re-rendering says the same, with the same exit code
    assert main(["report", str(tmp_path / "runs" / "fake")]) == EXIT_REPORT_NOT_RENDERED
