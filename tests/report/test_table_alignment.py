"""Aligned headers (issue #15): a numeric column is right-aligned in its header as in its cells.

report.css right-aligns ``th.num`` and ``td.num``; a header without the class stays left-aligned over
right-aligned numbers. Checked on the rendered fake-study and model-card reports (tests/report/conftest.py
``fake_run``, ``card_run``) with tests/report/table_columns.py, which reads which header stands over which
cells (colspan and rowspan honoured)."""
from __future__ import annotations

import json

import pytest

from table_columns import misaligned_headers, tables
from valkit.report.render import render_html


@pytest.fixture(scope="module", params=["fake_run", "card_run"])
def page(request) -> str:
    results = json.loads((request.getfixturevalue(request.param) / "results.json").read_text())
    return render_html(results, results_sha256="0" * 64)


def test_every_header_over_a_numeric_column_is_right_aligned_like_its_cells(page):
    assert len(tables(page)) > 10
    problems = misaligned_headers(page)
    assert not problems, ("numeric columns whose header or cells are not class \"num\" (add class=\"num\" to the "
                          "<th> and <td> in reports/templates/sections):\n" + "\n".join(problems))


def test_the_check_reads_columns_through_spans():
    ok = ('<table><caption>T</caption><thead><tr><th rowspan="2">Site</th><th colspan="2">Counts</th><th>Note</th></tr>'
          '<tr><th class="num">Cases</th><th class="num">Positive</th><th>Text</th></tr></thead>'
          '<tbody><tr><th scope="row">A</th><td class="num">1 234</td><td class="num">12</td><td>fine</td></tr>'
          '<tr><th scope="row">B</th><td class="num flag" colspan="2">insufficient evidence</td><td>v1.0.0</td></tr>'
          '</tbody></table>')
    assert misaligned_headers(ok) == []
    left_header = ok.replace('<th class="num">Positive</th>', "<th>Positive</th>")
    assert misaligned_headers(left_header) == ["T: header 'Positive' (column 3) is not class \"num\" over a numeric column"]
    bare_numbers = ok.replace('<th>Text</th>', "<th>Runs</th>").replace("<td>fine</td>", "<td>3</td>").replace(
        "<td>v1.0.0</td>", "<td>70%</td>")
    # both headers over the column (Note, Runs) and its cells: numbers without class "num"
    assert [p.split(":")[1].split("(")[0].strip() for p in misaligned_headers(bare_numbers)] == [
        "header 'Note'", "header 'Runs'", "numeric column 4 has a cell"]
    assert misaligned_headers(ok.replace("fine", "1.0.0")) == []  # a version is not a number
