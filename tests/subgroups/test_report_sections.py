"""The "Subgroups and fairness" and "Sites and scanners" (with heterogeneity) report sections (HTML + SVG)."""
from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from valkit.report.formatting import pct
from valkit.report.render import render_html
from valkit.report.figures import ForestGroup, ForestPanel, ForestRow, forest_svg

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake_study" / "fake.yaml"


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    import yaml

    from valkit import cli

    d = tmp_path_factory.mktemp("proto")
    proto = yaml.safe_load(FAKE.read_text())
    for key in ("manifest",):
        proto["datasets"][0][key] = str(FAKE.parent / proto["datasets"][0][key])
    proto["predictions"]["path"] = str(FAKE.parent / proto["predictions"]["path"])
    proto["analysis"]["bootstrap_resamples"] = 300
    proto["subgroups"]["exploratory"] = [["site", "manufacturer"]]
    proto["subgroups"]["fairness"] = {"columns": ["sex", "manufacturer"], "criteria": [
        {"metric": "tpr_difference", "max": 0.2}, {"metric": "fpr_difference", "max": 0.1, "columns": ["sex"]}]}
    (d / "p.yaml").write_text(yaml.safe_dump(proto))
    assert cli.main(["run", str(d / "p.yaml"), "--runs-dir", str(d / "runs"), "--no-report", "--quiet"]) in (0, 1, 4)
    return json.loads((d / "runs" / "fake" / "results.json").read_text())


def _html(r: dict) -> str:
    return render_html(r, results_sha256="0" * 64)


def _section(html: str, anchor: str) -> str:
    start = html.index(f'<section id="{anchor}"')
    return html[start:html.index("</section>", start)]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html, flags=re.S))


def test_forest_svg_is_valid_vector_with_alt_text():
    items = [ForestRow("F", "58/165", 0.76, 0.66, 0.85), ForestRow("O", "2/3", 0.5, 0.1, 0.9, "insufficient evidence")]
    spec = [ForestRow("F", "58/165", 0.89, 0.84, 0.93), ForestRow("O", "2/3", 0.6, 0.2, 0.9, "insufficient evidence")]
    svg = forest_svg([ForestPanel("Sensitivity", items, goal=0.7, overall=0.8),
                      ForestPanel("Specificity", spec, goal=0.7, overall=0.9)],
                     groups=[ForestGroup("Sex", 2, pooled=[(0.75, 0.7, 0.8), (0.88, 0.8, 0.9)])], title="By sex")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "By sex"
    desc = root.find(f"{ns}desc").text
    assert "F: 76.0% (66.0% to 85.0%)" in desc and "O: insufficient evidence" in desc and "goal 70.0%" in desc
    # one point per estimable cell and panel, none for the insufficient cell; a pooled diamond per panel
    assert len(root.findall(f"{ns}rect[@width='6']")) == 2
    assert len(root.findall(f"{ns}polygon")) == 2
    assert "insufficient evidence" in svg and 'stroke-dasharray="4 3"' in svg


def test_sections_render_with_every_family_and_no_nan(results):
    html = _html(results)
    sub = _section(html, "subgroups-and-fairness")
    het = _section(html, "sites-and-scanners")
    for fam in results["subgroups"]["families"]:
        assert fam["name"].split(" x ")[0].replace("_", " ").lower()[:3] in sub.lower()
    assert sub.count('class="figure-svg forest"') == len(results["subgroups"]["families"])
    assert het.count('class="figure-svg forest"') == len(results["sites_and_scanners"]["families"])
    assert "exploratory" in sub and "not recorded" in sub
    assert not re.search(r"\b(nan|NaN|None|null|inf)\b", _text(html))


def test_insufficient_cell_prints_counts_not_estimate(results):
    fam = next(f for f in results["subgroups"]["families"] if f["name"] == "sex x age_band")
    cell = next(c for c in fam["cells"] if c["status"] == "insufficient_evidence")
    sub = _section(_html(results), "subgroups-and-fairness")
    label = cell["level"].replace("missing", "not recorded")
    row = re.search(rf'<tr class="insufficient">\s*<th scope="row">{re.escape(label)}.*?</tr>', sub, re.S)
    assert row and "insufficient evidence" in row.group(0)
    assert f'>{cell["confusion"]["tp"]}<' in row.group(0)
    assert pct(cell["sensitivity"]["value"]) not in row.group(0)


def test_fairness_criteria_and_scanner_verdict_are_printed(results):
    html = _html(results)
    sub = _section(html, "subgroups-and-fairness")
    assert "Fairness criteria" in sub
    for fam in results["fairness"]["families"]:
        for c in fam["criteria"]:
            assert c["basis"] in sub
    het = _section(html, "sites-and-scanners")
    assert "By scanner manufacturer: heterogeneous" in het
    assert "Cobalt (lower)" in het


