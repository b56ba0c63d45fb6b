"""Protocol parsing: every problem reported at once, with file:line, key path and a fix."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from valkit.cli import main
from valkit.errors import InputError
from valkit.protocol import Protocol, load_protocol, protocol_json_schema

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "protocols" / "demo.yaml"

BAD = """\
id: demo
version: "1.0"
title: t
intended_use: x
regulatory:
  targets: [FDA, CDSC]
  document_id: D
  revison: A
model:
  card: nope.yaml
datasets: []
reference_standard: {column: label, description: d}
endpoints:
  - id: s
    metric: sensitivty
    ci: wilsn
  - id: a
    metric: auc
    ci: delong2
    goal: 1.5
"""


def test_demo_protocol_parses():
    p = load_protocol(DEMO, check_paths=False).protocol
    assert p.id == "demo"
    assert {e.metric for e in p.endpoints} >= {"sensitivity", "specificity"}
    assert p.model is not None and p.predictions is None


def test_every_problem_reported_with_line_and_suggestion(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    with pytest.raises(InputError) as exc:
        load_protocol(f)
    problems = exc.value.problems
    assert problems == [
        f"{f}:6: regulatory.targets[1]: unknown value 'CDSC'. Did you mean 'CDSCO'? Valid: FDA, CDSCO.",
        f"{f}:5: regulatory.revision: required key is missing.",
        f"{f}:8: regulatory.revison: unknown key 'revison'. Did you mean 'revision'? "
        "Valid keys here: targets, document_id, revision, fda, cdsco, pre_registered, masking.",
        f"{f}:11: datasets: List should have at least 1 item after validation, not 0",
        f"{f}:15: endpoints[0].metric: unknown value 'sensitivty'. Did you mean 'sensitivity'? "
        "Valid: sensitivity, specificity, ppv, npv, accuracy, auc.",
        f"{f}:16: endpoints[0].ci: unknown CI method 'wilsn' for this metric. Did you mean 'wilson'? "
        "Valid: wilson, clopper_pearson, jeffreys, agresti_coull, delong, bootstrap, clustered.",
        f"{f}:19: endpoints[1].ci: unknown CI method 'delong2' for auc. Did you mean 'delong'? "
        "Valid: delong, bootstrap, clustered.",
        f"{f}:20: endpoints[1].goal: Input should be less than 1 (found 1.5)",
    ]


def test_validate_cli_exit_codes(tmp_path, capsys):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    assert main(["validate", str(f)]) == 2
    assert "8 problem(s)" in capsys.readouterr().err
    assert main(["validate", str(DEMO), "--no-paths"]) == 0


def test_missing_paths_named_with_fix(tmp_path):
    shutil.copy(DEMO, tmp_path / "demo.yaml")
    with pytest.raises(InputError) as exc:
        load_protocol(tmp_path / "demo.yaml")
    text = str(exc.value)
    assert "datasets[0].manifest: file not found: ../datasets/manifests/demo.csv" in text
    assert "valkit manifest build" in text
    assert "model.card: file not found" in text


def test_yaml_syntax_error_has_line(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("id: demo\nversion: [1\n")
    with pytest.raises(InputError, match=r"x.yaml:\d+: not valid YAML"):
        load_protocol(f)


def test_protocol_never_executes_code(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("id: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_protocol(f)


def _demo_dict() -> dict:
    return yaml.safe_load(DEMO.read_text())


def test_model_xor_predictions():
    d = _demo_dict()
    d["predictions"] = {"path": "p.csv", "model_name": "m", "model_version": "1", "threshold": 0.5}
    with pytest.raises(Exception, match="exactly one of 'model'"):
        Protocol.model_validate(d)
    del d["model"]
    assert Protocol.model_validate(d).predictions.threshold == 0.5


def test_fixed_operating_point_needs_threshold():
    d = _demo_dict()
    d["operating_point"] = {"source": "fixed"}
    with pytest.raises(Exception, match="needs a threshold"):
        Protocol.model_validate(d)


def test_duplicate_endpoint_ids_rejected():
    d = _demo_dict()
    d["endpoints"].append(dict(d["endpoints"][0]))
    with pytest.raises(Exception, match="repeated: sensitivity"):
        Protocol.model_validate(d)


def test_models_are_frozen():
    p = Protocol.model_validate(_demo_dict())
    with pytest.raises(Exception):
        p.id = "other"


def test_schema_cli_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "valkit protocol"
    assert "endpoints" in schema["properties"]
    assert schema == json.loads(json.dumps(protocol_json_schema()))


FAKE = ROOT / "tests" / "data" / "fake_study" / "fake.yaml"


def _with_predictions_block(tmp_path: Path, block: str, extra: str = "") -> Path:
    """The external-scores test protocol with its ``predictions:`` block replaced (it is the last key)."""
    text = FAKE.read_text()
    text = text[:text.index("predictions:")] + extra + block
    f = tmp_path / "ext.yaml"
    f.write_text(text)
    return f


def test_external_score_range_declared(tmp_path):
    f = _with_predictions_block(tmp_path, "predictions:\n  path: scores.csv\n  model_name: V\n  model_version: '1'\n"
                                          "  score_range: [0, 100]\n  threshold: 50\n")
    p = load_protocol(f, check_paths=False).protocol
    assert p.predictions.score_range == (0.0, 100.0) and p.predictions.threshold == 50
    assert load_protocol(FAKE, check_paths=False).protocol.predictions.score_range == (0.0, 1.0)


def test_external_score_range_problems_have_line_key_and_fix(tmp_path):
    f = _with_predictions_block(tmp_path, "predictions:\n  path: scores.csv\n  model_name: V\n  model_version: '1'\n"
                                          "  score_range: [100, 0]\n  threshold: 0.5\n  score_rnge: [0, 1]\n")
    with pytest.raises(InputError) as exc:
        load_protocol(f, check_paths=False)
    n = len(FAKE.read_text()[:FAKE.read_text().index("predictions:")].splitlines())
    assert exc.value.problems == [
        f"{f}:{n + 5}: predictions.score_range: expected [low, high] with low < high, e.g. [0, 100]; "
        "found [100, 0]",
        f"{f}:{n + 7}: predictions.score_rnge: unknown key 'score_rnge'. Did you mean 'score_range'? Valid keys here: "
        "path, case_id_column, score_column, model_name, model_version, score_range, threshold.",
    ]


def test_threshold_must_lie_in_the_score_range(tmp_path):
    f = _with_predictions_block(tmp_path, "predictions:\n  path: scores.csv\n  model_name: V\n  model_version: '1'\n"
                                          "  threshold: 50\n")
    n = len(FAKE.read_text()[:FAKE.read_text().index("predictions:")].splitlines())
    with pytest.raises(InputError) as exc:
        load_protocol(f, check_paths=False)
    assert exc.value.problems == [
        f"{f}:{n + 5}: predictions.threshold: threshold 50 is outside the score range [0, 1]. Give it on the "
        "scores' own scale, or declare the scale with predictions.score_range (e.g. [0, 100])."]
    # a fixed operating point is on the scores' scale too
    f = _with_predictions_block(tmp_path, "predictions:\n  path: scores.csv\n  model_name: V\n  model_version: '1'\n"
                                          "  score_range: [0, 100]\n",
                                extra="")
    text = f.read_text().replace("operating_point:\n  source: model_card\n",
                                 "operating_point:\n  source: fixed\n  threshold: 150\n")
    f.write_text(text)
    with pytest.raises(InputError, match=r"operating_point: threshold 150 is outside the score range \[0, 100\]"):
        load_protocol(f, check_paths=False)
    f.write_text(text.replace("threshold: 150", "threshold: 60"))
    assert load_protocol(f, check_paths=False).protocol.operating_point.threshold == 60


def test_fixed_threshold_of_a_model_card_is_a_probability():
    d = _demo_dict()
    d["operating_point"] = {"source": "fixed", "threshold": 1.5}
    with pytest.raises(Exception, match=r"threshold 1.5 is outside the score range \[0, 1\]. A model card"):
        Protocol.model_validate(d)
