"""Suite-wide settings.

In CI (``CI`` set, as .ci/run runs) hypothesis draws a fixed, derandomised set of examples so a
release gate never flips on a newly drawn input; locally it explores randomly, and any failure it
finds is pinned with ``@example`` next to the property.
"""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