def test_sections_are_left_out_without_their_keys(results):
    r = copy.deepcopy(results)
    del r["subgroups"], r["fairness"], r["sites_and_scanners"]
    html = _html(r)
    assert 'id="subgroups-and-fairness"' not in html
    assert "Random-effects pooling" not in html  # sites and scanners: the per-level tables only
    numbers = re.findall(r'<span class="secnum">(\d+)</span>', html)
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)]


def test_every_adjusted_p_printed_says_which_family_it_is_adjusted_over(results):
    # issue #11 item 6: the same statistic with adjusted p 0.145 on one page and 0.062 on another
    from html import unescape

    html = _html(results)
    sub, het = (unescape(_text(_section(html, a))) for a in ("subgroups-and-fairness", "sites-and-scanners"))
    site_tests = [t for f in results["sites_and_scanners"]["families"] for t in f["tests"].values() if t.get("pooled")]
    assert site_tests and all(t["adjustment"].startswith("Holm over 6 tests") for t in site_tests)
    assert all(t["adjustment"] in het for t in site_tests)
    diff = [t for f in results["subgroups"]["families"] for t in f["difference_tests"].values() if t.get("p_value")]
    assert diff and all(t["adjustment"] in sub for t in diff)
    n_adjusted = len(re.findall(r"adjusted p = [^;(]*\(", sub))
    assert n_adjusted == len(diff) == len(re.findall(r"adjusted p = ", sub))


def test_a_column_without_heterogeneity_names_no_departing_level(results):
    r = copy.deepcopy(results)
    t = r["sites_and_scanners"]["families"][0]["tests"]["sensitivity"]
    from valkit.analyses.sites import _verdict

    t["p_adjusted"] = 0.5
    t["residuals"][0]["departs"] = True
    _verdict(t, 0.05)
    from html import unescape

    het = unescape(_text(_section(_html(r), "sites-and-scanners")))
    assert t["verdict"] == "no evidence of heterogeneity" and "departing:" not in t["text"]
    assert t["comparison_summary"] and t["comparison_summary"] in het


def test_every_pair_is_tabulated_under_its_gap_with_both_intervals(results):
    from valkit.report.formatting import ci_text

    sub = _text(_section(_html(results), "subgroups-and-fairness"))
    for fam in results["fairness"]["families"]:
        for pair in fam["disparities"]["fpr_difference"]["pairs"]:
            row = f"{pair['higher']} vs {pair['lower']} {pct(pair['value'])} {ci_text(pair['interval'], 'proportion')}"
            assert row.replace("missing", "not recorded") in re.sub(r"\s+", " ", sub)
            assert ci_text(pair["adjusted_interval"], "proportion") in sub
    assert "Pairwise gaps by sex" in sub


def test_deciding_pair_and_groups_not_judged_are_shown():
    """A hand-made fairness block: the FAIL's deciding pair is marked in the pair table, the small
    group is 'not judged' with its counts, and equalized odds is labelled with the pair and the rate
    that give it (Table 28 had named the TPR extremes for an FPR gap)."""
    from valkit.report.sections.subgroups import _gap_row, _not_judged, _pair_tables

    iv = {"low": 0.216, "high": 0.454, "confidence_level": 0.95, "method": "bootstrap_percentile"}
    pair = {"rate": "fpr", "higher": "60–79", "lower": "18–39", "value": 0.334, "interval": iv,
            "adjusted_interval": {**iv, "confidence_level": 0.975}}
    fam = {"disparities": {"fpr_difference": {"pairs": [pair], "n_comparisons": 1, "adjusted_confidence_level": 0.95}},
           "criteria": [{"metric": "fpr_difference", "verdict": "FAIL", "deciding_pairs": [pair]}]}
    [table] = _pair_tables(fam)
    assert table["rows"][0]["pair"] == "60–79 vs 18–39" and table["rows"][0]["decides"].startswith("FAIL")
    eo = _gap_row("equalized_odds_difference", {"value": 0.334, "interval": iv, "highest": "60–79",
                                                 "lowest": "18–39", "rate": "fpr"})
    assert eo["between"] == "60–79 vs 18–39 (FPR)"
    groups = [{"level": "O", "n_positive": 2, "n_negative": 3, "status": "insufficient_evidence"},
              {"level": "X", "n_positive": 0, "n_negative": 0, "status": "empty"}]
    assert [_not_judged({"groups": groups}, g) for g in ("O", "X")] == ["O (2/3 pos/neg)", "X (empty)"]
