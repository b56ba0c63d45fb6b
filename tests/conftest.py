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
