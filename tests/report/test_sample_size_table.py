"""The "Sample size and achieved power" sub-table of Statistical methods (issue #15): numbers read from
results.json ``sample_size``, clustering stated, absent for older runs."""
from __future__ import annotations

import copy
import html as html_lib
import json
import re

import pytest

from valkit.report.render import render_html


@pytest.fixture(scope="module")
def results(fake_run) -> dict:
    return json.loads((fake_run / "results.json").read_text())


def _methods_text(results: dict) -> str:
    page = render_html(results, results_sha256="0" * 64)
    start = page.index('<section id="statistical-methods"')
    section = page[start:page.index("</section>", start)]
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", section)))


def test_the_run_writes_one_row_per_primary_endpoint_with_a_goal(results):
    rows = results["sample_size"]["rows"]
    primary = [e["id"] for e in results["endpoints"] if e["primary"] and e["goal"] is not None]
    assert [r["id"] for r in rows] == primary and rows


def test_the_table_prints_the_results_numbers(results):
    text = _methods_text(results)
    assert "Sample size and achieved power" in text
    for r in results["sample_size"]["rows"]:
        assert f"±{r['half_width'] * 100:.1f} percentage points" in text
        if r["n_needed"] is not None:
            assert f"{r['n_needed']:,}".replace(",", "\u202f") in text


def test_clustering_is_stated_with_the_design_effect(results):
    res = copy.deepcopy(results)
    res["sample_size"]["clustered"] = True
    res["sample_size"]["rows"][0]["design_effect"] = 1.73
    text = _methods_text(res)
    assert "design effect (Rao and Scott 1992)" in text and "1.73" in text


def test_a_run_without_the_block_renders_without_the_table(results):
    res = copy.deepcopy(results)
    del res["sample_size"]
    assert "Sample size and achieved power" not in _methods_text(res)
