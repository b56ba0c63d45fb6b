"""Fixtures for the report tests: one real results.json from the fake study, rendered once."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_PROTOCOL = REPO / "tests" / "data" / "fake_study" / "fake.yaml"
# test helpers (tests/report/page_fill.py) importable under --import-mode=importlib
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def fake_run(tmp_path_factory) -> Path:
    """Run the fake study (500 cases, 4 sites, 3 manufacturers, some failures) without a report."""
    from valkit.cli import main

    runs = tmp_path_factory.mktemp("runs")
    rc = main(["run", str(FAKE_PROTOCOL), "--runs-dir", str(runs), "--no-report", "--quiet"])
    assert rc in (0, 1, 4), f"valkit run failed with exit code {rc}"
    run_dir = runs / "fake"
    assert (run_dir / "results.json").is_file()
    return run_dir


@pytest.fixture(scope="session")
def rendered(fake_run, tmp_path_factory) -> Path:
    """results.json copied ALONE into an empty folder and rendered there (both formats)."""
    from valkit.report import render_report

    alone = tmp_path_factory.mktemp("alone")
    shutil.copy(fake_run / "results.json", alone / "results.json")
    paths = render_report(alone)
    assert [p.name for p in paths] == ["report.pdf", "report.html"]
    return alone


def _pdftotext(pdf: Path, *args: str) -> str:
    """Text of a PDF via poppler's pdftotext (skips the test if poppler-utils is missing)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found: install poppler-utils (apt-get install -y poppler-utils, "
                    "or `make sysdeps`) to check the PDF text")
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", *args, str(pdf), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def _poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not found: install poppler-utils (apt-get install -y poppler-utils, "
                    "or `make sysdeps`) to check the PDF")
    return subprocess.run([tool, *args], capture_output=True, check=True, text=True).stdout


@pytest.fixture(scope="session")
def pdf_text(rendered) -> str:
    """The PDF's text with its layout kept (table rows stay on one line); pages split by form feed."""
    return _pdftotext(rendered / "report.pdf", "-layout")


@pytest.fixture(scope="session")
def poppler():
    """Run a poppler-utils tool (pdfinfo, pdffonts, pdftohtml), skipping when it is not installed."""
    return _poppler
