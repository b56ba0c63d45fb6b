"""SVG figures: well-formed XML, alt text, escaped text, and only the numbers they are given."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from valkit.report.figures import ACCENT, FlowCounts, ForestPanel, ForestRow, flow_svg, forest_svg, roc_svg
from valkit.report.formatting import ci_text, estimate_cells, p_value, pct

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on malformed XML, e.g. unescaped text
    assert root.tag == f"{NS}svg"
    assert root.find(f"{NS}title").text and root.find(f"{NS}desc").text
    return root


def test_roc_marks_operating_point_and_escapes_text():
    svg = roc_svg([0.0, 0.1, 0.4, 1.0], [0.0, 0.6, 0.9, 1.0], op_fpr=0.1, op_tpr=0.6, threshold=0.5,
                  auc_label="AUC <0.9> & more", op_text="At it, sensitivity is 60.0%.")
    root = _parse(svg)
    assert "AUC &lt;0.9&gt; &amp; more" in svg
    assert len(root.findall(f"{NS}circle")) == 2  # ring and dot at the operating point
    assert "sensitivity is 60.0%" in root.find(f"{NS}desc").text
    points = root.find(f"{NS}polyline").get("points").split()
    assert len(points) == 4


def test_roc_without_operating_point_says_so():
    root = _parse(roc_svg([0, 1], [0, 1], op_fpr=None, op_tpr=None, threshold=0.5, auc_label="AUC 0.500"))
    assert not root.findall(f"{NS}circle")
    assert "not estimable" in root.find(f"{NS}desc").text


def test_forest_draws_only_rows_with_evidence():
    rows = [ForestRow("Site A", "30/60", 0.8, 0.7, 0.9), ForestRow("Site <B>", "2/40", 0.5, 0.1, 0.9,
                                                                 note="insufficient evidence"),
            ForestRow("Site C", "20/20", None, None, None)]
    svg = forest_svg([ForestPanel("Sensitivity", rows, 0.7), ForestPanel("Specificity", rows, None)],
                     title="Sensitivity and specificity by site")
    root = _parse(svg)
    points = [r for r in root.iter(f"{NS}rect") if r.get("fill") == ACCENT]
    assert len(points) == 2  # one estimable row per panel
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert texts.count("insufficient evidence") == 2 and texts.count("not estimable") == 2
    assert "Site <B>" in texts  # escaped in the source, intact after parsing
    assert "goal 70.0%" in texts
    desc = root.find(f"{NS}desc").text
    assert "Site A: 80.0% (70.0% to 90.0%)" in desc and "Site <B>: insufficient evidence" in desc


def test_flow_diagram_accounts_for_every_case():
    c = FlowCounts(in_manifest="500", failed="3", failed_positive="2", failed_negative="1",
                   failure_reasons=[("model returned an invalid score", "2"), ("no score in external predictions", "1")],
                   analysed="497", positive="145", negative="352", tp="110", fn="35", fp="48", tn="304")
    root = _parse(flow_svg(c))
    text = " ".join(t.text for t in root.iter(f"{NS}text"))
    for n in ("n = 500", "Not analysed: 3", "n = 497", "n = 145", "n = 352", "n = 110", "n = 35", "n = 48",
              "n = 304", "model returned an invalid score: 2"):
        assert n in text, n


def test_formatting_never_prints_nan():
    assert pct(float("nan")) == "not estimable"
    assert ci_text({"low": None, "high": 0.5}, "proportion") == "no interval"
    assert p_value(float("inf")) == "not estimable"
    cells = estimate_cells({"value": None, "interval": None, "n": 0, "warnings": ["no positives"]})
    assert cells["value"] == "not estimable" and not cells["estimable"] and cells["warnings"] == ["no positives"]
    auc = estimate_cells({"value": 0.88467, "interval": {"low": 0.8509, "high": 0.9184, "confidence_level": 0.95,
                                                          "method": "delong"}, "n": 497}, "auc")
    assert (auc["value"], auc["ci"], auc["level"]) == ("0.885", "0.851–0.918", "95%")
