"""Suite-wide settings.

In CI (``CI`` set, as .ci/run runs) hypothesis draws a fixed, derandomised set of examples so a
release gate never flips on a newly drawn input; locally it explores randomly, and any failure it
finds is pinned with ``@example`` next to the property.
"""
import os

import pytest

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def fake_results(tmp_path_factory) -> dict:
    """A complete, valid results.json (the fake study, external scores; no report): the base a test
    grafts one block onto, since the report only renders valid results (valkit.results_schema)."""
    from valkit.cli import main

    d = tmp_path_factory.mktemp("fake_results")
    shutil.copytree(Path(__file__).parent / "data" / "fake_study", d, dirs_exist_ok=True)
    assert main(["run", str(d / "fake.yaml"), "--runs-dir", str(d / "runs"), "--no-report", "--quiet"]) in (0, 1, 4)
    return json.loads((d / "runs" / "fake" / "results.json").read_text())


@pytest.fixture(autouse=True, scope="session")
def _pseudonym_key(tmp_path_factory):
    """Manifests built by tests take their pseudonym key from a temporary file, never the checkout's .valkit/."""
    key = tmp_path_factory.mktemp("pseudonym") / "pseudonym.key"
    old = os.environ.get("VALKIT_PSEUDONYM_KEY")
    os.environ["VALKIT_PSEUDONYM_KEY"] = str(key)
    yield key
    if old is None:
        os.environ.pop("VALKIT_PSEUDONYM_KEY", None)
    else:
        os.environ["VALKIT_PSEUDONYM_KEY"] = old
