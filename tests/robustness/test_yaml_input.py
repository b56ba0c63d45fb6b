"""Issue #16 items 3 and 4: duplicate YAML keys and alias bombs in protocols and model cards."""
from __future__ import annotations

from pathlib import Path

import pytest

from valkit.errors import InputError
from valkit.model_card_io import load_model_card
from valkit.protocol import load_protocol
from valkit.yaml_lines import line_index

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "protocols" / "demo.yaml").read_text()
CARD = ROOT / "models" / "demo-nodule" / "model.yaml"

# A "billion laughs" document: 9 levels of 9 aliases expand to 9**9 (387 million) strings from ~450 bytes.
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_repeated_top_level_key_names_both_lines(tmp_path):
    # the probe: a second `endpoints:` silently replaced the first
    lines = DEMO.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("endpoints:")) + 1
    text = DEMO + "endpoints:\n  - {id: x, metric: auc}\n"
    last = len(text.splitlines()) - 1
    with pytest.raises(InputError) as err:
        load_protocol(_write(tmp_path, text), check_paths=False)
    assert f"p.yaml:{last}: duplicate key 'endpoints' (first on line {first}, again on line {last})" in str(err.value)


def test_a_repeated_nested_key_names_both_lines(tmp_path):
    # `goal: 0.95` then `goal: 0.70` kept 0.70
    text = DEMO.replace("    goal: 0.70                # PASS when", "    goal: 0.95\n    goal: 0.70                # PASS when", 1)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip() == "goal: 0.95")
    with pytest.raises(InputError, match=rf"p.yaml:{line + 1}: duplicate key 'goal' \(first on line {line}, "
                                         rf"again on line {line + 1}\)"):
        load_protocol(_write(tmp_path, text), check_paths=False)


def test_a_model_card_with_a_repeated_key_is_refused(tmp_path):
    text = CARD.read_text().replace("version: 1.0.0\n", "version: 1.0.0\nversion: 2.0.0\n", 1)
    card = _write(tmp_path, text, "model.yaml")
    with pytest.raises(InputError, match=r"model.yaml:\d+: duplicate key 'version'"):
        load_model_card(card)


@pytest.mark.timeout(30)
def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    assert len(BOMB) < 500
    with pytest.raises(InputError, match=r"p.yaml:2: YAML alias '\*a' is not accepted"):
        load_protocol(_write(tmp_path, BOMB), check_paths=False)
    assert line_index(BOMB) == {}  # the line-index walk does not expand it either


@pytest.mark.timeout(30)
def test_an_alias_in_model_card_params_is_refused(tmp_path):
    text = CARD.read_text().replace("  params:\n", "  params: &p\n", 1) + "extra: *p\n"
    with pytest.raises(InputError, match=r"model.yaml:\d+: YAML alias '\*p' is not accepted"):
        load_model_card(_write(tmp_path, text, "model.yaml"))


def test_anchors_without_aliases_and_ordinary_yaml_still_load(tmp_path):
    loaded = load_protocol(_write(tmp_path, DEMO.replace("id: demo ", "id: &name demo ", 1)), check_paths=False)
    assert loaded.protocol.id == "demo"
