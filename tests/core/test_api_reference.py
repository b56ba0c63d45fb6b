"""docs/api.md is generated from the docstrings and committed up to date (issue #12, item 5)."""
from __future__ import annotations

import importlib

from valkit import api_reference


def test_committed_api_page_matches_the_docstrings():
    committed = api_reference.PAGE.read_text(encoding="utf-8")
    assert committed == api_reference.render(), (
        "docs/api.md is out of date with the docstrings: run `python -m valkit.api_reference` and commit it")


def test_check_flag_reports_a_stale_page(tmp_path, capsys):
    page = tmp_path / "api.md"
    page.write_text("stale\n", encoding="utf-8")
    assert api_reference.main(["--check", "--output", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert api_reference.main(["--output", str(page)]) == 0
    assert api_reference.main(["--check", "--output", str(page)]) == 0


def test_every_public_name_has_an_entry_with_its_docstring():
    page = api_reference.render()
    for module in api_reference.MODULES:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            assert f"### `{module}.{name}`" in page
    assert "*(no docstring)*" not in page
    assert "sensitivity(y_true, y_pred, *, pos_label=None, ci='wilson', confidence_level=0.95)" in page
    assert "**Parameters**" in page and "- `pos_label : optional`" in page


def test_numpydoc_sections_become_markdown():
    doc = '''Summary line.

    Parameters
    ----------
    x : int
        The input.

    Examples
    --------
    >>> f(1)
    2

    See :func:`valkit.stats.sensitivity`.
    '''
    assert api_reference.docstring_markdown(doc) == (
        "Summary line.\n\n**Parameters**\n\n- `x : int`\n  The input.\n\n**Examples**\n\n"
        "```python\n>>> f(1)\n2\n```\n\nSee `valkit.stats.sensitivity`.")
