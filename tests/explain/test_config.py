"""The protocol's explainability block: defaults, strictness, and its place in Protocol."""
from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from valkit.explain.cam import CAM_CLASSES
from valkit.explain.config import CAM_METHOD_NAMES, ExplainabilityOptions
from valkit.protocol import Protocol, protocol_problems

BASE = """
id: t
version: "1"
title: t
intended_use: t
regulatory: {targets: [FDA], document_id: D-1, revision: A}
model: {card: m.yaml}
datasets: [{manifest: m.csv}]
reference_standard: {description: phantom truth}
endpoints: [{id: sens, metric: sensitivity, goal: 0.8}]
"""


def test_method_table_matches_protocol_literal():
    assert tuple(CAM_CLASSES) == CAM_METHOD_NAMES


def test_defaults_are_gradcam_cascading_and_frozen():
    o = ExplainabilityOptions()
    assert (o.method, o.sanity.randomisation, o.localisation.box_convention) == ("gradcam", "cascading", "half_open")
    assert o.localisation.box_columns == ("lesion_x0", "lesion_y0", "lesion_x1", "lesion_y1")
    with pytest.raises(ValidationError):
        o.method = "hirescam"


@pytest.mark.parametrize("bad", [{"methd": "gradcam"}, {"gallery": {"tp": 3}}, {"sanity": {"mode": "cascading"}}])
def test_unknown_keys_are_rejected(bad):
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ExplainabilityOptions.model_validate(bad)


def test_method_names_case_insensitive_and_validated():
    assert ExplainabilityOptions(method="GradCAM++").method == "gradcam++"
    with pytest.raises(ValidationError):
        ExplainabilityOptions(method="scorecam")


def test_protocol_accepts_block_and_reports_typos_with_key_path():
    data = yaml.safe_load(BASE)
    assert Protocol.model_validate(data).explainability is None
    data["explainability"] = {"method": "hirescam", "gallery": {"true_negative": 2}, "seed": 3}
    p = Protocol.model_validate(data)
    assert p.explainability.method == "hirescam" and p.explainability.gallery.true_negative == 2
    data["explainability"] = {"method": "gradcm", "localisation": {"box_colums": ["a", "b", "c", "d"]}}
    problems = protocol_problems(data, source="p.yaml")
    assert any("explainability.method" in p and "Did you mean 'gradcam'" in p for p in problems)
    assert any("explainability.localisation.box_colums" in p and "Did you mean 'box_columns'" in p
               for p in problems)


def test_border_block_defaults_and_typos():
    opts = ExplainabilityOptions()
    assert opts.border.enabled and opts.border.max_cases_per_category == 100 and opts.border.min_group_size == 10
    data = yaml.safe_load(BASE)
    data["explainability"] = {"border": {"max_cases_per_categry": 50}}
    problems = protocol_problems(data, source="p.yaml")
    assert any("explainability.border.max_cases_per_categry" in p and "Did you mean 'max_cases_per_category'" in p
               for p in problems)
    data["explainability"] = {"border": {"max_cases_per_category": 0}}
    assert any("explainability.border.max_cases_per_category" in p for p in protocol_problems(data, source="p.yaml"))


def test_pixel_decoder_choice_is_validated():
    data = yaml.safe_load(BASE)
    data["inference"] = {"pixel_decoder": "fastes"}
    problems = protocol_problems(data, source="p.yaml")
    assert any("inference.pixel_decoder" in p and "fastest" in p for p in problems), problems
