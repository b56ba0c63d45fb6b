"""One plural helper for the report's counted nouns (issue #15: no "case(s)", no "all 2 endpoint(s)")."""
from __future__ import annotations

import pytest

from valkit.report.formatting import plural


@pytest.mark.parametrize(("n", "noun", "kw", "expected"), [
    (0, "case", {}, "0 cases"),
    (1, "case", {}, "1 case"),
    (2, "endpoint", {}, "2 endpoints"),
    (12345, "image", {}, "12\u202f345 images"),
    (1, "patient", {}, "1 patient"),
    (3, "study", {"plural_form": "studies"}, "3 studies"),
    (1, "study", {"plural_form": "studies"}, "1 study"),
    (2, "protocol lock", {}, "2 protocol locks"),
    ("3", "row", {}, "3 rows"),
    (None, "case", {}, "— cases"),
])
def test_plural_counts_and_nouns(n, noun, kw, expected):
    assert plural(n, noun, **kw) == expected


@pytest.mark.parametrize(("n", "expected"), [
    (1, "the primary endpoint"),
    (2, "both primary endpoints"),
    (3, "all 3 primary endpoints"),
])
def test_every_of_n_reads_as_english(n, expected):
    assert plural(n, "primary endpoint", every=True) == expected
